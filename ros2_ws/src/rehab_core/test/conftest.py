"""The core's tests: shared_dir and the tier markers come from rehab_testing.plugin."""
