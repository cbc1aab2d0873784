"""Every test tree's shared fixtures and tier markers come from one plugin (test/rehab_testing)."""

pytest_plugins = ["rehab_testing.plugin"]
