"""benchmarks stage of the core."""
