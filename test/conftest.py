"""Repository-level tests: the shared fixtures (shared_dir, ros_context, ...) come from
rehab_testing.plugin, loaded by the root conftest.py."""
