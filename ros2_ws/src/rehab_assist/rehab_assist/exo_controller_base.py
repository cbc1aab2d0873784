"""Base of every exoskeleton controller node: the controller-side safety layer over ROS.

Why a base: the simulator and the ros2_control adapter must enforce the same
limits whatever a goal says (``rehab_core.assist.ExoController``: level cap,
mandatory finite duration, perception watchdog, one goal per side, latched
e-stop persisted in ``estop_latch_file``), accept only goals signed with the
shared goal key, and stop within one control period of an e-stop or cancel.

How nothing blocks: no goal owns a thread. An accepted goal is only recorded
(``handle_accepted_callback``); a timer (``control_hz``) advances every run
and publishes the outputs; when a run ends, its handle is executed with a
callback that returns the result at once. A cancel or an e-stop applies the
stop in its own callback (cancel: in the action server's callback; e-stop:
a subscription on a node and thread of its own (``<name>_estop``), which
first zeroes every output through ``cut_all`` without waiting for any lock),
not at the next tick.
``emergency_stop`` is subscribed best-effort, which matches reliable and
best-effort publishers alike. Goal requests queue in a reliable service
reader of depth ``goal_queue_depth``; each is answered at once (accepted or
rejected with the reason logged and counted in ``rejections``).

Subclasses implement ``output(run, level, state, t)`` (apply one run's level),
``stopped(run, hard, t)`` (the run's stop began: ``hard`` means cut at once:
e-stop or fault) and ``cut_all(t)`` (zero every output now, e-stop).
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool

from rehab_assist.exo_controller_config import ControllerConfig
from rehab_core.assist import (
    ControllerLimits,
    EstopLatch,
    ExoController,
    GoalVerifier,
    Run,
    load_or_create_key,
    read_secret,
    token_matches,
)
from rehab_interfaces.action import ExoAssist
from rehab_interfaces.srv import ResetEmergencyStop
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent

ESTOP_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)


def log_reset(logger, req: ResetEmergencyStop.Request,
              resp: ResetEmergencyStop.Response) -> None:
    """Who asked for an e-stop reset and what came of it: a warning when it was reset."""
    text = f"reset_emergency_stop by {req.operator_id or '(anonymous)'}: {resp.message}"
    if resp.success:
        logger.warning(text)
    else:
        logger.error(text)


@dataclass
class _Goal:
    run: Run
    handle: object | None = None
    executed: bool = False


class ExoControllerBase(LifecycleComponent):
    """The controller-side safety layer; see the module docstring."""

    def limits(self, cfg: ControllerConfig) -> ControllerLimits:
        return ControllerLimits(max_level=cfg.max_level, max_duration_s=cfg.max_duration_s,
                                perception_timeout_s=cfg.perception_timeout_s,
                                ramp_s=cfg.ramp_s, release_s=cfg.release_s)

    def configure(self, cfg: ControllerConfig) -> None:
        latch_path = cfg.estop_latch_file or f"~/.local/state/rehab/{self.get_name()}.estop"
        self.ctl = ExoController(self.limits(cfg), EstopLatch(latch_path))
        self.verifier = GoalVerifier(load_or_create_key(cfg.goal_key_file),
                                     cfg.signature_window_s)
        self.operator_token = None
        if Path(cfg.operator_token_file).expanduser().exists():
            self.operator_token = read_secret(cfg.operator_token_file, "operator token")
        else:
            self.get_logger().warning(f"no operator token at {cfg.operator_token_file}: a latched "
                                   "emergency stop cannot be reset until one is written")
        if self.ctl.estopped:
            self.get_logger().error(f"EMERGENCY STOP still latched ({self.ctl.latch.reason}); "
                                    "an operator must reset it")
        self._clock_lock = threading.RLock()
        self._goals: dict[int, _Goal] = {}
        self._cut_now = False
        self._pending: dict[int, Run] = {}  # id(goal message) -> run, accept -> handle
        self._reporting: dict[int, Run] = {}  # id(handle) -> finished run, being reported
        self.rejections: collections.Counter[str] = collections.Counter()
        # bounded records for tests and benchmarks
        self.goals_received: collections.deque[tuple[float, str, float]] = collections.deque(
            maxlen=10000)  # (monotonic, side, level)
        self.stop_events: collections.deque[tuple[float, str, str]] = collections.deque(
            maxlen=10000)  # (monotonic, side, reason)
        self.estop_received: collections.deque[float] = collections.deque(maxlen=10000)
        self.safety_group = MutuallyExclusiveCallbackGroup()  # control loop, reset
        depth = cfg.goal_queue_depth
        queue = QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST,
                           reliability=ReliabilityPolicy.RELIABLE)
        self.server = ActionServer(
            self, ExoAssist, "exo_assist", execute_callback=self._finish,
            goal_callback=self._on_goal, cancel_callback=self._on_cancel,
            handle_accepted_callback=self._on_accepted, callback_group=ReentrantCallbackGroup(),
            goal_service_qos_profile=queue, cancel_service_qos_profile=queue,
            result_service_qos_profile=queue)
        # the e-stop has a node and a thread of its own: no executor load can queue it
        self._estop_node = rclpy.create_node(
            f"{self.get_name()}_estop", context=self.context, namespace=self.get_namespace(),
            start_parameter_services=False, cli_args=[
                "--ros-args", "-r", f"emergency_stop:={self.resolve_topic_name('emergency_stop')}"])
        self._estop_node.create_subscription(Bool, "emergency_stop", self._on_estop, ESTOP_QOS)
        self._estop_exec = SingleThreadedExecutor(context=self.context)
        self._estop_exec.add_node(self._estop_node)
        threading.Thread(target=self._spin_estop, args=(self._estop_exec,), daemon=True,
                         name=f"{self.get_name()}_estop").start()
        self.reset_srv = self.create_service(ResetEmergencyStop, "~/reset_emergency_stop",
                                             self._on_reset, callback_group=self.safety_group)

    def activate(self) -> None:
        self.create_input("reach_state", codecs.REACH, self._on_perception, check_stamps=False)
        period = 1.0 / self.config.control_hz
        self._timer = self.create_timer(period, self._tick, callback_group=self.safety_group)
        self._timers.append(self._timer)

    def deactivate(self) -> None:
        with self._clock_lock:
            self._end(self.ctl.shutdown(time.monotonic(), "controller deactivated"), hard=True)

    @staticmethod
    def _spin_estop(executor) -> None:
        with contextlib.suppress(ExternalShutdownException):  # the process is ending
            executor.spin()

    def cleanup(self) -> None:
        if getattr(self, "_estop_exec", None) is not None:
            self._estop_exec.shutdown()
            self._estop_node.destroy_node()
            self._estop_exec = self._estop_node = None
        for name, destroy in (("server", lambda o: o.destroy()),
                              ("reset_srv", self.destroy_service)):
            obj = getattr(self, name, None)
            if obj is not None:
                destroy(obj)
                setattr(self, name, None)

    # -- hooks -------------------------------------------------------------------------

    def reject_reason(self, goal: ExoAssist.Goal) -> str | None:
        """Extra refusals of a subclass (e.g. injected faults)."""
        return None

    def output(self, run: Run, level: float, state: str, t: float) -> None:
        """Apply ``level`` to ``run``'s side (called every control period)."""

    def stopped(self, run: Run, hard: bool, t: float) -> None:
        """The stop of ``run`` began (``hard``: cut at once)."""

    def cut_all(self, t: float) -> None:
        """Zero every output at once (e-stop); called before any bookkeeping or lock."""

    def check_run(self, run: Run, t: float) -> str | None:
        """A fault to inject into a running assist, or None."""
        return None

    # -- callbacks ---------------------------------------------------------------------

    def _on_perception(self, _p) -> None:
        with self._clock_lock:
            self.ctl.perception(time.monotonic())

    def _on_goal(self, goal: ExoAssist.Goal) -> GoalResponse:
        t = time.monotonic()
        self.goals_received.append((t, goal.side, float(goal.assist_level)))
        auth = self.verifier.check(goal.side, goal.assist_level, goal.mode, goal.max_duration_s,
                                   goal.stamp_ns, goal.signature)
        with self._clock_lock:
            extra = None if self.is_active else "controller inactive"
            extra = extra or self.reject_reason(goal)
            if extra:
                reason = f"rejected: {extra}"
            else:
                decision = self.ctl.request(t, goal.side, goal.assist_level, goal.mode,
                                            goal.max_duration_s, auth)
                reason = decision.reason
                if decision.accepted:
                    self._pending[id(goal)] = decision.run
                    self._goals[decision.run.id] = _Goal(decision.run)
        if not reason.startswith("accepted"):
            # counted per kind (numbers folded, so the counter stays small)
            self.rejections[re.sub(r"-?\d+(\.\d+)?", "#", reason.removeprefix("rejected: "))] += 1
            self.get_logger().warning(f"goal {goal.side} level {goal.assist_level:.2f} {reason}",
                                   throttle_duration_sec=1.0)
            return GoalResponse.REJECT
        if reason != "accepted":
            self.get_logger().warning(f"goal {goal.side}: {reason}")
        return GoalResponse.ACCEPT

    def _on_accepted(self, handle) -> None:
        with self._clock_lock:
            run = self._pending.pop(id(handle.request), None)
            entry = self._goals.get(run.id) if run is not None else None
            if entry is None:  # unknown (cannot happen) or already ended and reported
                handle.execute(self._finish)
                return
            entry.handle = handle
            if run.done:
                self._execute(entry)

    def _on_cancel(self, handle) -> CancelResponse:
        """Begin the release here and now; the next tick reports the result."""
        t = time.monotonic()
        with self._clock_lock:
            entry = next((e for e in self._goals.values() if e.handle is handle), None)
            if entry is not None and not entry.run.done and entry.run.stop_at is None:
                self.ctl.cancel(t, entry.run)
                self.stop_events.append((time.monotonic(), entry.run.side, "canceled"))
                self.stopped(entry.run, False, t)
                self._output(entry.run, entry.run.level(t, self.ctl.limits.ramp_s,
                                                       self.ctl.limits.release_s),
                            "releasing", t)
        return CancelResponse.ACCEPT

    def _on_estop(self, msg: Bool) -> None:
        if not msg.data:
            return  # releasing is the operator's job (~/reset_emergency_stop), never a topic's
        t = time.monotonic()
        self.estop_received.append(t)
        self._cut_now = True  # from here on every output is zero, whoever computes it
        self.cut_all(t)
        with self._clock_lock:
            was = self.ctl.estopped
            self._end(self.ctl.emergency_stop(time.monotonic(), "emergency_stop topic"),
                      hard=True)
            self._cut_now = False  # latched now: the controller accepts nothing until a reset
        if not was:
            self.get_logger().error("EMERGENCY STOP: assistance cut, latched until an operator "
                                    "resets it")

    def _on_reset(self, req: ResetEmergencyStop.Request, resp: ResetEmergencyStop.Response):
        with self._clock_lock:
            resp.success, resp.message = self.ctl.reset(token_matches(self.operator_token,
                                                                      req.token))
        log_reset(self.get_logger(), req, resp)
        return resp

    def _tick(self) -> None:
        t = time.monotonic()
        with self._clock_lock:
            for run in list(self.ctl.runs.values()):
                fault = self.check_run(run, t)
                if fault and not run.done:
                    self.ctl.fault(t, run, fault)
                    self.stop_events.append((time.monotonic(), run.side, fault))
                    self.stopped(run, True, t)
            before = {r.id: r.stop_at for r in self.ctl.runs.values()}
            ended = self.ctl.step(t)
            for run in self.ctl.runs.values():
                if before.get(run.id) is None and run.stop_at is not None:
                    self.stop_events.append((time.monotonic(), run.side, run.outcome))
                    self.stopped(run, False, t)
                self._output(run, self.ctl.level(run.side, t), self.ctl.state(run, t), t)
            for run in ended:
                if before.get(run.id) is None:
                    self.stop_events.append((time.monotonic(), run.side, run.outcome))
                    self.stopped(run, False, t)
                self._output(run, 0.0, "stopped", t)
                entry = self._goals.get(run.id)
                if entry is not None:
                    self._execute(entry)

    # -- internals ---------------------------------------------------------------------

    def _end(self, runs: list[Run], hard: bool) -> None:
        t = time.monotonic()
        for run in runs:
            self.stop_events.append((t, run.side, run.outcome))
            self.stopped(run, hard, t)
            self._output(run, 0.0, "stopped", t)
            entry = self._goals.get(run.id)
            if entry is not None:
                self._execute(entry)

    def _output(self, run: Run, level: float, state: str, t: float) -> None:
        if self._cut_now:
            level, state = 0.0, "stopped"
        self.output(run, level, state, t)

    def handle_of(self, run: Run):
        entry = self._goals.get(run.id)
        return None if entry is None else entry.handle

    def _execute(self, entry: _Goal) -> None:
        """Report a finished run (once its handle exists)."""
        if entry.handle is None or entry.executed:
            return
        entry.executed = True
        self._goals.pop(entry.run.id, None)
        self._reporting[id(entry.handle)] = entry.run
        entry.handle.execute(self._finish)

    def _finish(self, handle) -> ExoAssist.Result:
        """Execute callback: only ever called once the run is over; returns at once."""
        with self._clock_lock:
            run = self._reporting.pop(id(handle), None)
        outcome = run.outcome if run is not None else "fault: unknown goal"
        duration = 0.0 if run is None or run.stop_at is None or run.stop_at < run.start \
            else run.stop_at - run.start
        if run is not None and run.success:
            handle.succeed()
        elif handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return ExoAssist.Result(success=bool(run is not None and run.success), reason=outcome,
                                duration_s=float(duration))
