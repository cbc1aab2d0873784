"""io stage of the core."""
