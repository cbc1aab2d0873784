"""A private ROS domain per test module, and waiting on conditions instead of sleeping."""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable

import pytest


def module_domain_id(module_name: str) -> int:
    """A ROS_DOMAIN_ID unique to this process and test module (1..100): runs never cross-talk."""
    return 1 + (os.getpid() * 31 + zlib.crc32(module_name.encode())) % 100


def poll(condition: Callable[[], object], timeout: float, step: float = 0.02,
         spin: Callable[[], None] | None = None) -> bool:
    """Poll ``condition`` (calling ``spin`` between polls) until truthy or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if spin is not None:
            spin()
        else:
            time.sleep(step)
    return bool(condition())


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll ``condition`` until truthy and return its value; fail the test naming ``what``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
