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


def artifact_dir(name: str) -> Path:
    """Where a test keeps what it saw (screens, screenshots): $REHAB_TEST_ARTIFACTS/<name>,
    default out/test-artifacts/<name> in the checkout (ignored by git)."""
    import os

    root = Path(os.environ.get("REHAB_TEST_ARTIFACTS", REPO_ROOT / "out" / "test-artifacts"))
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_png(path: Path, rgb) -> Path:
    """Write an HxWx3 RGB array as PNG."""
    import cv2

    assert cv2.imwrite(str(path), rgb[:, :, ::-1]), f"cannot write {path}"
    return path
