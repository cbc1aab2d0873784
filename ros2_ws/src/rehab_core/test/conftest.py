"""Fixtures shared by the core's tests: where ../shared is, and skips when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]


def shared_path() -> Path:
    """``../shared`` next to the checkout, or ``$REHAB_SHARED_DIR``."""
    return Path(os.environ.get("REHAB_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "media").is_dir():
        pytest.skip(f"../shared not found at {path} (test material lives outside the repo)")
    return path
