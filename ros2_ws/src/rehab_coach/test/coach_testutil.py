"""Helpers for rehab_coach tests (a unique module name: conftest clashes across packages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll ``cond`` until truthy (no fixed sleeps); fail with ``what`` on timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.005)
    pytest.fail(f"timed out after {timeout} s waiting for {what or cond}")
