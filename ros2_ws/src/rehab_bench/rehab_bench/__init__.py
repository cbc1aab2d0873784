"""Bag tools and replay benchmarks (ros2_benchmark method) for the stack."""
