"""The stack as separate processes over DDS, driven by the lifecycle manager.

* container and separate processes compute identical outputs on the same clip;
* the manager brings the processes up over the lifecycle services, reports a
  component killed mid-stream, brings the respawned process back to active,
  and the stack keeps producing outputs;
* ~/startup and ~/shutdown services, and the aggregated diagnostics.

Each module uses its own ROS_DOMAIN_ID (pid-derived), processes get it by env.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXE_DIR = Path(sys.prefix) / "lib" / "rehab_perception"
DOMAIN = 1 + (os.getpid() * 31 + zlib.crc32(__name__.encode())) % 100
# the in-process run gets its own domain: a just-closed participant's node and service
# names linger in discovery for a while and must not answer for the processes' ones
CONTAINER_DOMAIN = 101 + DOMAIN % 100


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def write_clip(path: Path, frames: int, fps: float, size=(160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 30, np.uint8)
        cv2.circle(image, (20 + i % (size[0] - 40), size[1] // 2), 12, (0, 200, 0), -1)
        writer.write(image)
    writer.release()
    return path


def clip_with_person(tmp: Path) -> Path | None:
    video = Path(os.environ.get("REHAB_SHARED_DIR", REPO.parent / "shared")) / "media" / \
        "exercise" / "squat.mp4"
    if not video.is_file():
        return None
    cap, out, writer = cv2.VideoCapture(str(video)), tmp / "person.avi", None
    for _ in range(12):
        ok, image = cap.read()
        if not ok:
            break
        image = cv2.resize(image, (320, int(320 * image.shape[0] / image.shape[1])))
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 10.0,
                                     (image.shape[1], image.shape[0]))
        writer.write(image)
    cap.release()
    writer.release()
    return out


class Processes:
    """Component executables started like `ros2 run`, on this module's domain."""

    def __init__(self, params_file: Path) -> None:
        self.params_file = params_file
        self.procs: dict[str, subprocess.Popen] = {}
        # same discovery settings as this process (only the domain is private)
        self.env = {**os.environ, "ROS_DOMAIN_ID": str(DOMAIN)}

    def start(self, role: str) -> subprocess.Popen:
        exe = EXE_DIR / f"{role}_node"
        assert exe.is_file(), f"{exe} missing: run `make setup`"
        log = open(self.params_file.parent / f"{role}.log", "ab")  # noqa: SIM115 - kept open
        proc = subprocess.Popen(
            [str(exe), "--ros-args", "--params-file", str(self.params_file)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[role] = proc
        return proc

    def kill(self, role: str) -> None:
        proc = self.procs.pop(role)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        """Each process's log tail and whether it still runs: for a failed bring-up."""
        out = []
        for role, proc in self.procs.items():
            log = self.params_file.parent / f"{role}.log"
            tail = log.read_text(errors="replace")[-1500:] if log.is_file() else ""
            out.append(f"--- {role} (exit code {proc.poll()}):\n{tail}")
        return "\n".join(out)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


class Graph:
    """This test's own ROS side: a lifecycle manager and a listener on tracked_skeletons."""

    def __init__(self, node_names: list[str], **manager_params: object) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.node import Node
        from rclpy.parameter import Parameter

        from rehab_interfaces.msg import Skeleton2DArray
        from rehab_runtime.codecs import RESULT_QOS
        from rehab_runtime.executor import ComponentExecutor
        from rehab_runtime.lifecycle_manager import LifecycleManager

        self.context = Context()
        rclpy.init(context=self.context, domain_id=DOMAIN)
        params = {"node_names": node_names, "heartbeat_period": 0.2, **manager_params}
        self.manager = LifecycleManager(
            context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
        )
        self.listener = Node("test_listener", context=self.context)
        self.outputs: list[Skeleton2DArray] = []
        self._lock = threading.Lock()
        self.listener.create_subscription(Skeleton2DArray, "/tracked_skeletons", self._keep,
                                          RESULT_QOS)
        self.executor = ComponentExecutor(num_threads=4, context=self.context)
        self.executor.add_node(self.manager)
        self.executor.add_node(self.listener)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _keep(self, msg: object) -> None:
        with self._lock:
            self.outputs.append(msg)

    def count(self) -> int:
        with self._lock:
            return len(self.outputs)

    def close(self) -> None:
        import rclpy

        self.manager.stop()
        self.executor.shutdown(timeout_sec=5)
        self.manager.destroy_node()
        self.listener.destroy_node()
        rclpy.shutdown(context=self.context)


def stack_file(tmp: Path, clip: Path, **source: object) -> Path:
    params = {
        "image_source": {"ros__parameters": {"input": str(clip), "pacing": "realtime",
                                             "diagnostics_period": 0.2, **source}},
        # every frame, even on a loaded machine: the comparison needs them all
        "pose_estimator": {"ros__parameters": {"diagnostics_period": 0.2,
                                               "latest_wins": False}},
        "skeleton_tracker": {"ros__parameters": {"diagnostics_period": 0.2}},
    }
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture()
def procs(tmp_path: Path) -> Iterator[Processes]:
    holder = Processes(tmp_path / "unset.yaml")
    yield holder
    holder.stop_all()


def _joints(skeletons) -> list[tuple[np.ndarray, np.ndarray | None, str]]:
    """What a consumer computes angles from: 2-D keypoints, 3-D keypoints and their space."""
    return [(s.keypoints, s.keypoints_3d, s.space_3d) for s in skeletons]


def _outputs_by_stamp(msgs) -> dict[int, list[tuple[np.ndarray, np.ndarray | None, str]]]:
    from rehab_runtime.conversions import msg_to_skeletons, stamp_to_ns

    return {stamp_to_ns(m.header.stamp): _joints(msg_to_skeletons(m)) for m in msgs}


def test_container_and_processes_give_identical_outputs(tmp_path, procs):
    from rehab_perception.run_graph import run_graph

    person = clip_with_person(tmp_path)
    clip = person or write_clip(tmp_path / "synthetic.avi", 12, 10.0)
    roles = ["skeleton_tracker", "pose_estimator", "image_source"]  # consumers first
    # in one process
    stack = {"rehab_container": {"ros__parameters": {"components": roles[::-1]}},
             "lifecycle_manager": {"ros__parameters": {"node_names": roles}}}
    in_container = []
    run_graph(stack, str(clip), lambda r: in_container.append(r), domain_id=CONTAINER_DOMAIN,
              timeout_s=60)
    expected = {r.stamp_ns: _joints(r.skeletons.skeletons) for r in in_container}
    assert len(expected) == 12
    # as three processes over DDS, brought up by the manager
    procs.params_file = stack_file(tmp_path, clip, fps=10.0, wait_for_consumers=1)
    for role in roles:
        procs.start(role)
    graph = Graph(roles)
    try:
        ok, message = graph.manager.startup()
        assert ok, f"{message}\n{procs.logs()}"
        assert wait_for(lambda: graph.count() >= 12, 30), graph.count()
        got = _outputs_by_stamp(graph.outputs)
    finally:
        graph.close()
    assert set(got) == set(expected)  # same frames, same stamps
    for stamp, skeletons in expected.items():
        assert len(got[stamp]) == len(skeletons)
        for (a, a3, space_a), (b, b3, space_b) in zip(skeletons, got[stamp]):
            np.testing.assert_allclose(a, b, atol=1e-4)
            # the same 3-D (or none) reaches a consumer in another process
            assert space_a == space_b and (a3 is None) == (b3 is None), (stamp, space_a, space_b)
            if a3 is not None:
                np.testing.assert_allclose(a3, b3, atol=1e-4)
    if person is not None:  # the default pose model's own 3-D was there to compare
        assert any(a3 is not None for sks in expected.values() for _, a3, _ in sks)


def test_manager_restarts_a_killed_component(tmp_path, procs):
    from diagnostic_msgs.msg import DiagnosticStatus
    from lifecycle_msgs.msg import State

    clip = write_clip(tmp_path / "long.avi", 600, 30.0)
    procs.params_file = stack_file(tmp_path, clip, fps=30.0)
    roles = ["skeleton_tracker", "pose_estimator", "image_source"]
    for role in roles:
        procs.start(role)
    graph = Graph(roles, bond_timeout=1.0)
    try:
        ok, message = graph.manager.startup()
        assert ok, f"{message}\n{procs.logs()}"
        assert wait_for(lambda: graph.count() >= 10, 20), "no output before the kill"
        tracker = next(n for n in graph.manager.nodes if n.name == "skeleton_tracker")
        procs.kill("skeleton_tracker")
        killed_at = graph.count()
        # reported within bond_timeout (+ heartbeat slack), with an ERROR diagnostic
        assert wait_for(lambda: not tracker.responsive, 5), "kill not noticed"
        status = graph.manager.status_of(tracker)
        assert status.level == DiagnosticStatus.ERROR and "get_state" in status.message
        # launch's respawn brings the process back unconfigured; the manager reactivates it
        procs.start("skeleton_tracker")
        assert wait_for(lambda: tracker.state == State.PRIMARY_STATE_ACTIVE
                        and tracker.restarts == 1, 20), tracker
        assert wait_for(lambda: graph.count() >= killed_at + 10, 20), "stack did not resume"
        stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in graph.outputs]
        assert stamps[-1] > stamps[killed_at - 1]
        # per-component diagnostics: counters from the components plus the state
        values = {kv.key: kv.value for kv in graph.manager.status_of(
            next(n for n in graph.manager.nodes if n.name == "pose_estimator")).values}
        assert values["state"] == "active" and float(values["rate_hz"]) > 0
        assert "dropped" in values and "latency_ms" in values
    finally:
        graph.close()


def test_startup_and_shutdown_services(tmp_path, procs):
    from lifecycle_msgs.msg import State
    from rclpy.node import Node
    from std_srvs.srv import Trigger

    clip = write_clip(tmp_path / "c.avi", 30, 30.0)
    procs.params_file = stack_file(tmp_path, clip)
    procs.start("skeleton_tracker")
    graph = Graph(["skeleton_tracker"])
    client_node = Node("trigger_client", context=graph.context)
    graph.executor.add_node(client_node)

    def call(service: str) -> Trigger.Response:
        client = client_node.create_client(Trigger, f"/lifecycle_manager/{service}")
        assert client.wait_for_service(timeout_sec=10)
        future = client.call_async(Trigger.Request())
        assert wait_for(future.done, 30)
        return future.result()

    try:
        node = graph.manager.nodes[0]
        assert call("startup").success and node.state == State.PRIMARY_STATE_ACTIVE
        response = call("shutdown")
        assert response.success and node.state == State.PRIMARY_STATE_UNCONFIGURED
        assert call("reset").success and node.state == State.PRIMARY_STATE_ACTIVE
    finally:
        client_node.destroy_node()
        graph.close()
