"""Benchmarks of rehab_perception (scripts that print numbers; not tests)."""
