"""Fixtures for the repository-level tests: a private ROS graph per test module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "ros2_ws" / "src" / "rehab_core" / "test"))


def shared_path() -> Path:
    return Path(os.environ.get("REHAB_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "media").is_dir():
        pytest.skip(f"../shared not found at {path} (test material lives outside the repo)")
    return path


@pytest.fixture(scope="module")
def ros_context() -> Iterator[object]:
    """An initialised rclpy context on a domain id private to this test process."""
    import rclpy
    from rclpy.context import Context

    os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    context = Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)
