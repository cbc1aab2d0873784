"""The ``rehab`` command line: one console script, a subcommand per job."""
