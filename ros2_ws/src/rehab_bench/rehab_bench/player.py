"""Fixed-rate replay of in-memory frames through the in-process stack (ros2_benchmark method).

Why this shape: ros2_benchmark loads the bag into memory first (so disk and
decode cost never limit the rate), then plays the messages at a target rate
from a timer that never waits for the graph, and a monitor matches the graph's
outputs to the input by stamp. Here the graph is our ``ComponentContainer``:

* the stack's ``image_source`` is replaced by ``BenchSourceNode``, a component
  with the same name, remappings and ``image`` output, so every stage binds to
  it exactly as to the real source;
* the in-process bus hands a frame over synchronously, so publishing runs the
  whole graph in the calling thread. A dedicated *worker* thread therefore
  publishes, and the *ticker* (the caller's thread, absolute deadlines at the
  target rate) only hands a frame over when the worker is idle. A frame whose
  tick finds the graph still busy is dropped ("busy"); one whose required
  outputs never arrive is dropped too ("incomplete");
* a ``FrameAssembler`` subscribes to every output topic of the graph on the bus
  and keeps, per stamp, when each output arrived: end-to-end latency is hand-off
  time -> last output of that stamp. Per-stage latency comes from each
  component's own diagnostics (its processing time, time spent in the stages
  behind it excluded), recorded per frame.

Every played frame gets a fresh, increasing wall-clock stamp (the stages
reject duplicate / out-of-order stamps, and the bag is replayed many times).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import rclpy
from rclpy.context import Context
from rclpy.logging import LoggingSeverity

from rehab_bench.replay import (
    FrameRecord,
    FreshStamps,
    RunResult,
    cpu_seconds,
    play_fixed_rate,
)
from rehab_core.errors import ConfigError
from rehab_core.types import Frame
from rehab_runtime import codecs, stack_config
from rehab_runtime.assembler import FrameAssembler
from rehab_runtime.component import SUCCESS, LifecycleComponent
from rehab_runtime.container import ComponentContainer
from rehab_runtime.diagnostics import ComponentDiagnostics

SOURCE_NAME = "image_source"
#: output kinds a stage emits once per input frame; a frame lacking one was dropped inside
PER_FRAME_KINDS = ("image", "skeletons", "detections")


class RecordingDiagnostics(ComponentDiagnostics):
    """The component's normal counters, plus every frame's processing time by stamp."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: dict[int, float] = {}

    def frame_done(self, stamp_ns: int, started: float, downstream_s: float = 0.0) -> None:
        self.samples[stamp_ns] = (time.perf_counter() - downstream_s - started) * 1e3
        super().frame_done(stamp_ns, started, downstream_s)

    def reset(self) -> None:
        super().reset()
        self.samples = {}


class BenchSourceNode(LifecycleComponent):
    """Stands in for ``image_source``: the player publishes its frames on ``image``."""

    DEFAULT_NAME = SOURCE_NAME

    def configure(self, cfg: Any) -> None:
        self.out_image = self.create_output("image", codecs.IMAGE)

    def publish_frame(self, frame: Frame) -> None:
        """Publish (running every in-process stage behind it); diagnostics like a real source."""
        started = time.perf_counter()
        self.take_downstream()
        self.out_image.publish(frame)
        self.diag.frame_done(frame.stamp_ns, started, self.take_downstream())


class GraphPlayer:
    """The stack of ``params`` in one container, fed by a fixed-rate player.

    Use as a context manager; ``play(frames, rate_hz)`` runs one replay and
    can be called many times (the stages are deactivated and re-activated
    between runs, so tracker / classifier state never leaks from one run to
    the next). Raises ``ConfigError`` naming a stage that fails to come up.
    """

    def __init__(self, params: str | Path | dict[str, Any], *, domain_id: int | None = None,
                 overrides: list[tuple[str, str, Any]] = ()) -> None:
        self.stack = stack_config.load_stack(params)
        for node, key, value in overrides:
            stack_config.set_param(self.stack, node, key, value)
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        threads = int(stack_config.node_params(self.stack, stack_config.CONTAINER)
                      .get("num_threads", 4))
        self.container = ComponentContainer(context=self.context, num_threads=threads)
        self.process = psutil.Process()
        self.stamps = FreshStamps()
        try:
            self._load()
            order = stack_config.bring_up_order(self.stack, self.container.nodes)
            # consumers first, the source last (consumers bind to producers on activation)
            self._order = [n for n in order if n != SOURCE_NAME] + [SOURCE_NAME]
            self.container.bring_up(self._order)
            #: the stages' output topics -> payload kind
            self.kinds = {t: k for t, k in self.container.outputs().items()
                          if t != self.source.out_image.topic}
            self.assembler = FrameAssembler(self.container.bus, self.kinds)
            self.capture = False  # keep the payloads on the records (event accuracy)
            self.required = [t for t, k in self.kinds.items() if k in PER_FRAME_KINDS]
            self.container.spin_in_background()
        except BaseException:
            self.close()
            raise

    # -- set-up ----------------------------------------------------------------

    def _load(self) -> None:
        specs = stack_config.components(self.stack)
        if sum(s.name == SOURCE_NAME for s in specs) != 1:
            raise ConfigError(f"the stack must have exactly one {SOURCE_NAME!r} component")
        for spec in specs:
            if spec.name == SOURCE_NAME:
                node = self.container.load(f"{__name__}:BenchSourceNode", spec.name, {},
                                           spec.remappings)
                self.source: BenchSourceNode = node  # type: ignore[assignment]
            else:
                node = self.container.load(spec.plugin, spec.name, spec.parameters,
                                           spec.remappings)
            node.diag = RecordingDiagnostics()
            node.get_logger().set_level(LoggingSeverity.WARN)  # keeps the progress bar readable

    @property
    def stages(self) -> list[str]:
        """Stage names in the stack's load order (roughly the data flow)."""
        return [n for n in self.container.nodes if n != SOURCE_NAME]

    def reset_stages(self) -> None:
        """Fresh stage state for a new run: deactivate (source first), activate again."""
        self.container.bring_down()
        self.container.bring_up(self._order)
        for node in self.container.nodes.values():
            node.diag.reset()

    # -- measuring -------------------------------------------------------------

    def warm_up(self, frames: list[Frame], count: int = 5) -> float:
        """Push ``count`` frames synchronously (model warm-up); mean ms/frame after the first."""
        times = []
        for i in range(count):
            started = time.perf_counter()
            self.source.publish_frame(self.stamps.stamp(frames[i % len(frames)]))
            times.append((time.perf_counter() - started) * 1e3)
        self.assembler.clear()
        steady = times[1:] or times
        return sum(steady) / len(steady)

    def play(self, frames: list[Frame], rate_hz: float, count: int | None = None,
             on_tick: Callable[[], None] | None = None, drain_timeout_s: float = 30.0,
             reset: bool = True, capture: bool = False) -> RunResult:
        """Play ``count`` frames (default: each once, cycling if more) at ``rate_hz``.

        ``reset=False`` continues with the stages' current state (soak windows);
        ``capture=True`` keeps every output payload on its frame's record.
        """
        if reset:
            self.reset_stages()
            self.warm_up(frames, 2)  # first frames after a reset re-initialise models' state
        for node in self.container.nodes.values():
            node.diag.reset()
        self.assembler.clear()
        self.capture = capture
        cpu0 = cpu_seconds(self.process)
        try:
            with self.assembler:
                records, wall = play_fixed_rate(frames, rate_hz, count, self.stamps.stamp,
                                                self._deliver, on_tick, drain_timeout_s)
        finally:
            self.capture = False
        cpu = (cpu_seconds(self.process) - cpu0) / wall * 100.0
        result = RunResult(rate_hz, records, wall, cpu, self.process.memory_info().rss / 2**20)
        sent_stamps = {r.stamp_ns for r in records if r.status == "ok"}
        for name in self.stages:
            node = self.container.nodes[name]
            samples = node.diag.samples
            result.stage_ms[node.get_name()] = [v for s, v in samples.items() if s in sent_stamps]
            result.stage_drops[node.get_name()] = dict(node.diag.drops)
        return result

    def _deliver(self, frame: Frame, record: FrameRecord, sent: float) -> None:
        self.source.publish_frame(frame)
        self._finish(record, sent)

    def _finish(self, record: FrameRecord, sent: float) -> None:
        got = self.assembler.take(record.stamp_ns)
        arrivals = got.arrivals
        record.outputs = got.payloads if self.capture else None
        missing = tuple(t for t in self.required if t not in arrivals)
        if missing or not arrivals:
            record.status, record.missing = "incomplete", missing
            return
        record.status = "ok"
        record.latency_ms = (max(arrivals.values()) - sent) * 1e3

    # -- facts for the report ----------------------------------------------------

    def backends(self) -> dict[str, str]:
        """Inference runtime actually used by each stage that has a model (class names)."""
        out = {}
        for node in (self.container.nodes[n] for n in self.stages):
            for attr in ("estimator", "detector", "classifier", "model"):
                obj = getattr(node, attr, None)
                if obj is None:
                    continue
                backend = getattr(obj, "backend", None)
                out[node.get_name()] = type(backend or obj).__name__
        return out

    def pose_input_size(self) -> tuple[int, int] | None:
        """(h, w) the pose model runs at, when the stack's pose model has a fixed input."""
        node = self.container.nodes.get("pose_estimator")
        size = getattr(getattr(node, "estimator", None), "input_size", None)
        return tuple(size) if size else None

    def restart_failed(self) -> list[str]:
        """Bring every stage that left the active state back up (the manager's restart policy).

        Returns the names restarted; a stage that cannot come back is named with its error.
        """
        restarted = []
        for node in (self.container.nodes[n] for n in self._order):
            if node.state_label() == "active":
                continue
            configured = node.state_label() == "inactive" or node.trigger_configure() == SUCCESS
            if configured and node.trigger_activate() == SUCCESS:
                restarted.append(node.get_name())
                continue
            restarted.append(f"{node.get_name()} (failed: {node.last_error})")
        return restarted

    def stage_error_counts(self) -> dict[str, int]:
        """Frames each stage dropped because its processing raised (not back-pressure)."""
        return {name: sum(v for k, v in self.container.nodes[name].diag.drops.items()
                          if k.startswith(("processing error", "bad frame")))
                for name in self.stages}

    def close(self) -> None:
        container = getattr(self, "container", None)
        if container is not None:
            container.shutdown()
        if self.context is not None:
            rclpy.shutdown(context=self.context)
            self.context.destroy()
            self.context = None

    def __enter__(self) -> GraphPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
