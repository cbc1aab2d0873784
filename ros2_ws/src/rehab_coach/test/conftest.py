"""Fixtures for rehab_coach: a private ROS domain per test module, an executor, waits."""

from __future__ import annotations

import os
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
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
def ros(request) -> Iterator[tuple[object, object]]:
    """(context, executor): rclpy on a domain id unique to this module and process."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor

    key = f"{os.getpid()}:{request.module.__name__}".encode()
    domain = 120 + zlib.crc32(key) % 100
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    executor = MultiThreadedExecutor(num_threads=6, context=context)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield context, executor
    finally:
        executor.shutdown()
        rclpy.shutdown(context=context)
        thread.join(timeout=5)
