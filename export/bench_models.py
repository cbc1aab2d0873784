#!/usr/bin/env python3
"""Thin entry point: same as `rehab bench-models ...` (see README.md here)."""

import sys

from rehab_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench-models", *sys.argv[1:]]))
