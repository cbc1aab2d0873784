"""SIMULATED exoskeleton controller: an ExoAssist action server with no hardware behind it.

For tests, demos and the exo_assist node's bring-up without a device. It
behaves like a compliant controller: the applied level ramps up over
``ramp_s`` ("ramping"), holds ("assisting") until the goal's
``max_duration_s`` or a cancel, then ramps down over ``release_s``
("releasing"). Feedback at ``feedback_hz``. Faults are injected by
parameter: ``fault`` = "none", "reject" (refuses every goal) or
"overcurrent" (aborts ``fault_after_s`` into an assist with
"fault: overcurrent"). Levels above ``max_level`` are rejected.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup

from rehab_interfaces.action import ExoAssist
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for

FAULTS = ("none", "reject", "overcurrent")


@dataclass(frozen=True)
class ExoSimulatorConfig:
    ramp_s: float
    release_s: float
    feedback_hz: float
    max_level: float
    fault: str
    fault_after_s: float


class ExoSimulatorNode(LifecycleComponent):
    DEFAULT_NAME = "exo_simulator"
    Config = ExoSimulatorConfig
    PARAMS = (
        ParamSpec("ramp_s", 0.2, "time to ramp up to the requested level", 0.0, 5.0),
        ParamSpec("release_s", 0.15, "time to ramp back to zero", 0.0, 5.0),
        ParamSpec("feedback_hz", 50.0, "feedback rate", 1.0, 1000.0),
        ParamSpec("max_level", 1.0, "goals above this level are rejected", 0.0, 1.0),
        ParamSpec("fault", "none", "injected fault", choices=FAULTS),
        ParamSpec("fault_after_s", 0.1, "overcurrent fault this long into an assist", 0.0, 60.0),
    )

    def configure(self, cfg: ExoSimulatorConfig) -> None:
        self.goals_received: list[tuple[float, str, float]] = []  # (monotonic, side, level)
        self.server = ActionServer(
            self, ExoAssist, "exo_assist", execute_callback=self._execute,
            goal_callback=self._on_goal, cancel_callback=lambda _g: CancelResponse.ACCEPT,
            callback_group=ReentrantCallbackGroup())

    def cleanup(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.destroy()
            self.server = None

    def _on_goal(self, goal: ExoAssist.Goal) -> GoalResponse:
        self.goals_received.append((time.monotonic(), goal.side, float(goal.assist_level)))
        cfg = self.config
        why = None
        if not self.is_active:
            why = "controller inactive"
        elif cfg.fault == "reject":
            why = "injected fault: reject"
        elif goal.side not in ("left", "right"):
            why = f"unknown side {goal.side!r}"
        elif not 0.0 <= goal.assist_level <= cfg.max_level:
            why = f"level {goal.assist_level:.3f} outside [0, {cfg.max_level}]"
        if why:
            self.get_logger().warn(f"goal rejected: {why}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _execute(self, handle) -> ExoAssist.Result:
        goal, cfg = handle.request, self.config
        target = float(goal.assist_level) if goal.mode == ExoAssist.Goal.MODE_ASSIST else 0.0
        period = 1.0 / cfg.feedback_hz
        start = time.monotonic()
        level, reason, success = 0.0, "completed", True
        while True:
            elapsed = time.monotonic() - start
            if handle.is_cancel_requested:
                reason, success = "canceled", False
                break
            if not self.is_active:
                reason, success = "fault: controller deactivated", False
                break
            if cfg.fault == "overcurrent" and elapsed >= cfg.fault_after_s:
                reason, success = "fault: overcurrent", False
                break
            if goal.max_duration_s > 0 and elapsed >= goal.max_duration_s:
                break
            level = target * min(1.0, elapsed / cfg.ramp_s) if cfg.ramp_s > 0 else target
            state = "ramping" if level < target else "assisting"
            handle.publish_feedback(ExoAssist.Feedback(
                elapsed_s=float(elapsed), applied_level=float(level), state=state))
            time.sleep(period)
        self._ramp_down(handle, level, start)
        duration = time.monotonic() - start
        result = ExoAssist.Result(success=success, reason=reason, duration_s=float(duration))
        if success:
            handle.succeed()
        elif reason == "canceled":
            handle.canceled()
        else:
            handle.abort()
        return result

    def _ramp_down(self, handle, level: float, start: float) -> None:
        """Ramp down (a real controller never drops torque as a step)."""
        cfg = self.config
        if level <= 0 or cfg.release_s <= 0 or cfg.fault == "overcurrent":
            return  # a fault cuts power at once
        t0 = time.monotonic()
        while (dt := time.monotonic() - t0) < cfg.release_s:
            handle.publish_feedback(ExoAssist.Feedback(
                elapsed_s=float(time.monotonic() - start),
                applied_level=float(level * (1 - dt / cfg.release_s)), state="releasing"))
            time.sleep(1.0 / cfg.feedback_hz)


main = main_for(ExoSimulatorNode)
