"""rehab_assist's tests: ``ros`` (context, executor on a private domain) and the tier markers
come from rehab_testing.plugin (loaded by the root conftest.py)."""
