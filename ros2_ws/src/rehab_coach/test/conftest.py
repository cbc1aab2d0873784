"""rehab_coach's tests: ``ros`` (context, executor on a private domain), shared_dir and the
tier markers come from rehab_testing.plugin (loaded by the root conftest.py)."""
