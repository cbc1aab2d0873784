"""SIMULATED exoskeleton controller: an ExoAssist action server with no hardware behind it.

For tests, demos and the exo_assist node's bring-up without a device. It
enforces the controller-side safety layer of ``ExoControllerBase`` (level
cap, mandatory finite duration, perception watchdog, signed goals only,
latched e-stop, stop within one control period) and behaves like a compliant
controller: the applied level ramps up over ``ramp_s`` ("ramping"), holds
("assisting") until the goal's (clamped) ``max_duration_s`` or a cancel, then
ramps down over ``release_s`` ("releasing"); an e-stop or a fault cuts it at
once. Feedback every control period. Faults are injected by parameter:
``fault`` = "none", "reject" (refuses every goal) or "overcurrent" (aborts
``fault_after_s`` into an assist with "fault: overcurrent").

``applied`` holds the level currently applied per side, ``level_trace`` the
(monotonic time, side, level) of every change, for tests and benchmarks.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from rehab_assist.exo_controller_base import ExoControllerBase
from rehab_assist.exo_controller_config import CONTROLLER_PARAMS, ControllerConfig
from rehab_core.assist import Run
from rehab_interfaces.action import ExoAssist
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

FAULTS = ("none", "reject", "overcurrent")


@dataclass(frozen=True)
class ExoSimulatorConfig(ControllerConfig):
    fault: str
    fault_after_s: float


class ExoSimulatorNode(ExoControllerBase):
    DEFAULT_NAME = "exo_simulator"
    Config = ExoSimulatorConfig
    PARAMS = (
        *CONTROLLER_PARAMS,
        ParamSpec("ramp_s", 0.2, "time to ramp up to the requested level", 0.0, 5.0),
        ParamSpec("release_s", 0.15, "time to ramp back to zero", 0.0, 5.0),
        ParamSpec("fault", "none", "injected fault", choices=FAULTS),
        ParamSpec("fault_after_s", 0.1, "overcurrent fault this long into an assist", 0.0, 60.0),
    )

    def configure(self, cfg: ExoSimulatorConfig) -> None:
        super().configure(cfg)
        self.applied = {"left": 0.0, "right": 0.0}
        self.level_trace: collections.deque[tuple[float, str, float]] = collections.deque(
            maxlen=10000)

    def reject_reason(self, goal: ExoAssist.Goal) -> str | None:
        return "injected fault: reject" if self.config.fault == "reject" else None

    def check_run(self, run: Run, t: float) -> str | None:
        cfg = self.config
        if cfg.fault == "overcurrent" and t - run.start >= cfg.fault_after_s:
            return "fault: overcurrent"
        return None

    def output(self, run: Run, level: float, state: str, t: float) -> None:
        self._apply(run.side, level, t)
        handle = self.handle_of(run)
        if handle is not None:
            handle.publish_feedback(ExoAssist.Feedback(
                elapsed_s=float(max(0.0, t - run.start)), applied_level=float(level),
                state=state))

    def cut_all(self, t: float) -> None:
        for side in self.applied:
            self._apply(side, 0.0, t)

    def stopped(self, run: Run, hard: bool, t: float) -> None:
        if hard:
            self._apply(run.side, 0.0, t)

    def _apply(self, side: str, level: float, t: float) -> None:
        if self.applied.get(side) != level:
            self.applied[side] = level
            self.level_trace.append((t, side, level))


main = main_for(ExoSimulatorNode)
