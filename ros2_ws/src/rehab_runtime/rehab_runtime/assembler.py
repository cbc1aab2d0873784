"""One frame's outputs, gathered from the in-process bus by the source stamp they carry.

Every stage stamps its outputs with the stamp of the source frame they came
from, so "what did the stack produce for frame X" is a lookup by stamp. The
``FrameAssembler`` subscribes to the output topics it is given and keeps, per
stamp, each payload and when it arrived. ``rehab run`` (``run_graph``) turns
an assembled frame into a ``FrameResult``, and so does the recorder for its
JSON lines (fed from its own inputs with ``add``); ``rehab bench`` measures
latency from the arrival times and scores events from the payloads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rehab_runtime.channel import InProcessBus


@dataclass
class AssembledFrame:
    """What arrived for one source stamp."""

    stamp_ns: int
    #: topic -> when its (last) payload arrived (``time.perf_counter``)
    arrivals: dict[str, float] = field(default_factory=dict)
    #: payload kind (codec name) -> payloads in arrival order
    payloads: dict[str, list[Any]] = field(default_factory=dict)

    def last(self, kind: str) -> Any:
        """The latest payload of ``kind``, or None."""
        found = self.payloads.get(kind)
        return found[-1] if found else None


class FrameAssembler:
    """Outputs of the given bus topics, keyed by stamp; ``take(stamp)`` hands one frame over.

    Use as a context manager (subscribes on enter, unsubscribes on exit) or call
    ``attach`` / ``detach``. Thread-safe: stages may publish from several threads.
    """

    def __init__(self, bus: InProcessBus | None = None,
                 topics: dict[str, str] | None = None) -> None:
        """``topics``: bus topic -> payload kind. Without a bus, a component feeds it from
        its own inputs with ``add`` (the recorder)."""
        topics = topics or {}
        self.bus = bus
        self.topics = dict(topics)
        self._lock = threading.Lock()
        self._frames: dict[int, AssembledFrame] = {}
        self._handlers = {topic: self._handler(topic, kind) for topic, kind in topics.items()}
        self._extra: list[tuple[str, Callable[[Any], None]]] = []

    def _handler(self, topic: str, kind: str) -> Callable[[Any], None]:
        return lambda payload: self.add(kind, payload, topic)

    def add(self, kind: str, payload: Any, topic: str = "") -> None:
        """Keep ``payload`` (of ``kind``, arrived on ``topic``) under its stamp."""
        now = time.perf_counter()
        stamp = int(getattr(payload, "stamp_ns", -1))
        with self._lock:
            frame = self._frames.get(stamp)
            if frame is None:
                frame = self._frames[stamp] = AssembledFrame(stamp)
            frame.arrivals[topic or kind] = now
            frame.payloads.setdefault(kind, []).append(payload)

    def stamps(self) -> list[int]:
        """The stamps held, oldest first."""
        with self._lock:
            return sorted(self._frames)

    def attach(self) -> FrameAssembler:
        if self.bus is None:
            raise ValueError("FrameAssembler.attach needs a bus")
        for topic, handler in self._handlers.items():
            self.bus.subscribe(topic, handler)
        return self

    def when_done(self, topic: str, callback: Callable[[Any], None]) -> None:
        """(With a bus.) Call ``callback(payload)`` for each payload on ``topic`` after every
        consumer subscribed so far: bound after the stages, it runs once a frame is complete
        (the bus delivers synchronously)."""
        if self.bus is None:
            raise ValueError("FrameAssembler.when_done needs a bus")
        self.bus.subscribe(topic, callback)
        self._extra.append((topic, callback))

    def detach(self) -> None:
        if self.bus is None:
            return
        for topic, handler in [*self._handlers.items(), *self._extra]:
            self.bus.unsubscribe(topic, handler)
        self._extra.clear()

    def take(self, stamp_ns: int) -> AssembledFrame:
        """Everything that arrived for ``stamp_ns`` (empty if nothing did), forgotten here."""
        with self._lock:
            return self._frames.pop(stamp_ns, None) or AssembledFrame(stamp_ns)

    def discard_before(self, stamp_ns: int) -> None:
        """Forget outputs of older stamps (produced late for a frame already handed over)."""
        with self._lock:
            self._frames = {s: f for s, f in self._frames.items() if s > stamp_ns}

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def __enter__(self) -> FrameAssembler:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()
