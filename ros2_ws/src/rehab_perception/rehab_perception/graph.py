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
from rehab_perception import payloads, stack_config
from rehab_perception.container import ComponentContainer
from rehab_perception.image_source_node import ImageSourceNode
from rehab_perception.lifecycle_component import SUCCESS
from rehab_perception.results import FrameResult

#: topic (resolved) -> FrameResult field, for the outputs the collector keeps
_COLLECTED = {
    "skeletons": ("skeletons", payloads.SKELETONS),
    "detections": ("detections", payloads.DETECTIONS),
    "action": ("action", payloads.ACTION),
    "repetitions": ("repetitions", payloads.REPETITION),
    "reach": ("reach", payloads.REACH),
}


@dataclass
class GraphRun:
    """Summary of one ``run_graph`` call."""

    frames: int = 0
    wall_s: float = 0.0
    fps: float = 0.0
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_fps: float = 0.0


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
        result.index, result.width, result.height = self.frames, frame.width, frame.height
        self.frames += 1
        # anything older was produced late for an earlier frame; attach nothing silently
        self.pending = {s: r for s, r in self.pending.items() if s > frame.stamp_ns}
        if self.callback is not None:
            self.callback(result)

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
) -> GraphRun:
    """Run the stack of ``params`` on ``input`` until it ends; see the module docstring.

    ``stop``: set it (from another thread) to end the run early, e.g. a live
    camera once the caller has what it needs; the graph then shuts down cleanly.

    Raises ``RehabError`` (e.g. ``ConfigError``) naming the component that
    failed to configure or activate and why.
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
    try:
        container.load_stack(stack)
        manager = stack_config.manager_params(stack)
        order = [n for n in manager.get("node_names", []) if n in container.nodes]
        order += [n for n in container.nodes if n not in order]
        nodes = [container.nodes[n] for n in order]
        for node in nodes:  # configure all, then activate all (see channel's contract)
            if node.trigger_configure() != SUCCESS:
                raise ConfigError(f"{node.get_name()}: {node.last_error or 'configure failed'}")
        source = _source_node(container)
        for node in nodes:
            if node is source:
                continue
            if node.trigger_activate() != SUCCESS:
                raise ConfigError(f"{node.get_name()}: {node.last_error or 'activate failed'}")
        # bound after the other consumers, so it is the image's last one
        collector = _Collector(container, source, _output_topics(container), on_frame_result)
        started = time.perf_counter()
        if source.trigger_activate() != SUCCESS:
            raise ConfigError(f"{source.get_name()}: {source.last_error or 'activate failed'}")
        container.spin_in_background()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not source.finished.wait(0.05):
            if stop is not None and stop.is_set():
                source.trigger_deactivate()
                break
            if deadline is not None and time.monotonic() > deadline:
                raise RehabError(f"input did not end within {timeout_s} s")
        wall = time.perf_counter() - started
        run = GraphRun(frames=collector.frames, wall_s=wall,
                       fps=collector.frames / wall if wall > 0 else 0.0,
                       source_fps=float(getattr(source._source, "fps", 0.0) or 0.0))
        for name, node in container.nodes.items():
            run.components[name] = {
                "processed": node.diag.processed,
                "dropped": node.diag.dropped,
                "drops": dict(node.diag.drops),
                "latency_ms": round(node.diag.latency_ms(), 3),
            }
        return run
    finally:
        if collector is not None:
            collector.close()
        container.shutdown()
        rclpy.shutdown(context=context)
        # free the DDS participant now: a lingering one keeps announcing our node and
        # service names, which confuses a later graph on the same domain
        context.destroy()
