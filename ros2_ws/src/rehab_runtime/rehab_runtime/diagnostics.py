"""Per-component health counters: rate, latency and drops with their reasons.

A component calls ``frame_done(stamp_ns, started)`` after each input it
processed and ``drop(reason)`` for each it refused. ``latency_ms`` is the
stage's own processing time (time spent in synchronous in-process consumers
is excluded); ``age_ms`` is now minus the source stamp when stamps are
wall-clock (image_source ``stamp_clock: wall``), i.e. end-to-end latency, and
-1 otherwise. ``to_status`` turns the
counters into a ``diagnostic_msgs/DiagnosticStatus`` that the component
publishes on ``/diagnostics`` and the lifecycle manager aggregates.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

# Stamps this close to the wall clock are live (camera / real-time replay) and
# their age is a meaningful end-to-end latency; video-position stamps are not.
_LIVE_STAMP_WINDOW_NS = 3600 * 1_000_000_000

#: the count an image source sets when its file or bag has been played to the end
INPUT_ENDED = "input_ended"


def reports_input_ended(statuses: Iterable[DiagnosticStatus]) -> bool:
    """Whether any of these statuses is an image source's that has reached its input's end
    (read by the manager's end_of_input policy and the repetition counter)."""
    return any(kv.key == INPUT_ENDED and kv.value not in ("", "0")
               for status in statuses for kv in status.values)


class InputEndWatch:
    """A component's view of "the file or bag has been played to its end".

    It watches ``/diagnostics`` for an image source's ``input_ended`` and is
    ``drained()`` once, after that, none of the component's own inputs have come
    for ``drain_s`` (the frames in flight are through the pipeline). Input that
    comes after the end is a new input: the watch starts over. Used by the
    repetition counter (to close the repetition in progress) and the RunExercise
    server (to end a goal as ``input_ended``, not ``person_lost``).
    """

    ENDPOINTS = (("subscribes", "/diagnostics", DiagnosticArray),)  # for `rehab docs topics`

    def __init__(self, node: Any, drain_s: float = 1.0) -> None:
        self._node, self.drain_s = node, drain_s
        self._sub = None
        self.reset()

    def start(self) -> None:
        """Subscribe (at activate)."""
        self._sub = self._node.create_subscription(DiagnosticArray, "/diagnostics",
                                                   self._on_diagnostics, 10)

    def stop(self) -> None:
        """Unsubscribe and forget (at deactivate)."""
        if self._sub is not None:
            self._node.destroy_subscription(self._sub)
            self._sub = None
        self.reset()

    def reset(self) -> None:
        self.ended = False  # an image source reported the end of its input
        self._last_input = time.monotonic()

    def input_seen(self) -> None:
        """One of the component's inputs arrived (after the end had drained: a new input)."""
        if self.drained():
            self.ended = False
        self._last_input = time.monotonic()

    def drained(self) -> bool:
        return self.ended and time.monotonic() - self._last_input >= self.drain_s

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        if reports_input_ended(msg.status):
            self.ended = True


class ComponentDiagnostics:
    """Thread-safe counters over a sliding window of recent frames."""

    def __init__(self, window: int = 100) -> None:
        self._lock = threading.Lock()
        self.processed = 0
        self.drops: Counter[str] = Counter()
        self._done_at: deque[float] = deque(maxlen=window)
        self._proc_ms: deque[float] = deque(maxlen=window)
        self._age_ms: deque[float] = deque(maxlen=window)
        self.last_reason = ""
        #: events that are by design, not faults (e.g. "skipped": frames superseded by a
        #: newer one while busy, latest wins); reported without raising the level
        self.counts: Counter[str] = Counter()

    def frame_done(self, stamp_ns: int, started: float, downstream_s: float = 0.0) -> None:
        """One input handled. ``downstream_s``: time spent inside in-process consumers
        (synchronous hand-off), excluded so each stage reports only its own cost."""
        now = time.perf_counter() - downstream_s
        wall_ns = time.time_ns() - int(downstream_s * 1e9)
        with self._lock:
            self.processed += 1
            self._done_at.append(now)
            self._proc_ms.append((now - started) * 1e3)
            if 0 < wall_ns - stamp_ns < _LIVE_STAMP_WINDOW_NS:
                self._age_ms.append((wall_ns - stamp_ns) * 1e-6)

    def drop(self, reason: str) -> None:
        # the counter key is the reason's kind (text before ':') so counts stay bounded
        with self._lock:
            self.drops[reason.split(":", 1)[0]] += 1
            self.last_reason = reason

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def rate_hz(self) -> float:
        with self._lock:
            if len(self._done_at) < 2:
                return 0.0
            span = self._done_at[-1] - self._done_at[0]
            return (len(self._done_at) - 1) / span if span > 0 else 0.0

    def latency_ms(self) -> float:
        with self._lock:
            return sum(self._proc_ms) / len(self._proc_ms) if self._proc_ms else 0.0

    def age_ms(self) -> float:
        with self._lock:
            return sum(self._age_ms) / len(self._age_ms) if self._age_ms else -1.0

    def reset(self) -> None:
        with self._lock:
            self.processed = 0
            self.drops.clear()
            self.counts.clear()
            self._done_at.clear()
            self._proc_ms.clear()
            self._age_ms.clear()
            self.last_reason = ""

    def to_status(self, name: str, state: str) -> DiagnosticStatus:
        drops = self.dropped
        level = DiagnosticStatus.OK
        message = state
        if state != "active":
            level = DiagnosticStatus.WARN
        elif drops:
            level = DiagnosticStatus.WARN
            message = f"active; {drops} dropped (last: {self.last_reason})"
        values = {
            "state": state,
            "processed": str(self.processed),
            "rate_hz": f"{self.rate_hz():.2f}",
            "latency_ms": f"{self.latency_ms():.3f}",
            "age_ms": f"{self.age_ms():.3f}",
            "dropped": str(drops),
        }
        values.update({f"dropped.{k}": str(v) for k, v in sorted(self.drops.items())})
        values.update({k: str(v) for k, v in sorted(self.counts.items())})
        return DiagnosticStatus(
            level=level,
            name=name,
            message=message,
            hardware_id="rehab_perception",
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
