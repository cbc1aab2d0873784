"""The last few seconds of one person's per-frame values, for the classifier's decision rules.

The stance and motion-check rules each keep what the last seconds showed;
both follow one stream the same way, here: a stamp fed already is skipped (a
classifier and its 2-D fallback share one tracker and both feed it), a stamp
going back starts a new stream, and what is older than the look-back is
dropped.

``LOOKBACK_S`` is the one look-back all three rules use (stance, motion check,
repetition evidence): 4 s holds a repetition or two at any tempo a counter
counts, and half a repetition covers a key joint's whole range.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

LOOKBACK_S = 4.0


class RecentFrames(Generic[T]):
    """(stamp s, value) of the last ``lookback_s`` of one stream."""

    def __init__(self, lookback_s: float) -> None:
        self.lookback_s = float(lookback_s)
        self.clear()

    def clear(self) -> None:
        self._items: deque[tuple[float, T]] = deque()
        self._last_s: float | None = None

    def advance(self, stamp_ns: int) -> float | None:
        """Move to a frame's stamp: its time in s, or None when it was fed already."""
        t = int(stamp_ns) * 1e-9
        if self._last_s is not None and t == self._last_s:
            return None
        if self._last_s is not None and t < self._last_s:
            self.clear()
        self._last_s = t
        while self._items and self._items[0][0] < t - self.lookback_s:
            self._items.popleft()
        return t

    def append(self, t: float, value: T) -> None:
        self._items.append((t, value))

    def values(self) -> list[T]:
        return [v for _, v in self._items]
