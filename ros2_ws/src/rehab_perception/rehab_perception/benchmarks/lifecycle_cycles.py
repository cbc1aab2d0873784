"""Start/stop cycles of the stack through the lifecycle manager, in both composition modes.

Each cycle: ``startup`` (configure all, activate all), wait until tracked
skeletons arrive over ROS, ``shutdown`` (deactivate, clean up in reverse).
Counts failed transitions (the target is 0) and times bring-up and tear-down.

* ``container``: the components in one ``ComponentContainer`` with the
  manager in this process (what ``rehab up`` runs);
* ``processes``: one ``<role>_node`` process each (what launch starts with
  ``use_container:=false``), the manager in this process.

Usage: ``python -m rehab_perception.benchmarks.lifecycle_cycles [--cycles 20]
[--mode both|container|processes] [--clip VIDEO]``. Prints one JSON line per mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROLES = ["skeleton_tracker", "pose_estimator", "image_source"]  # bring-up order
EXE_DIR = Path(sys.prefix) / "lib" / "rehab_perception"


def synthetic_clip(path: Path, frames: int = 900, fps: float = 30.0) -> Path:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i in range(frames):
        image = np.full((120, 160, 3), 30, np.uint8)
        cv2.circle(image, (20 + i % 120, 60), 12, (0, 200, 0), -1)
        writer.write(image)
    writer.release()
    return path


def stack(clip: Path) -> dict[str, Any]:
    return {
        "rehab_container": {"ros__parameters": {"components": ROLES[::-1], "num_threads": 4}},
        "lifecycle_manager": {"ros__parameters": {"node_names": ROLES, "heartbeat_period": 0.2,
                                                  "bond_timeout": 2.0}},
        "image_source": {"ros__parameters": {"input": str(clip), "pacing": "realtime"}},
    }


class _Rig:
    """Manager + listener in this process; components in it (container) or in children."""

    def __init__(self, mode: str, params: dict[str, Any], workdir: Path, domain: int) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.parameter import Parameter

        from rehab_interfaces.msg import Skeleton2DArray
        from rehab_runtime.codecs import RESULT_QOS
        from rehab_runtime.container import ComponentContainer
        from rehab_runtime.executor import ComponentExecutor
        from rehab_runtime.lifecycle_manager import LifecycleManager

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.procs: list[subprocess.Popen] = []
        self.container = None
        manager_params = params["lifecycle_manager"]["ros__parameters"]
        self.manager = LifecycleManager(context=self.context, parameter_overrides=[
            Parameter(k, value=v) for k, v in manager_params.items()])
        self.listener = rclpy.create_node("cycles_listener", context=self.context)
        self.received = 0
        self._lock = threading.Lock()
        self.listener.create_subscription(Skeleton2DArray, "/tracked_skeletons", self._count,
                                          RESULT_QOS)
        if mode == "container":
            from rehab_runtime import stack_config

            self.container = ComponentContainer(context=self.context, num_threads=4)
            self.container.load_stack(stack_config.load_stack(params))
            self.container.add_node(self.manager)
            self.container.add_node(self.listener)
            self.container.spin_in_background()
        else:
            path = workdir / "stack.yaml"
            path.write_text(yaml.safe_dump(params))
            env = {**os.environ, "ROS_DOMAIN_ID": str(domain)}
            for role in ROLES:
                log = open(workdir / f"{role}.log", "ab")  # noqa: SIM115 - kept by the child
                self.procs.append(subprocess.Popen(
                    [str(EXE_DIR / f"{role}_node"), "--ros-args", "--params-file", str(path)],
                    env=env, stdout=log, stderr=subprocess.STDOUT))
                log.close()
            self.executor = ComponentExecutor(num_threads=4, context=self.context)
            self.executor.add_node(self.manager)
            self.executor.add_node(self.listener)
            threading.Thread(target=self.executor.spin, daemon=True).start()

    def _count(self, _msg: Any) -> None:
        with self._lock:
            self.received += 1

    def count(self) -> int:
        with self._lock:
            return self.received

    def close(self) -> None:
        import rclpy

        self.manager.stop()
        if self.container is not None:
            self.container.shutdown()
        else:
            self.executor.shutdown(timeout_sec=2.0)
            for proc in self.procs:
                proc.send_signal(2)
            for proc in self.procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.manager.destroy_node()
        self.listener.destroy_node()
        rclpy.shutdown(context=self.context)


def run_cycles(mode: str, cycles: int, clip: Path, workdir: Path, domain: int,
               flow_timeout: float = 30.0) -> dict[str, Any]:
    """``cycles`` startup/shutdown cycles; failures, flow and timings."""
    rig = _Rig(mode, stack(clip), workdir, domain)
    up_s, down_s, problems, flowed = [], [], [], 0
    try:
        for i in range(cycles):
            started = time.monotonic()
            ok, message = rig.manager.startup()
            up_s.append(time.monotonic() - started)
            if not ok:
                problems.append(f"cycle {i}: startup: {message}")
            seen = rig.count()
            deadline = time.monotonic() + flow_timeout
            while rig.count() < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            flowed += rig.count() >= seen + 3
            started = time.monotonic()
            ok, message = rig.manager.shutdown()
            down_s.append(time.monotonic() - started)
            if not ok:
                problems.append(f"cycle {i}: shutdown: {message}")
        return {"mode": mode, "cycles": cycles, "transitions": rig.manager.transitions,
                "failed_transitions": rig.manager.failed_transitions, "outputs_flowed": flowed,
                "startup_s_p50": round(statistics.median(up_s), 3),
                "startup_s_max": round(max(up_s), 3),
                "shutdown_s_p50": round(statistics.median(down_s), 3),
                "shutdown_s_max": round(max(down_s), 3), "problems": problems}
    finally:
        rig.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--mode", choices=("both", "container", "processes"), default="both")
    parser.add_argument("--clip", type=Path, help="video to play (default: a synthetic one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or synthetic_clip(Path(tmp) / "clip.avi")
        modes = ("container", "processes") if args.mode == "both" else (args.mode,)
        for i, mode in enumerate(modes):
            domain = 120 + (os.getpid() + i) % 60
            print(json.dumps(run_cycles(mode, args.cycles, clip, Path(tmp), domain)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
