"""export stage of the core."""
