#!/usr/bin/env python3
"""Thin entry point: same as `rehab export engine ...` (see README.md here)."""

import sys

from rehab_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["export", "engine", *sys.argv[1:]]))
