"""Every rehab_interfaces message and action goes through real rclpy endpoints.

Messages are filled with non-default values generated from their own field
definitions (so a field added later is covered without editing this test),
published, received in the same process and compared. Actions go through a
real action server: goal in, feedback and result out.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import rclpy
from rclpy.action import ActionClient, ActionServer
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile

from rehab_interfaces import action as rehab_action
from rehab_interfaces import msg as rehab_msg

REPO_ROOT = Path(__file__).resolve().parents[1]
MESSAGE_TYPES = [cls for _, cls in inspect.getmembers(rehab_msg, inspect.isclass)]
ACTION_TYPES = [
    cls
    for _, cls in inspect.getmembers(rehab_action, inspect.isclass)
    if all(hasattr(cls, part) for part in ("Goal", "Result", "Feedback"))
]

SCALARS = {
    "boolean": True, "float": 1.5, "double": 2.5, "int8": -3, "uint8": 3, "int16": -4,
    "uint16": 4, "int32": -7, "uint32": 7, "int64": -9, "uint64": 9, "string": "x-y",
}


def _sample(type_name: str, depth: int = 0):
    """A non-default value for one field type as rosidl spells it."""
    if type_name in SCALARS:
        return SCALARS[type_name]
    if type_name.startswith("sequence<"):
        inner = type_name[len("sequence<"):-1].split(",")[0]
        return [_sample(inner, depth), _sample(inner, depth)]
    if type_name.endswith("]"):
        inner, size = type_name[:-1].split("[")
        return [_sample(inner, depth)] * int(size)
    package, name = type_name.split("/")
    cls = getattr(importlib.import_module(f"{package}.msg"), name)
    return _filled(cls, depth + 1)


def _filled(cls, depth: int = 0):
    instance = cls()
    for field, type_name in cls.get_fields_and_field_types().items():
        setattr(instance, field, _sample(type_name, depth))
    return instance


def _spin_until(executor, predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        if predicate():
            return True
    return False


def test_every_interface_is_generated():
    names = {cls.__name__ for cls in MESSAGE_TYPES + ACTION_TYPES}
    assert {
        "Skeleton2D", "Skeleton2DArray", "Keypoint2D", "BoundingBox2D", "Detection2D",
        "Detection2DArray", "ActionPrediction", "ReachState", "RepetitionEvent",
        "RepetitionQuality", "RunExercise", "ExoAssist",
    } <= names


@pytest.mark.parametrize("msg_type", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_message_roundtrip(ros_context, msg_type):
    node = rclpy.create_node(f"roundtrip_{msg_type.__name__.lower()}", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    try:
        received = []
        qos = QoSProfile(depth=10)
        node.create_subscription(msg_type, "roundtrip", received.append, qos)
        publisher = node.create_publisher(msg_type, "roundtrip", qos)
        sent = _filled(msg_type)
        assert sent != msg_type(), "the sample must differ from the defaults"

        def delivered() -> bool:
            if not received:
                publisher.publish(sent)
            return bool(received)

        assert _spin_until(executor, delivered), f"{msg_type.__name__} never arrived"
        assert received[0] == sent
    finally:
        executor.shutdown()
        node.destroy_node()


@pytest.mark.parametrize("action_type", ACTION_TYPES, ids=lambda c: c.__name__)
def test_action_roundtrip(ros_context, action_type):
    node = rclpy.create_node(f"action_{action_type.__name__.lower()}", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    feedback_sample = _filled(action_type.Feedback)
    result_sample = _filled(action_type.Result)
    goals = []

    def execute(goal_handle):
        goals.append(goal_handle.request)
        goal_handle.publish_feedback(feedback_sample)
        goal_handle.succeed()
        return result_sample

    server = ActionServer(node, action_type, "roundtrip_action", execute)
    client = ActionClient(node, action_type, "roundtrip_action")
    try:
        assert _spin_until(executor, lambda: client.server_is_ready())
        feedback = []
        goal = _filled(action_type.Goal)
        send = client.send_goal_async(goal, feedback_callback=lambda f: feedback.append(f.feedback))
        assert _spin_until(executor, send.done)
        handle = send.result()
        assert handle.accepted
        result = handle.get_result_async()
        assert _spin_until(executor, result.done)
        assert goals == [goal]
        assert result.result().result == result_sample
        assert _spin_until(executor, lambda: bool(feedback))
        assert feedback[0] == feedback_sample
    finally:
        client.destroy()
        server.destroy()
        executor.shutdown()
        node.destroy_node()


@pytest.mark.slow
def test_interfaces_build_from_source(tmp_path):
    """colcon builds rehab_interfaces from a clean build dir with the venv's toolchain."""
    venv = Path(REPO_ROOT / ".venv")
    colcon = shutil.which("colcon", path=str(venv / "bin"))
    if colcon is None:
        pytest.skip("colcon not in .venv (run make setup)")
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "AMENT_PREFIX_PATH": str(venv),
        "CMAKE_PREFIX_PATH": str(venv),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [colcon, "--log-base", str(tmp_path / "log"), "build",
         "--base-paths", str(REPO_ROOT / "ros2_ws/src/rehab_interfaces"),
         "--build-base", str(tmp_path / "build"), "--install-base", str(tmp_path / "install"),
         "--cmake-args", f"-DPython3_EXECUTABLE={venv / 'bin/python'}", "-DBUILD_TESTING=OFF"],
        env=env, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    generated = list((tmp_path / "install").rglob("_skeleton2_d_array.py"))
    assert generated, "generated Python message module missing"
