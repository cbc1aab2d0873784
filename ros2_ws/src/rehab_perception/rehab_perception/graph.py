"""Run the whole stack in-process on one input and get every frame's outputs back.

This is what ``rehab run`` calls. It loads the components of the stack YAML
into a ``ComponentContainer`` (own ROS context and domain, so it never mixes
with another running stack unless asked), sets the image source to the given
input with ``pacing: fast``, brings every component up in order, and calls
``on_frame_result(FrameResult)`` once per source frame, in order, with that
frame's outputs keyed by its source stamp.

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
from rehab_perception.results import FrameResult
from rehab_runtime import codecs, stack_config
from rehab_runtime.component import SUCCESS
from rehab_runtime.container import ComponentContainer

#: topic (resolved) -> FrameResult field, for the outputs the collector keeps
_COLLECTED = {
    "skeletons": ("skeletons", codecs.SKELETONS),
    "detections": ("detections", codecs.DETECTIONS),
    "action": ("action", codecs.ACTION),
    "repetitions": ("repetitions", codecs.REPETITION),
    "reach": ("reach", codecs.REACH),
}


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
    """Gathers each frame's outputs from the bus and emits them when the frame is done."""

    def __init__(self, container: ComponentContainer, source: ImageSourceNode,
                 topics: dict[str, str], callback: Callable[[FrameResult], None] | None) -> None:
        self.callback = callback
        self.pending: dict[int, FrameResult] = {}
        self.frames = 0
        self.errors: list[str] = []
        self.bus = container.bus
        self.subscriptions: list[tuple[str, Any]] = []
        for kind, topic in topics.items():
            attr, _codec = _COLLECTED[kind]
            self._subscribe(topic, self._keeper(attr))
        # subscribed last: runs after every in-process consumer of the frame
        self._subscribe(source.out_image.topic, self._frame_done)

    def _subscribe(self, topic: str, handler: Any) -> None:
        self.bus.subscribe(topic, handler)
        self.subscriptions.append((topic, handler))

    def _result(self, stamp_ns: int) -> FrameResult:
        if stamp_ns not in self.pending:
            self.pending[stamp_ns] = FrameResult(stamp_ns, index=-1)
        return self.pending[stamp_ns]

    def _keeper(self, attr: str) -> Callable[[Any], None]:
        def keep(payload: Any) -> None:
            result = self._result(payload.stamp_ns)
            if isinstance(getattr(result, attr), list):
                getattr(result, attr).append(payload)
            else:
                setattr(result, attr, payload)
        return keep

    def _frame_done(self, frame: Any) -> None:
        result = self.pending.pop(frame.stamp_ns, None) or FrameResult(frame.stamp_ns, -1)
        result.index = self.frames
        self.frames += 1
        # anything older was produced late for an earlier frame; attach nothing silently
        self.pending = {s: r for s, r in self.pending.items() if s > frame.stamp_ns}
        try:  # the caller's code runs on the source's thread: it must not stop the stream
            result.width, result.height = frame.width, frame.height
            if self.callback is not None:
                self.callback(result)
        except Exception as err:
            self.errors.append(f"frame {result.index}: result not written: "
                               f"{type(err).__name__}: {err}")

    def close(self) -> None:
        for topic, handler in self.subscriptions:
            self.bus.unsubscribe(topic, handler)


def _output_topics(container: ComponentContainer, prefer_tracked: bool = True) -> dict[str, str]:
    """Which bus topic feeds each FrameResult field (tracked skeletons win over raw ones)."""
    topics: dict[str, str] = {}
    for node in container.nodes.values():
        for out in node._outputs:
            kind = out.codec.name
            if kind == "skeletons":
                tracked = out.topic.endswith("tracked_skeletons")
                if "skeletons" not in topics or (tracked and prefer_tracked):
                    topics["skeletons"] = out.topic
            elif kind == "repetition":
                topics["repetitions"] = out.topic
            elif kind in _COLLECTED:
                topics[kind] = out.topic
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
    clean = True
    try:
        container.load_stack(stack)
        manager = stack_config.manager_params(stack)
        order = [n for n in manager.get("node_names", []) if n in container.nodes]
        order += [n for n in container.nodes if n not in order]
        nodes = [container.nodes[n] for n in order]
        optional = set(stack_config.node_params(stack, stack_config.CONTAINER)
                       .get("optional_components") or [])
        skipped: dict[str, str] = {}
        for node in nodes:  # configure all, then activate all (see channel's contract)
            if stop is not None and stop.is_set():  # e.g. Ctrl-C while models load
                return GraphRun(interrupted=True, skipped=skipped)
            if node.trigger_configure() != SUCCESS:
                why = node.last_error or "configure failed"
                if node.get_name() not in optional:
                    raise ConfigError(f"{node.get_name()}: {why}")
                skipped[node.get_name()] = why
        source = _source_node(container)
        for node in nodes:
            if node is source or node.get_name() in skipped:
                continue
            if node.trigger_activate() != SUCCESS:
                raise ConfigError(f"{node.get_name()}: {node.last_error or 'activate failed'}")
        # bound after the other consumers, so it is the image's last one
        collector = _Collector(container, source, _output_topics(container), on_frame_result)
        started = time.perf_counter()
        if stop is not None and stop.is_set():
            return _summary(container, collector, source, started, skipped, True)
        if source.trigger_activate() != SUCCESS:
            raise ConfigError(f"{source.get_name()}: {source.last_error or 'activate failed'}")
        container.spin_in_background()
        interrupted = _wait_for_end(source, stop, timeout_s, stall_timeout_s,
                                    lambda: _summary(container, collector, source, started,
                                                     skipped, interrupted=False))
        return _summary(container, collector, source, started, skipped, interrupted)
    except GraphStalled as err:
        clean = False
        err.run.clean_shutdown = False
        raise
    finally:
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
    src = getattr(source, "_source", None)
    run = GraphRun(frames=collector.frames, wall_s=wall,
                   fps=collector.frames / wall if wall > 0 else 0.0,
                   source_fps=float(getattr(src, "fps", 0.0) or 0.0),
                   interrupted=interrupted, skipped=dict(skipped))
    if getattr(src, "ended_early", False):
        run.errors.append(
            f"input ended early: {getattr(src, '_index', '?')} of "
            f"{getattr(src, 'frame_count', '?')} announced frames decoded "
            "(truncated or damaged file)")
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
