"""The shared fixtures, and the test tiers (unit / ros / e2e) marked automatically.

Tiers, so each can run on its own (``make test-unit``, ``test-ros``, ``test-e2e``):

* ``e2e``: ``test/integration/``, and modules that start processes
  (``subprocess``) or drive the ``rehab`` command (``rehab_cli``);
* ``ros``: tests that use a ROS fixture, or whose module uses rclpy, ROS
  messages or our ROS packages (nodes, the container, codecs);
* ``unit``: everything else (pure Python: the core, files, docs).

A test marked by hand keeps its own tier.
"""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from rehab_testing.paths import REPO_ROOT, shared_path
from rehab_testing.ros import module_domain_id, poll

TIERS = ("unit", "ros", "e2e")
ROS_FIXTURES = {"ros", "ros_context", "domain_id"}
ROS_ROOTS = {
    "rclpy", "rehab_runtime", "rehab_perception", "rehab_coach", "rehab_assist", "rehab_bench",
    "rehab_interfaces", "launch", "launch_ros", "rosbag2_py", "sensor_msgs", "std_msgs",
    "std_srvs", "geometry_msgs",
    "visualization_msgs", "action_msgs", "builtin_interfaces", "lifecycle_msgs",
    "diagnostic_msgs", "trajectory_msgs",
}
E2E_ROOTS = {"subprocess", "rehab_cli"}


def _roots(module: types.ModuleType) -> set[str]:
    """Top-level packages the module's globals come from."""
    roots = set()
    for value in vars(module).values():
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(
            value, "__module__", None)
        if isinstance(name, str):
            roots.add(name.split(".")[0])
    return roots


def tier_of(item: pytest.Item) -> str:
    path = Path(str(item.path)).resolve()
    if (REPO_ROOT / "test" / "integration") in path.parents:
        return "e2e"
    module = getattr(item, "module", None)
    roots = _roots(module) if module is not None else set()
    if roots & E2E_ROOTS:
        return "e2e"
    if ROS_FIXTURES & set(getattr(item, "fixturenames", ())) or roots & ROS_ROOTS:
        return "ros"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(t) for t in TIERS):
            item.add_marker(getattr(pytest.mark, tier_of(item)))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "media").is_dir():
        pytest.skip(f"../shared not found at {path} (test material lives outside the repo)")
    return path


@pytest.fixture(scope="module")
def domain_id(request: pytest.FixtureRequest) -> int:
    return module_domain_id(request.module.__name__)


@pytest.fixture(scope="module")
def ros_context(domain_id: int) -> Iterator[object]:
    """An initialised rclpy context on this module's private domain."""
    import rclpy
    from rclpy.context import Context

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)


@pytest.fixture(scope="module")
def ros(ros_context: object) -> Iterator[tuple[object, object]]:
    """(context, executor): ``ros_context`` spun by a multi-threaded executor."""
    from rehab_runtime.executor import ComponentExecutor

    executor = ComponentExecutor(num_threads=6, context=ros_context)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield ros_context, executor
    finally:
        executor.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def wait_for():
    """``wait_for(condition, timeout, spin=None) -> bool``: poll instead of a fixed sleep."""
    return poll
