"""Safety policy that turns per-side reach states into exoskeleton assist / cancel commands.

Why a pure state machine: the rules that decide when a motor pushes an
infant's arm must be testable exhaustively without ROS or hardware. The ROS
node only forwards reach states and time, and executes the commands.

Rules (times in seconds of the caller's clock, durations configured in ms):

* **Onset**: a side is armed by a confident (``confidence >= min_confidence``)
  ONSET or REACH frame and fires ``assist`` once ``debounce_frames``
  consecutive confident reach frames spanning at least ``debounce_ms`` were
  seen. Any other frame (NO_REACH, OFFSET, low confidence) disarms it.
* **Level**: ``assist_level`` clamped to ``[0, max_assist_level]``; nothing
  the policy emits ever exceeds ``max_assist_level``.
* **Stop**: OFFSET (object reached) or NO_REACH (reach abandoned) cancels the
  side at once, whatever the confidence: stopping is always the safe
  direction, so it is never debounced.
* **Max duration**: an assist older than ``max_assist_ms`` is cancelled.
* **Refractory**: a side that stopped assisting cannot be assisted again for
  ``refractory_ms`` and not before it was seen in NO_REACH (re-armed), so one
  long reach never yields a train of assists.
* **Emergency stop**: cancels every side and blocks new assists until
  ``reset_emergency_stop``.
* **Watchdog**: no reach state at all for ``stale_after_ms`` cancels every
  side; a side with no state of its own for that long is cancelled too.
* **Deactivate**: cancels every side (safe state).

Every emitted command and every safety event is appended to ``log`` with its
time and reason.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import IntEnum

from rehab_core.errors import ConfigError

ASSIST = "assist"
CANCEL = "cancel"
SIDES = ("left", "right")


class Phase(IntEnum):
    """Reach phases, numbered as in rehab_interfaces/ReachState."""

    NO_REACH = 0
    ONSET = 1
    REACH = 2
    OFFSET = 3


@dataclass(frozen=True)
class ExoPolicyConfig:
    """Thresholds of the safety policy (see the module docstring for each rule)."""

    min_confidence: float = 0.6
    debounce_frames: int = 2
    debounce_ms: float = 0.0
    assist_level: float = 0.5
    max_assist_level: float = 0.8
    refractory_ms: float = 1000.0
    max_assist_ms: float = 3000.0
    stale_after_ms: float = 300.0
    sides: tuple[str, ...] = SIDES

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.debounce_frames < 1:
            raise ConfigError(f"debounce_frames must be >= 1, got {self.debounce_frames}")
        if not 0.0 <= self.max_assist_level <= 1.0:
            raise ConfigError(f"max_assist_level must be in [0, 1], got {self.max_assist_level}")
        if not math.isfinite(self.assist_level) or self.assist_level < 0.0:
            raise ConfigError(f"assist_level must be a finite value >= 0, got {self.assist_level}")
        for name in ("debounce_ms", "refractory_ms"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_assist_ms", "stale_after_ms"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.sides or len(set(self.sides)) != len(self.sides):
            raise ConfigError(f"sides must be distinct and non-empty, got {self.sides}")

    @property
    def level(self) -> float:
        """The level every assist uses: the requested one, clamped to the maximum."""
        return min(max(self.assist_level, 0.0), self.max_assist_level)


@dataclass(frozen=True)
class ExoCommand:
    """One decision of the policy (``command`` is "assist", "cancel" or a safety event)."""

    t: float
    command: str
    side: str
    level: float
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Side:
    armed_since: float | None = None
    armed_frames: int = 0
    assisting_since: float | None = None
    blocked_until: float = -math.inf
    needs_rearm: bool = False
    last_seen: float | None = None


@dataclass
class ExoPolicy:
    """The state machine; feed ``update`` per reach state and ``tick`` periodically."""

    config: ExoPolicyConfig = field(default_factory=ExoPolicyConfig)
    log: list[ExoCommand] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sides = {s: _Side() for s in self.config.sides}
        self.estopped = False
        self._last_state_t: float | None = None

    # -- queries ------------------------------------------------------------------------

    def assisting(self, side: str) -> bool:
        return self._side(side).assisting_since is not None

    @property
    def active_sides(self) -> list[str]:
        return [s for s, st in self._sides.items() if st.assisting_since is not None]

    # -- inputs -------------------------------------------------------------------------

    def update(self, t: float, side: str, phase: int, confidence: float) -> list[ExoCommand]:
        """One reach state of ``side`` at time ``t``; returns the commands to execute."""
        st = self._side(side)
        phase = Phase(int(phase))
        confidence = float(confidence) if math.isfinite(confidence) else 0.0
        out = self.tick(t)
        self._last_state_t = t
        st.last_seen = t
        cfg = self.config
        if st.assisting_since is not None:
            if phase == Phase.OFFSET:
                out.append(self._cancel(t, side, "reach offset: object reached"))
            elif phase == Phase.NO_REACH:
                out.append(self._cancel(t, side, "reach abandoned: back to NO_REACH"))
            return out
        if phase == Phase.NO_REACH:
            st.needs_rearm = False
        confident_reach = phase in (Phase.ONSET, Phase.REACH) and confidence >= cfg.min_confidence
        if not confident_reach:
            st.armed_since, st.armed_frames = None, 0
            return out
        if st.armed_since is None:
            st.armed_since = t
        st.armed_frames += 1
        debounced = (
            st.armed_frames >= cfg.debounce_frames
            and (t - st.armed_since) * 1000.0 >= cfg.debounce_ms
        )
        if not debounced or self.estopped or st.needs_rearm or t < st.blocked_until:
            return out
        st.armed_since, st.armed_frames = None, 0
        st.assisting_since = t
        out.append(self._record(
            t, ASSIST, side, cfg.level,
            f"reach onset: {phase.name} conf {confidence:.2f} debounced",
        ))
        return out

    def tick(self, t: float) -> list[ExoCommand]:
        """Time-based rules: maximum assist duration and the perception watchdog."""
        out: list[ExoCommand] = []
        cfg = self.config
        stale_s = cfg.stale_after_ms / 1000.0
        all_stale = self._last_state_t is not None and t - self._last_state_t > stale_s
        for side, st in self._sides.items():
            if st.assisting_since is None:
                continue
            if (t - st.assisting_since) * 1000.0 >= cfg.max_assist_ms:
                out.append(self._cancel(t, side, f"max assist duration {cfg.max_assist_ms:.0f} ms"))
            elif all_stale:
                out.append(self._cancel(t, side, f"stale perception: no reach state for "
                                                 f"{(t - self._last_state_t) * 1000:.0f} ms"))
            elif st.last_seen is not None and t - st.last_seen > stale_s:
                out.append(self._cancel(t, side, f"stale perception: no {side} reach state for "
                                                 f"{(t - st.last_seen) * 1000:.0f} ms"))
        return out

    def emergency_stop(self, t: float, reason: str = "emergency stop") -> list[ExoCommand]:
        """Cancel everything and refuse new assists until ``reset_emergency_stop``."""
        if not self.estopped:
            self._record(t, "emergency_stop", "", 0.0, reason)
        self.estopped = True
        return [self._cancel(t, s, f"emergency stop: {reason}") for s in self.active_sides]

    def reset_emergency_stop(self, t: float, reason: str = "operator reset") -> bool:
        """Allow assists again (each side must first be seen in NO_REACH); False if not stopped."""
        if not self.estopped:
            return False
        self.estopped = False
        for st in self._sides.values():
            st.needs_rearm = True
            st.armed_since, st.armed_frames = None, 0
        self._record(t, "reset_emergency_stop", "", 0.0, reason)
        return True

    def deactivate(self, t: float, reason: str = "deactivated") -> list[ExoCommand]:
        """Safe state: cancel every side and forget armed onsets."""
        out = [self._cancel(t, s, f"safe state: {reason}") for s in self.active_sides]
        for st in self._sides.values():
            st.armed_since, st.armed_frames = None, 0
            st.needs_rearm = True
        self._last_state_t = None
        return out

    def controller_ended(self, t: float, side: str, reason: str) -> None:
        """The controller ended the assist itself (completed, fault, rejected)."""
        st = self._side(side)
        if st.assisting_since is None:
            return
        self._stop(t, st)
        self._record(t, "controller_ended", side, 0.0, reason)

    # -- internals ----------------------------------------------------------------------

    def _side(self, side: str) -> _Side:
        try:
            return self._sides[side]
        except KeyError:
            raise ConfigError(
                f"unknown side {side!r}; this policy handles {list(self._sides)}"
            ) from None

    def _stop(self, t: float, st: _Side) -> None:
        st.assisting_since = None
        st.blocked_until = t + self.config.refractory_ms / 1000.0
        st.needs_rearm = True
        st.armed_since, st.armed_frames = None, 0

    def _cancel(self, t: float, side: str, reason: str) -> ExoCommand:
        self._stop(t, self._sides[side])
        return self._record(t, CANCEL, side, 0.0, reason)

    def _record(self, t: float, command: str, side: str, level: float, reason: str) -> ExoCommand:
        cmd = ExoCommand(float(t), command, side, float(level), reason)
        self.log.append(cmd)
        return cmd
