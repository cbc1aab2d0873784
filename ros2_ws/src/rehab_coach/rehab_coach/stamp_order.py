"""Inputs of several topics handed on in the order of their stamps, not of their arrival.

Why: a session reads skeletons, predictions and repetition events of the same
frames. Over DDS each topic has its own subscription, and a multi-threaded
executor (or a loaded machine) may run the prediction of frame k after the
skeletons of frame k+1; the session would then judge frame k's label at a
later time than it happened, and on a busy machine a goal's ending could
change. Each input is held for ``hold_s`` (wall clock) so a lower-stamped one
that is a little late on another topic can overtake it; inputs of one stamp go
in ``rank`` order (what the graph produces first: skeletons, then the
prediction, then the repetition).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class StampOrder:
    """A small reorder buffer; ``put`` from any thread, ``drain`` runs the due handlers."""

    def __init__(self, hold_s: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        if hold_s < 0:
            raise ValueError(f"hold_s must be >= 0, got {hold_s}")
        self.hold_s = hold_s
        self._clock = clock
        self._heap: list[tuple[int, int, int, float, Callable[[Any], None], Any]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # handlers run one at a time, in order

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, stamp_ns: int, rank: int, handler: Callable[[Any], None], item: Any) -> None:
        with self._lock:
            heapq.heappush(self._heap, (int(stamp_ns), rank, next(self._seq), self._clock(),
                                        handler, item))

    def input(self, rank: int, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """A subscription callback: holds a stamped payload, runs what is due."""
        def put(payload: Any) -> None:
            self.put(payload.stamp_ns, rank, handler, payload)
            self.drain()
        return put

    def _pop_due(self, everything: bool) -> tuple[Callable[[Any], None], Any] | None:
        with self._lock:
            if not self._heap:
                return None
            arrived = self._heap[0][3]
            if not everything and self._clock() - arrived < self.hold_s:
                return None
            entry = heapq.heappop(self._heap)
            return entry[4], entry[5]

    def drain(self, everything: bool = False) -> int:
        """Run the handlers of the inputs held ``hold_s`` (all with ``everything``), in order."""
        done = 0
        with self._run_lock:
            while (due := self._pop_due(everything)) is not None:
                handler, item = due
                handler(item)
                done += 1
        return done

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()
