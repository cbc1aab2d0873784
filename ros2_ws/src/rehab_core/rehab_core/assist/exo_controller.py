"""The exoskeleton controller's own safety layer, as a pure state machine (no ROS).

Why here: the controller side (simulator, ros2_control adapter) must enforce
its limits whatever a goal says, and those rules must be testable
exhaustively (property-based tests) without ROS. The node feeds time, goals,
cancels, e-stops and perception heartbeats, and applies ``level(side, t)``.

Rules, whatever the sender asks:

* **Who**: a goal whose authentication failed (``auth_error``) is rejected.
* **Level**: non-finite or negative levels are rejected; levels above
  ``max_level`` are CLAMPED to it.
* **Duration**: ``max_duration_s`` 0, negative, NaN or inf is REJECTED (there
  is no "no limit"); a finite duration above the configured maximum is
  CLAMPED to it.
* **Perception watchdog**: no perception heartbeat for
  ``perception_timeout_s`` rejects new goals and releases running ones.
* **One goal per side**: a goal for a busy side is rejected (so the queue of
  work is bounded: at most one run per side, every request answered at once).
* **E-stop**: latched (``EstopLatch``, persisted by the node): every run is
  cut to zero at once, every goal is rejected until an authorised reset.
* **Stop timing**: levels are a function of time (ramp up over ``ramp_s``,
  release over ``release_s`` from the moment a stop is due, not from the
  moment someone noticed), so a late control tick never extends an assist.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from rehab_core.assist.auth import EstopLatch
from rehab_core.errors import ConfigError

SIDES = ("left", "right")
MODE_ASSIST, MODE_TRANSPARENT = 0, 1


@dataclass(frozen=True)
class ControllerLimits:
    """The controller's own limits (parameters of the controller node)."""

    max_level: float = 0.8
    max_duration_s: float = 5.0
    perception_timeout_s: float = 0.5
    ramp_s: float = 0.2
    release_s: float = 0.15
    sides: tuple[str, ...] = SIDES

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_level <= 1.0:
            raise ConfigError(f"max_level must be in [0, 1], got {self.max_level}")
        if not (math.isfinite(self.max_duration_s) and self.max_duration_s > 0):
            raise ConfigError(f"max_duration_s must be finite and > 0, got "
                              f"{self.max_duration_s}")
        if not (math.isfinite(self.perception_timeout_s) and self.perception_timeout_s > 0):
            raise ConfigError(f"perception_timeout_s must be finite and > 0, got "
                              f"{self.perception_timeout_s}")
        for name in ("ramp_s", "release_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name} must be finite and >= 0, got {v}")


@dataclass
class Run:
    """One accepted goal on one side."""

    id: int
    side: str
    target: float
    duration_s: float
    start: float
    stop_at: float | None = None  # when the release began (None: still assisting)
    stop_level: float = 0.0
    outcome: str = ""
    done: bool = False
    notes: list[str] = field(default_factory=list)

    def level(self, t: float, ramp_s: float, release_s: float) -> float:
        if self.done:
            return 0.0
        stop_at, stop_level = self.stop_at, self.stop_level
        if stop_at is None:
            end = self.start + self.duration_s
            if t < end:
                up = 1.0 if ramp_s <= 0 else min(1.0, max(0.0, t - self.start) / ramp_s)
                return self.target * up
            # past the time limit and nobody stepped yet: already releasing since ``end``
            up = 1.0 if ramp_s <= 0 else min(1.0, self.duration_s / ramp_s)
            stop_at, stop_level = end, self.target * up
        if release_s <= 0:
            return 0.0
        return stop_level * max(0.0, 1.0 - (t - stop_at) / release_s)

    @property
    def success(self) -> bool:
        return self.outcome == "completed"


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reason: str
    run: Run | None = None


class ExoController:
    """Feed ``perception``/``request``/``cancel``/``emergency_stop``; call ``step`` each period."""

    def __init__(self, limits: ControllerLimits, latch: EstopLatch | None = None) -> None:
        self.limits = limits
        self.latch = latch or EstopLatch("")
        self.runs: dict[str, Run] = {}
        self.last_perception: float | None = None
        self._ids = itertools.count(1)

    @property
    def estopped(self) -> bool:
        return self.latch.engaged

    # -- inputs ------------------------------------------------------------------------

    def perception(self, t: float) -> None:
        """A fresh perception message arrived (the watchdog's heartbeat)."""
        self.last_perception = t

    def request(self, t: float, side: str, level: float, mode: int, max_duration_s: float,
                auth_error: str | None = None) -> Decision:
        """Decide on a goal at once (accept with the clamped values, or reject with why)."""
        lim = self.limits
        level, max_duration_s = float(level), float(max_duration_s)
        why = None
        if auth_error:
            why = f"not authorised: {auth_error}"
        elif self.estopped:
            why = f"emergency stop latched ({self.latch.reason}); operator reset needed"
        elif side not in lim.sides:
            why = f"unknown side {side!r}"
        elif mode not in (MODE_ASSIST, MODE_TRANSPARENT):
            why = f"unknown mode {mode}"
        elif not (math.isfinite(level) and level >= 0.0):
            why = f"assist_level {level} is not a finite value >= 0"
        elif not (math.isfinite(max_duration_s) and max_duration_s > 0.0):
            why = (f"max_duration_s {max_duration_s} is not a finite value > 0 "
                   f"(every assist must have a time limit)")
        elif self._stale(t):
            why = "perception is stale (no reach state within the watchdog timeout)"
        elif side in self.runs:
            why = f"{side} side busy with goal {self.runs[side].id}"
        if why:
            return Decision(False, f"rejected: {why}")
        notes = []
        if level > lim.max_level:
            notes.append(f"level {level:.3f} clamped to {lim.max_level}")
            level = lim.max_level
        if max_duration_s > lim.max_duration_s:
            notes.append(f"max_duration_s {max_duration_s:.3f} clamped to {lim.max_duration_s}")
            max_duration_s = lim.max_duration_s
        target = level if mode == MODE_ASSIST else 0.0
        run = Run(next(self._ids), side, target, max_duration_s, t, notes=notes)
        self.runs[side] = run
        return Decision(True, "accepted" + (f" ({'; '.join(notes)})" if notes else ""), run)

    def cancel(self, t: float, run: Run, reason: str = "canceled") -> None:
        """Begin the release now (idempotent)."""
        self._release(run, t, reason)

    def fault(self, t: float, run: Run, reason: str) -> None:
        """Cut power to one run at once (a fault never ramps)."""
        self._cut(run, reason)

    def emergency_stop(self, t: float, reason: str = "emergency stop") -> list[Run]:
        """Latch (persisted) and cut every run to zero at once; returns the runs ended."""
        if not self.latch.engaged:
            self.latch.engage(reason)
        ended = list(self.runs.values())
        for run in ended:
            self._cut(run, "emergency stop")
        self.runs.clear()
        return ended

    def reset(self, authorised: bool) -> tuple[bool, str]:
        if not authorised:
            return False, "refused: operator token missing or wrong"
        if not self.latch.engaged:
            return False, "no emergency stop was latched"
        self.latch.release()
        return True, "emergency stop released by the operator"

    def shutdown(self, t: float, reason: str) -> list[Run]:
        """Deactivation / shutdown: cut everything (not latched)."""
        ended = list(self.runs.values())
        for run in ended:
            self._cut(run, f"fault: {reason}")
        self.runs.clear()
        return ended

    # -- time --------------------------------------------------------------------------

    def step(self, t: float) -> list[Run]:
        """Apply the time rules; returns runs that finished (done) at ``t``."""
        lim = self.limits
        finished = []
        for side, run in list(self.runs.items()):
            if run.stop_at is None:
                end = run.start + run.duration_s
                if t >= end:
                    self._release(run, end, "completed")
                elif self._stale(t):
                    stale_at = max(run.start, self.last_perception + lim.perception_timeout_s) \
                        if self.last_perception is not None else run.start
                    self._release(run, min(t, stale_at), "fault: stale perception")
            if run.stop_at is not None and t >= run.stop_at + lim.release_s:
                run.done = True
            if run.done:
                finished.append(run)
                del self.runs[side]
        return finished

    def level(self, side: str, t: float) -> float:
        run = self.runs.get(side)
        return 0.0 if run is None else run.level(t, self.limits.ramp_s, self.limits.release_s)

    def state(self, run: Run, t: float) -> str:
        if run.done:
            return "stopped"
        if run.stop_at is not None:
            return "releasing"
        return "ramping" if run.level(t, self.limits.ramp_s, 0.0) < run.target else "assisting"

    # -- internals ---------------------------------------------------------------------

    def _stale(self, t: float) -> bool:
        return (self.last_perception is None
                or t - self.last_perception > self.limits.perception_timeout_s)

    def _release(self, run: Run, at: float, reason: str) -> None:
        if run.done or run.stop_at is not None:
            return
        lim = self.limits
        run.stop_level = run.level(at, lim.ramp_s, lim.release_s)
        run.stop_at, run.outcome = at, reason
        if lim.release_s <= 0 or run.stop_level <= 0:
            run.done = True

    def _cut(self, run: Run, reason: str) -> None:
        if run.done:
            return
        run.done, run.outcome = True, reason
        if run.stop_at is None:
            run.stop_at = -math.inf
