"""Per-frame transport cost of a 640x480 rgb8 image: container bus vs two processes.

Measures stamp-at-publish -> start of the consumer's callback (the consumer
gets a ready numpy view in both cases, so conversion costs are included):

* ``container``: ``Output.publish`` -> in-process consumer of the same
  ``InProcessBus`` (what co-located components do);
* ``processes``: ``Output.publish`` in this process -> ``Input`` subscription
  in a child process over DDS (what separate ``ros2 run`` components do),
  reliable QoS so no frame is lost; the child reports latencies on exit.

Usage: ``python -m rehab_perception.benchmarks.transport [--frames 200]``.
The wall clock is shared by both processes (same machine), so
``time.time_ns()`` differences are valid latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile

from rehab_core.types import Frame
from rehab_runtime import codecs
from rehab_runtime.channel import InProcessBus
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.dds import use_large_data_profile

WIDTH, HEIGHT = 640, 480
RELIABLE_IMAGE = codecs.Codec("image", codecs.IMAGE.msg_type, codecs.IMAGE.to_msg,
                                codecs.IMAGE.from_msg, QoSProfile(depth=5))


class _Producer(LifecycleComponent):
    DEFAULT_NAME = "bench_producer"

    def configure(self, cfg: object) -> None:
        self.out = self.create_output("bench_image", RELIABLE_IMAGE)


class _Consumer(LifecycleComponent):
    DEFAULT_NAME = "bench_consumer"

    def configure(self, cfg: object) -> None:
        self.latencies_ms: list[float] = []

    def activate(self) -> None:
        self.create_input("bench_image", RELIABLE_IMAGE, self.on_frame, check_stamps=False)

    def on_frame(self, frame: Frame) -> None:
        # the payload's stamp is the publish wall time in ns
        self.latencies_ms.append((time.time_ns() - frame.stamp_ns) * 1e-6)


def _up(node: LifecycleComponent) -> None:
    node.trigger_configure()
    node.trigger_activate()


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (HEIGHT, WIDTH, 3), np.uint8) for _ in range(min(n, 8))]


def _stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"n={a.size} p50={np.percentile(a, 50):.3f} ms p90={np.percentile(a, 90):.3f} ms "
            f"max={a.max():.3f} ms")


def bench_container(n: int) -> list[float]:
    ctx = Context()
    rclpy.init(context=ctx)
    bus = InProcessBus()
    prod, cons = _Producer(bus=bus, context=ctx), _Consumer(bus=bus, context=ctx)
    _up(prod)
    _up(cons)
    images = _frames(n)
    for i in range(n):
        prod.out.publish(Frame(images[i % len(images)], time.time_ns(), i, "rgb8"))
    out = list(cons.latencies_ms)
    prod.destroy_node()
    cons.destroy_node()
    rclpy.shutdown(context=ctx)
    return out


def consumer_main(n: int, ready_file: str) -> None:
    ctx = Context()
    rclpy.init(context=ctx)
    cons = _Consumer(context=ctx)
    _up(cons)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(cons)
    open(ready_file, "w").close()
    deadline = time.monotonic() + 60
    while len(cons.latencies_ms) < n and time.monotonic() < deadline:
        ex.spin_once(timeout_sec=0.5)
    print(json.dumps(cons.latencies_ms))
    cons.destroy_node()
    rclpy.shutdown(context=ctx)


def bench_processes(n: int, period_s: float, default_dds: bool = False) -> list[float]:
    ready = f"/tmp/rehab_bench_ready_{os.getpid()}"
    if os.path.exists(ready):
        os.remove(ready)
    child = subprocess.Popen(
        [sys.executable, "-m", "rehab_perception.benchmarks.transport", "--consumer",
         "--frames", str(n), "--ready", ready, *(["--default-dds"] if default_dds else [])],
        stdout=subprocess.PIPE, text=True,
    )
    ctx = Context()
    rclpy.init(context=ctx)
    prod = _Producer(context=ctx)
    _up(prod)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(prod)
    deadline = time.monotonic() + 30
    while (not os.path.exists(ready) or prod.out.publisher.get_subscription_count() == 0) \
            and time.monotonic() < deadline:
        ex.spin_once(timeout_sec=0.05)
    time.sleep(0.5)  # let discovery settle in both directions before timing
    images = _frames(n)
    for i in range(n):
        prod.out.publish(Frame(images[i % len(images)], time.time_ns(), i, "rgb8"))
        ex.spin_once(timeout_sec=period_s)
    out, _ = child.communicate(timeout=60)
    prod.destroy_node()
    rclpy.shutdown(context=ctx)
    os.remove(ready)
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--period", type=float, default=0.033, help="s between frames (DDS)")
    parser.add_argument("--default-dds", action="store_true",
                        help="keep Fast DDS defaults (no shared-memory profile)")
    parser.add_argument("--consumer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ready", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.default_dds:
        use_large_data_profile()  # what the stack's executables use
    if args.consumer:
        consumer_main(args.frames, args.ready)
        return 0
    print(f"640x480 rgb8, {args.frames} frames, RMW={os.environ.get('RMW_IMPLEMENTATION', '')}")
    print("container (in-process bus):", _stats(bench_container(args.frames)))
    got = bench_processes(args.frames, args.period, args.default_dds)
    print("two processes (DDS):       ", _stats(got) if got else "no frames received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
