"""Replay at a fixed rate, the same way for every player (in one container, as processes,
the ultralytics loop): frames in memory, fresh stamps, a ticker that never waits for
the graph, and what each tick sent and got back (ros2_benchmark's method; see
``player`` for why).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from rehab_core.errors import ConfigError, InputSourceError
from rehab_core.io.bag import BagFrameSource
from rehab_core.types import Frame


def load_bag_frames(bag: str | Path, topic: str | None = None,
                    max_frames: int | None = None) -> tuple[list[Frame], float]:
    """All image frames of the bag, decoded into memory, and the bag's recorded rate (fps)."""
    source = BagFrameSource(bag, topic=topic, max_frames=max_frames)
    frames = [dataclasses.replace(f, image=f.image.copy()) for f in source]
    if not frames:
        raise InputSourceError(f"bag {bag} yielded no frame")
    return frames, float(source.fps)


class FreshStamps:
    """Increasing wall-clock stamps: the stages reject repeated or older stamps, and a bag is
    replayed many times, so every played frame gets a new one."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, time.time_ns())
        return self._last

    def stamp(self, frame: Frame) -> Frame:
        return dataclasses.replace(frame, stamp_ns=self.next())


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of ``process`` so far."""
    times = process.cpu_times()
    return times.user + times.system


@dataclass
class FrameRecord:
    """One tick of a run: what was sent, when, and what came back."""

    stamp_ns: int
    tick_s: float  # when the tick fired (relative to the run start)
    #: ok | busy (graph still busy at the tick) | incomplete (outputs missing) | pending
    status: str = "pending"
    latency_ms: float = float("nan")  # hand-off -> last output of this stamp
    missing: tuple[str, ...] = ()
    index: int = -1  # position of the frame in the bag
    #: output kind -> payloads with this frame's stamp (only when the run captures outputs)
    outputs: dict[str, list[Any]] | None = None


@dataclass
class RunResult:
    """One replay at one target rate."""

    rate_hz: float
    frames: list[FrameRecord]
    wall_s: float
    cpu_percent: float
    rss_mb: float
    stage_ms: dict[str, list[float]] = field(default_factory=dict)
    stage_drops: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return len(self.frames)

    @property
    def delivered(self) -> int:
        return sum(r.status == "ok" for r in self.frames)

    @property
    def dropped_fraction(self) -> float:
        return 1.0 - self.delivered / self.sent if self.sent else 0.0

    @property
    def observed_fps(self) -> float:
        return self.delivered / self.wall_s if self.wall_s > 0 else 0.0

    def latencies_ms(self) -> list[float]:
        return [r.latency_ms for r in self.frames if r.status == "ok"]

    def drop_counts(self) -> dict[str, int]:
        out = {"busy": 0, "incomplete": 0}
        for r in self.frames:
            if r.status != "ok":
                out[r.status] += 1
        return out


def play_fixed_rate(
    frames: list[Frame],
    rate_hz: float,
    count: int | None,
    stamped: Callable[[Frame], Frame],
    deliver: Callable[[Frame, FrameRecord, float], None],
    on_tick: Callable[[], None] | None = None,
    drain_timeout_s: float = 30.0,
) -> tuple[list[FrameRecord], float]:
    """Tick at ``rate_hz`` from absolute deadlines; hand a frame over only when the worker is idle.

    ``deliver(frame, record, sent)`` runs in the worker thread and sets the
    record's status and latency; a tick that finds the worker busy marks its
    frame "busy" (dropped) and never waits. Returns the records and the wall time.
    Shared by every in-process player so all of them drop frames by the same rule.
    """
    if rate_hz <= 0:
        raise ConfigError(f"replay rate must be > 0, got {rate_hz}")
    count = count or len(frames)
    idle = threading.Event()
    idle.set()
    work: list[tuple[Frame, float, FrameRecord]] = []
    wake = threading.Event()
    stop = threading.Event()
    records: list[FrameRecord] = []

    def worker() -> None:
        while True:
            wake.wait()
            wake.clear()
            if stop.is_set() and not work:
                return
            frame, sent, record = work.pop()
            try:
                deliver(frame, record, sent)
            except Exception as err:  # the graph under test failed on this frame: a drop
                record.status, record.missing = "incomplete", (f"{type(err).__name__}: {err}",)
            idle.set()

    thread = threading.Thread(target=worker, name="bench_player", daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        for i in range(count):
            delay = start + i / rate_hz - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # the rate's timer: absolute deadlines, no drift
            tick = time.perf_counter()
            frame = stamped(frames[i % len(frames)])
            record = FrameRecord(frame.stamp_ns, tick - start, index=i % len(frames))
            records.append(record)
            if idle.is_set():
                idle.clear()
                work.append((frame, tick, record))
                wake.set()
            else:
                record.status = "busy"
            if on_tick is not None:
                on_tick()
        idle.wait(drain_timeout_s)
        wall = max(time.perf_counter() - start, 1e-9)
    finally:
        stop.set()
        wake.set()
        thread.join(timeout=drain_timeout_s)
    for record in records:
        if record.status == "pending":  # the graph never finished it within the timeout
            record.status = "incomplete"
    return records, wall
