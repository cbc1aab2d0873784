"""The same replay through the stack run as separate processes (one per component, DDS between).

Why: the container's numbers say what co-location buys only when compared
with the classic deployment. Each component of the stack runs as its own
``python`` process (the ``<role>_node`` entry point, ``autostart: true``, the
stack's remappings), the player publishes ``sensor_msgs/Image`` on ``image``
from a timer that never waits, and a monitor node in this process subscribes
to the graph's per-frame output topics with the QoS their publishers offer
(``rehab_bench.qos``). Across processes there is no
back-pressure, so a frame is dropped when its outputs never arrive (the
stages' keep-last QoS discards images that come while they are busy).
Per-stage figures are not collected in this mode (they live in the other
processes); end-to-end latency and drops are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import rclpy
import yaml
from rclpy.context import Context
from rclpy.node import Node

from rehab_bench.player import SOURCE_NAME
from rehab_bench.qos import matching_qos, wait_for_publishers
from rehab_bench.replay import FrameRecord, FreshStamps, RunResult, cpu_seconds
from rehab_core.errors import RehabError
from rehab_core.types import Frame
from rehab_runtime import codecs, stack_config
from rehab_runtime.container import component_class
from rehab_runtime.dds import use_large_data_profile
from rehab_runtime.executor import ComponentExecutor

_LAUNCH = ("import sys; from {module} import main; "
           "sys.exit(main(sys.argv[1:]))")


class ProcessGraphPlayer:
    """Components as child processes; ``play`` has the in-process player's contract."""

    def __init__(self, stack: dict[str, Any], topics: dict[str, str], *, domain_id: int,
                 ready_timeout_s: float = 60.0) -> None:
        """``topics``: per-frame output topic -> payload kind (from the in-process graph)."""
        self.topics = topics
        self._children: list[subprocess.Popen] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="rehab_bench_")
        self.context: Context | None = None
        try:
            self._start_children(stack, domain_id)
            use_large_data_profile()
            self.context = Context()
            rclpy.init(context=self.context, domain_id=domain_id)
            self.node = Node("rehab_bench_player", context=self.context)
            self.publisher = self.node.create_publisher(
                codecs.IMAGE.msg_type, "image", codecs.IMAGE.qos)
            self._lock = threading.Lock()
            self.arrivals: dict[int, dict[str, float]] = {}
            # subscribe with what the component processes offer (a RELIABLE request on a
            # BEST_EFFORT topic would match nothing and look like 100 % drops)
            offered = wait_for_publishers(self.node, list(topics), ready_timeout_s)
            silent = [t for t, qos in offered.items() if not qos]
            if silent:
                raise RehabError(f"no component process publishes {silent} within "
                                 f"{ready_timeout_s} s")
            self.monitor_qos: dict[str, dict[str, str]] = {}
            for topic, kind in topics.items():
                codec = next(c for c in vars(codecs).values()
                             if isinstance(c, codecs.Codec) and c.name == kind)
                qos = matching_qos(offered[topic], depth=codec.qos.depth)
                self.monitor_qos[topic] = {"reliability": qos.reliability.name.lower(),
                                           "durability": qos.durability.name.lower()}
                self.node.create_subscription(codec.msg_type, topic, self._arrival(topic), qos)
            self.executor = ComponentExecutor(num_threads=2, context=self.context)
            self.executor.add_node(self.node)
            self._spin = threading.Thread(target=self.executor.spin, daemon=True)
            self._spin.start()
            self.stamps = FreshStamps()
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.close()
            raise

    def _start_children(self, stack: dict[str, Any], domain_id: int) -> None:
        params = Path(self._tmp.name) / "stack.yaml"
        params.write_text(yaml.safe_dump(stack))
        env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id)}
        for spec in stack_config.components(stack):
            if spec.name == SOURCE_NAME:
                continue
            module = component_class(spec.plugin).__module__
            cmd = [sys.executable, "-c", _LAUNCH.format(module=module), "--ros-args",
                   "--params-file", str(params), "-r", f"__node:={spec.name}",
                   "-p", "autostart:=true", "--log-level", "warn"]
            for src, dst in spec.remappings:
                cmd += ["-r", f"{src}:={dst}"]
            self._children.append(subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def _arrival(self, topic: str):
        def on_msg(msg: Any) -> None:
            now = time.perf_counter()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            with self._lock:
                self.arrivals.setdefault(stamp, {})[topic] = now
        return on_msg

    def _send(self, frame: Frame) -> tuple[int, float]:
        stamped = self.stamps.stamp(frame)
        msg = codecs.IMAGE.to_msg(stamped)
        sent = time.perf_counter()
        self.publisher.publish(msg)
        return stamped.stamp_ns, sent

    def _complete(self, stamp: int) -> bool:
        with self._lock:
            return set(self.topics) <= set(self.arrivals.get(stamp, {}))

    def _wait_ready(self, timeout_s: float) -> None:
        """Send a probe frame every 0.5 s until one comes back complete (models loaded)."""
        probe = Frame(np.zeros((120, 160, 3), np.uint8), 0, 0, "bgr8", "camera")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [c for c in self._children if c.poll() is not None]
            if dead:
                raise RehabError(f"a component process exited with code {dead[0].returncode}")
            stamp, _ = self._send(probe)
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                if self._complete(stamp):
                    return
                time.sleep(0.01)
        raise RehabError(f"the component processes did not answer within {timeout_s} s")

    def warm_up(self, frames: list[Frame], count: int = 5) -> float:
        """Mean service time of ``count`` frames sent one at a time; fails when none completes
        (a graph that answered the probe but passes no frame would measure only drops)."""
        times, missing = [], set()
        for i in range(count):
            stamp, sent = self._send(frames[i % len(frames)])
            end = time.monotonic() + 10.0
            while not self._complete(stamp) and time.monotonic() < end:
                time.sleep(0.001)
            if self._complete(stamp):
                times.append((time.perf_counter() - sent) * 1e3)
            else:
                with self._lock:
                    missing |= set(self.topics) - set(self.arrivals.get(stamp, {}))
        if not times:
            raise RehabError(f"the component processes answered the probe but completed none "
                             f"of {count} warm-up frames (missing {sorted(missing)})")
        return sum(times[1:] or times) / len(times[1:] or times)

    def play(self, frames: list[Frame], rate_hz: float, count: int | None = None,
             on_tick: Any = None, drain_s: float = 2.0) -> RunResult:
        count = count or len(frames)
        with self._lock:
            self.arrivals.clear()
        process = psutil.Process()
        cpu0 = cpu_seconds(process)
        children0 = sum(_cpu(c.pid) for c in self._children)
        start = time.perf_counter()
        sent_at: list[tuple[FrameRecord, float]] = []
        for i in range(count):
            delay = start + i / rate_hz - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            stamp, sent = self._send(frames[i % len(frames)])
            sent_at.append((FrameRecord(stamp, sent - start), sent))
            if on_tick is not None:
                on_tick()
        last = sent_at[-1][0].stamp_ns
        end = time.monotonic() + drain_s
        while not self._complete(last) and time.monotonic() < end:
            time.sleep(0.005)
        wall = time.perf_counter() - start
        cpu1 = cpu_seconds(process)
        records = []
        with self._lock:
            for record, sent in sent_at:
                got = self.arrivals.get(record.stamp_ns, {})
                if set(self.topics) <= set(got):
                    record.status = "ok"
                    record.latency_ms = (max(got.values()) - sent) * 1e3
                else:
                    record.status = "incomplete"
                    record.missing = tuple(t for t in self.topics if t not in got)
                records.append(record)
        children = sum(_cpu(c.pid) for c in self._children) - children0
        # the whole graph's CPU: this process (player, monitor) plus every component process
        cpu = (cpu1 - cpu0 + children) / wall * 100.0
        rss = process.memory_info().rss + sum(_rss(c.pid) for c in self._children)
        return RunResult(rate_hz, records, wall, cpu, rss / 2**20)

    def close(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.terminate()
        for child in self._children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        self._children.clear()
        if self.context is not None:
            executor = getattr(self, "executor", None)
            if executor is not None:
                executor.shutdown(timeout_sec=2.0)
                self._spin.join(timeout=5.0)  # the spin loop must not see a destroyed context
            rclpy.shutdown(context=self.context)
            self.context.destroy()
            self.context = None
        self._tmp.cleanup()

    def __enter__(self) -> ProcessGraphPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cpu(pid: int) -> float:
    try:
        return cpu_seconds(psutil.Process(pid))
    except psutil.Error:
        return 0.0


def _rss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0
