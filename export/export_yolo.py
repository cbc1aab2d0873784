#!/usr/bin/env python3
"""Thin entry point: same as `rehab export yolo ...` (see README.md here)."""

import sys

from rehab_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["export", "yolo", *sys.argv[1:]]))
