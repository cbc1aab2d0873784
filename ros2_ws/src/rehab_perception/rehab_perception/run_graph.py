"""Run the whole stack in-process on one input and get every frame's outputs back.

This is what ``rehab run`` calls. It loads the components of the stack YAML
into a ``ComponentContainer`` (own ROS context and domain, so it never mixes
with another running stack unless asked), sets the image source to the given
input with ``pacing: fast``, brings every component up in order, and calls
``on_frame_result(FrameResult)`` once per source frame, in order, with that
frame's outputs keyed by its source stamp (``assembler.FrameAssembler``).
The container brings the components up (``bring_up``) and down.

Why no frame is dropped: the in-process bus delivers synchronously, so the
source's publish returns only after every stage has handled the frame; the
collector is the image topic's last consumer, so when it is called the
frame's outputs are complete.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rclpy
from rclpy.context import Context

from rehab_core.errors import ConfigError, RehabError
from rehab_perception.image_source_node import ImageSourceNode
from rehab_perception.results import KIND_FIELDS, FrameResult
from rehab_runtime import stack_config
from rehab_runtime.assembler import FrameAssembler
from rehab_runtime.container import ComponentContainer

#: seconds without a frame read, published or dropped before the watchdog ends a run
STALL_TIMEOUT_S = 60.0


@dataclass
class GraphRun:
    """Summary of one ``run_graph`` call.

    ``errors``: what went wrong without stopping the run (an input that ended
    before its announced length, a failing result callback ...);
    ``interrupted``: ``stop`` was set before the input ended; ``skipped``:
    optional components that failed to configure, with why.
    """

    frames: int = 0
    wall_s: float = 0.0
    fps: float = 0.0
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_fps: float = 0.0
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    skipped: dict[str, str] = field(default_factory=dict)
    clean_shutdown: bool = True


class GraphStalled(RehabError):
    """The graph made no progress for the watchdog's timeout; ``run`` has what it did."""

    def __init__(self, message: str, run: GraphRun) -> None:
        super().__init__(message)
        self.run = run


def _source_node(container: ComponentContainer) -> ImageSourceNode:
    sources = [n for n in container.nodes.values() if isinstance(n, ImageSourceNode)]
    if len(sources) != 1:
        raise ConfigError(f"the stack must have exactly one image_source, found {len(sources)}")
    return sources[0]


class _Collector:
    """Hands each frame's assembled outputs to the caller as a ``FrameResult``, in order."""

    def __init__(self, container: ComponentContainer, source: ImageSourceNode,
                 topics: dict[str, str], callback: Callable[[FrameResult], None] | None) -> None:
        self.callback = callback
        self.frames = 0
        self.errors: list[str] = []
        self.assembler = FrameAssembler(container.bus, topics).attach()
        # bound last: runs after every in-process consumer of the frame
        self.assembler.when_done(source.out_image.topic, self._frame_done)

    def _frame_done(self, frame: Any) -> None:
        got = self.assembler.take(frame.stamp_ns)
        # anything older was produced late for an earlier frame; attach nothing silently
        self.assembler.discard_before(frame.stamp_ns)
        result = FrameResult.from_frame(got, self.frames)
        self.frames += 1
        try:  # the caller's code runs on the source's thread: it must not stop the stream
            result.width, result.height = frame.width, frame.height
            if self.callback is not None:
                self.callback(result)
        except Exception as err:
            self.errors.append(f"frame {result.index}: result not written: "
                               f"{type(err).__name__}: {err}")

    def close(self) -> None:
        self.assembler.detach()


def _output_topics(container: ComponentContainer, prefer_tracked: bool = True) -> dict[str, str]:
    """The bus topics a FrameResult is made of -> their kind (tracked skeletons win over
    raw ones)."""
    topics: dict[str, str] = {}
    skeletons = ""
    for topic, kind in container.outputs().items():
        if kind == "skeletons":
            tracked = topic.endswith("tracked_skeletons")
            if not skeletons or (tracked and prefer_tracked):
                skeletons = topic
        elif kind in KIND_FIELDS:
            topics[topic] = kind
    if skeletons:
        topics[skeletons] = "skeletons"
    return topics


def run_graph(
    params: str | Path | dict[str, Any],
    input: str | None = None,
    on_frame_result: Callable[[FrameResult], None] | None = None,
    max_frames: int | None = None,
    *,
    domain_id: int | None = None,
    timeout_s: float | None = None,
    stop: threading.Event | None = None,
    stall_timeout_s: float = STALL_TIMEOUT_S,
    attach: Callable[[ComponentContainer], Callable[[], None]] | None = None,
) -> GraphRun:
    """Run the stack of ``params`` on ``input`` until it ends; see the module docstring.

    ``stop``: set it (from another thread or a signal handler) to end the run
    early, e.g. Ctrl-C or a live camera once the caller has what it needs; the
    graph then shuts down cleanly (the recorder's bag and JSONL, the overlay's
    video are closed) and the result says ``interrupted``.

    Raises ``RehabError`` (e.g. ``ConfigError``) naming the component that
    failed to configure or activate and why (a component listed in the
    container's ``optional_components`` is skipped instead), and
    ``GraphStalled`` when no frame was read, published or dropped for
    ``stall_timeout_s`` (a stage stuck in a callback): never a hang.

    ``attach``: a client of the graph in the same process (e.g. ``rehab session``'s
    RunExercise goals), called with the container once every component is up and
    spinning, before the first frame; it returns a function called once the input is
    over, before the container goes down.
    """
    stack = stack_config.load_stack(params)
    if input is not None:
        stack_config.set_param(stack, "image_source", "input", str(input))
    stack_config.set_param(stack, "image_source", "pacing", "fast")
    if max_frames:
        stack_config.set_param(stack, "image_source", "max_frames", int(max_frames))
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    threads = int(stack_config.node_params(stack, stack_config.CONTAINER).get("num_threads", 4))
    container = ComponentContainer(context=context, num_threads=threads)
    collector = None
    finish: Callable[[], None] | None = None
    clean = True
    try:
        container.load_stack(stack)
        source = _source_node(container)
        optional = stack_config.node_params(stack, stack_config.CONTAINER) \
            .get("optional_components") or []
        order = stack_config.bring_up_order(stack, container.nodes)
        # the source is activated last, after the collector: its first frame finds every
        # consumer bound
        skipped = container.bring_up(order, optional=optional, hold=[source.get_name()],
                                     stop=stop)
        if stop is not None and stop.is_set():  # e.g. Ctrl-C while models load
            return GraphRun(interrupted=True, skipped=skipped)
        container.spin_in_background()
        if attach is not None:
            finish = attach(container)
        collector = _Collector(container, source, _output_topics(container), on_frame_result)
        started = time.perf_counter()
        container.activate([source.get_name()])
        interrupted = _wait_for_end(source, stop, timeout_s, stall_timeout_s,
                                    lambda: _summary(container, collector, source, started,
                                                     skipped, interrupted=False))
        return _summary(container, collector, source, started, skipped, interrupted)
    except GraphStalled as err:
        clean = False
        err.run.clean_shutdown = False
        raise
    finally:
        try:
            if finish is not None and clean:
                finish()
        finally:
            _close(container, context, collector, clean)


def _close(container: ComponentContainer, context: Context, collector: _Collector | None,
           clean: bool) -> None:
    if collector is not None:
        collector.close()
    if clean:
        container.shutdown()
        rclpy.shutdown(context=context)
        # free the DDS participant now: a lingering one keeps announcing our node and
        # service names, which confuses a later graph on the same domain
        context.destroy()
    else:  # a stage is stuck in a callback: bounded teardown, never a second hang
        _teardown_bounded(container, context)


def _wait_for_end(source: ImageSourceNode, stop: threading.Event | None,
                  timeout_s: float | None, stall_timeout_s: float,
                  partial: Callable[[], GraphRun]) -> bool:
    """Wait for the input's end; True if ``stop`` ended it first. The watchdog raises
    ``GraphStalled`` when the source neither publishes nor drops a frame for too long."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    progress, last_change = -1, time.monotonic()
    while not source.finished.wait(0.05):
        if stop is not None and stop.is_set():
            source.trigger_deactivate()
            return True
        now = time.monotonic()
        if deadline is not None and now > deadline:
            raise RehabError(f"input did not end within {timeout_s} s")
        seen = source.frames_published + source.diag.dropped
        if seen != progress:
            progress, last_change = seen, now
        elif now - last_change > stall_timeout_s:
            raise GraphStalled(
                f"the graph made no progress for {stall_timeout_s:g} s after "
                f"{source.frames_published} frames (a stage is stuck in a callback); "
                f"stopped by the watchdog", partial())
    return False


def _summary(container: ComponentContainer, collector: _Collector, source: ImageSourceNode,
             started: float, skipped: dict[str, str], interrupted: bool) -> GraphRun:
    wall = time.perf_counter() - started
    status = source.input_status()
    run = GraphRun(frames=collector.frames, wall_s=wall,
                   fps=collector.frames / wall if wall > 0 else 0.0,
                   source_fps=status["fps"], interrupted=interrupted, skipped=dict(skipped))
    if status["ended_early"]:
        run.errors.append(
            f"input ended early: {status['decoded']} of {status['announced']} announced "
            "frames decoded (truncated or damaged file)")
    run.errors += collector.errors
    run.errors += [f"executor: {e}" for e in container.callback_errors]
    run.errors += [f"{name}: skipped (optional, failed to configure): {why}"
                   for name, why in skipped.items()]
    for name, node in container.nodes.items():
        run.components[name] = {
            "processed": node.diag.processed,
            "dropped": node.diag.dropped,
            "drops": dict(node.diag.drops),
            "latency_ms": round(node.diag.latency_ms(), 3),
        }
    return run


def _teardown_bounded(container: ComponentContainer, context: Context,
                      timeout_s: float = 5.0) -> None:
    """Shut down in a helper thread, giving up after ``timeout_s`` (stuck callbacks hold
    their component's lock, so an orderly shutdown could wait on them forever)."""

    def down() -> None:
        container.shutdown()
        rclpy.shutdown(context=context)

    helper = threading.Thread(target=down, name="rehab_teardown", daemon=True)
    helper.start()
    helper.join(timeout_s)
