"""Run outputs and reports (JSON, JSONL) written by the CLI."""
