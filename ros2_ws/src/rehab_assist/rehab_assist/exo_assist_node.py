"""Exoskeleton assistance: reach states in, ExoAssist goals out, through the safety policy.

``reach_state`` (ReachState, one per side per frame) feeds
``rehab_core.assist.ExoPolicy``; its commands become ExoAssist goals
(``assist``) or goal cancels (``cancel``) on the controller's action server
(``exo_assist``: the real controller, ``joint_trajectory_adapter`` or
``exo_simulator``). ``emergency_stop`` (std_msgs/Bool, true = stop; subscribed
best-effort so reliable and best-effort publishers both reach it) cancels
everything and blocks new goals until an operator calls
``~/reset_emergency_stop`` (rehab_interfaces/ResetEmergencyStop) with the
token in ``operator_token_file``; the latch is kept in ``estop_latch_file``
so a restart does not release it. Deactivating the node cancels every goal
(safe state). Every command is logged with its reason and published as JSON
on ``exo_commands`` (std_msgs/String) for the session record.

Who may command (docs/security.md): goals are signed (HMAC) with the key in
``goal_key_file``, which the controller verifies. A cancel that the
controller does not confirm (result) within ``cancel_confirm_ms`` escalates
to an emergency stop published on ``emergency_stop`` (the controller
subscribes to it too). Onsets only arm the policy when the ReachState is
plausible (finite confidence in [0, 1] that matches its scores), its stamp
moves forward per side, and (``max_stamp_age_ms`` > 0) it is recent on this
node's clock; stop frames (OFFSET, NO_REACH) are always honoured.

Timing: the policy runs on receipt time (monotonic clock), not on message
stamps, because its watchdog and durations protect a live patient.
``reaction_ms`` keeps, per assist, the time from receiving the deciding
ReachState to the goal being handed to the action client.
"""

from __future__ import annotations

import collections
import json
import math
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, String

from rehab_assist.exo_controller_base import ESTOP_QOS, log_reset
from rehab_core.assist import (
    EstopLatch,
    ExoCommand,
    ExoPolicy,
    ExoPolicyConfig,
    GoalSigner,
    Phase,
    load_or_create_key,
    read_secret,
    token_matches,
)
from rehab_core.reach.state import ReachState
from rehab_interfaces.action import ExoAssist
from rehab_interfaces.srv import ResetEmergencyStop
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class ExoAssistConfig:
    min_confidence: float
    debounce_frames: int
    debounce_ms: float
    assist_level: float
    max_assist_level: float
    refractory_ms: float
    max_assist_ms: float
    stale_after_ms: float
    watchdog_hz: float
    cancel_confirm_ms: float
    max_stamp_age_ms: float
    goal_key_file: str
    operator_token_file: str
    estop_latch_file: str


def gate_input(state: ReachState) -> tuple[Phase, float]:
    """(phase, confidence) the policy's ``min_confidence`` gate reads: P(reported phase)."""
    return Phase(state.phase.number), float(state.confidence)


class ExoAssistNode(LifecycleComponent):
    DEFAULT_NAME = "exo_assist"
    Config = ExoAssistConfig
    PARAMS = (
        ParamSpec("min_confidence", 0.6, "reach confidence needed to assist", 0.0, 1.0),
        ParamSpec("debounce_frames", 2, "consecutive confident reach frames before assisting",
                  1, 30),
        ParamSpec("debounce_ms", 0.0, "and at least this long", 0.0, 2000.0),
        ParamSpec("assist_level", 0.5, "requested assist level (0..1 of the controller's max)",
                  0.0, 1.0),
        ParamSpec("max_assist_level", 0.8, "hard cap on any level sent", 0.0, 1.0),
        ParamSpec("refractory_ms", 1000.0, "no new assist on a side this soon after one",
                  0.0, 60000.0),
        ParamSpec("max_assist_ms", 3000.0, "an assist is cancelled after this long", 1.0, 60000.0),
        ParamSpec("stale_after_ms", 300.0, "no reach state this long cancels everything",
                  10.0, 10000.0),
        ParamSpec("watchdog_hz", 50.0, "rate of the duration / watchdog checks", 1.0, 1000.0),
        ParamSpec("cancel_confirm_ms", 600.0, "a cancel the controller has not confirmed by "
                  "then escalates to an emergency stop", 10.0, 10000.0),
        ParamSpec("max_stamp_age_ms", 1000.0, "onsets stamped further than this from the node "
                  "clock are ignored (0 = off, for replays without sim time)", 0.0, 60000.0),
        ParamSpec("goal_key_file", "~/.config/rehab/exo_goal.key", "shared HMAC key the "
                  "controller verifies (created, random, mode 0600, when missing)"),
        ParamSpec("operator_token_file", "~/.config/rehab/operator.token", "operator token "
                  "that ~/reset_emergency_stop requires (never created: no file, no reset)"),
        ParamSpec("estop_latch_file", "~/.local/state/rehab/exo_assist.estop",
                  "keeps the e-stop latched across restarts"),
    )

    def configure(self, cfg: ExoAssistConfig) -> None:
        self.policy = ExoPolicy(ExoPolicyConfig(
            min_confidence=cfg.min_confidence, debounce_frames=cfg.debounce_frames,
            debounce_ms=cfg.debounce_ms, assist_level=cfg.assist_level,
            max_assist_level=cfg.max_assist_level, refractory_ms=cfg.refractory_ms,
            max_assist_ms=cfg.max_assist_ms, stale_after_ms=cfg.stale_after_ms))
        self.reaction_ms: list[float] = []
        self.controller_results: list[tuple[str, bool, str]] = []
        self.ignored_onsets: collections.Counter[str] = collections.Counter()
        self._plock = threading.RLock()
        self._goals: dict[str, dict] = {}  # side -> {"future", "handle", "cancel", "cancel_at"}
        self._last_stamp: dict[str, int] = {}
        self.signer = GoalSigner(load_or_create_key(cfg.goal_key_file))
        self.operator_token = None
        if Path(cfg.operator_token_file).expanduser().exists():
            self.operator_token = read_secret(cfg.operator_token_file, "operator token")
        self.latch = EstopLatch(cfg.estop_latch_file)
        if self.latch.engaged:
            self.policy.emergency_stop(time.monotonic(), f"latched before a restart: "
                                                         f"{self.latch.reason}")
            self.get_logger().error("EMERGENCY STOP still latched; an operator must reset it")
        self._group = ReentrantCallbackGroup()
        self._safety = MutuallyExclusiveCallbackGroup()
        deep = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # no lost replies
        self.client = ActionClient(self, ExoAssist, "exo_assist", callback_group=self._group,
                                   goal_service_qos_profile=deep, cancel_service_qos_profile=deep,
                                   result_service_qos_profile=deep)
        self.pub_commands = self.create_publisher(String, "exo_commands", 50)
        self.pub_estop = self.create_publisher(Bool, "emergency_stop", 10)
        self.reset_srv = self.create_service(ResetEmergencyStop, "~/reset_emergency_stop",
                                             self._on_reset, callback_group=self._safety)

    def activate(self) -> None:
        self.create_input("reach_state", codecs.REACH, self._on_reach, check_stamps=False)
        self._estop_sub = self.create_subscription(Bool, "emergency_stop", self._on_estop,
                                                   ESTOP_QOS, callback_group=self._safety)
        self.create_component_timer(1.0 / self.config.watchdog_hz, self._on_timer)

    def deactivate(self) -> None:
        if getattr(self, "_estop_sub", None) is not None:
            self.destroy_subscription(self._estop_sub)
            self._estop_sub = None
        with self._plock:
            self._execute(self.policy.deactivate(time.monotonic()), time.perf_counter())

    def cleanup(self) -> None:
        for name in ("client", "pub_commands", "pub_estop", "reset_srv"):
            obj = getattr(self, name, None)
            if obj is None:
                continue
            if name == "client":
                obj.destroy()
            elif name.startswith("pub_"):
                self.destroy_publisher(obj)
            else:
                self.destroy_service(obj)
            setattr(self, name, None)

    # -- inputs ------------------------------------------------------------------------

    def _on_reach(self, p: codecs.ReachPayload) -> None:
        received = time.perf_counter()
        s = p.state
        phase, confidence = gate_input(s)
        if phase in (Phase.ONSET, Phase.REACH):
            why = self._implausible(s, int(p.stamp_ns))
            if why:  # never arms the policy; it still counts as "seen" for the watchdog
                self.ignored_onsets[re.sub(r"-?\d+(\.\d+)?", "#", why)] += 1
                self.get_logger().warning(f"reach onset ignored: {why}", throttle_duration_sec=2.0)
                confidence = 0.0
        elif self._clock_ok(int(p.stamp_ns)):  # stop frames move the stream's stamp too
            self._last_stamp[s.side] = max(int(p.stamp_ns), self._last_stamp.get(s.side, 0))
        with self._plock:
            cmds = self.policy.update(time.monotonic(), s.side, int(phase), confidence)
            self._execute(cmds, received)

    def _implausible(self, s, stamp: int) -> str | None:
        """Why an onset/reach frame must not arm an assist (None: fresh and plausible)."""
        scores = s.phase_scores()  # [NO_REACH, ONSET, REACH, OFFSET]
        if not (math.isfinite(s.confidence) and 0.0 <= s.confidence <= 1.0):
            return f"confidence {s.confidence} outside [0, 1]"
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in scores):
            return "scores not finite probabilities"
        if any(scores) and abs(scores[s.phase.number] - s.confidence) > 0.05:
            return "confidence does not match the scores"
        if not self._clock_ok(stamp):
            age_ms = (self.get_clock().now().nanoseconds - stamp) / 1e6
            return f"stamp {age_ms:.0f} ms off this node's clock"
        last = self._last_stamp.get(s.side)
        if last is not None and stamp <= last:
            return "stamp not newer than the previous one of this side"
        self._last_stamp[s.side] = stamp  # only plausible frames move it (no poisoning)
        return None

    def _clock_ok(self, stamp: int) -> bool:
        max_age = self.config.max_stamp_age_ms
        return max_age <= 0 or abs(self.get_clock().now().nanoseconds - stamp) / 1e6 <= max_age

    def _on_timer(self) -> None:
        now = time.monotonic()
        with self._plock:
            self._execute(self.policy.tick(now), time.perf_counter())
            limit = self.config.cancel_confirm_ms / 1000.0
            late = [side for side, e in self._goals.items()
                    if e.get("cancel_at") is not None and now - e["cancel_at"] > limit]
        if late:
            self.get_logger().error(f"controller did not confirm the cancel on {late} within "
                                    f"{self.config.cancel_confirm_ms:.0f} ms: EMERGENCY STOP")
            self._emergency_stop(f"cancel not confirmed on {', '.join(late)}")
            self.pub_estop.publish(Bool(data=True))
            with self._plock:
                for side in late:
                    self._goals[side]["cancel_at"] = None

    def _on_estop(self, msg: Bool) -> None:
        if msg.data:
            self._emergency_stop("emergency_stop topic")

    def _emergency_stop(self, reason: str) -> None:
        with self._plock:
            was = self.policy.estopped
            if not self.latch.engaged:
                self.latch.engage(reason)
            self._execute(self.policy.emergency_stop(time.monotonic(), reason),
                          time.perf_counter())
        if not was:
            self.get_logger().error("EMERGENCY STOP: all assistance cancelled until reset")

    def _on_reset(self, req: ResetEmergencyStop.Request, resp: ResetEmergencyStop.Response
                  ) -> ResetEmergencyStop.Response:
        if not token_matches(self.operator_token, req.token):
            resp.success, resp.message = False, "refused: operator token missing or wrong"
        else:
            with self._plock:
                resp.success = self.policy.reset_emergency_stop(
                    time.monotonic(), f"operator reset by {req.operator_id or '(anonymous)'}")
                if resp.success:
                    self.latch.release()
            resp.message = ("emergency stop reset; each side must rest before the next assist"
                            if resp.success else "no emergency stop was active")
        log_reset(self.get_logger(), req, resp)
        return resp

    # -- commands ----------------------------------------------------------------------

    def _execute(self, cmds: list[ExoCommand], received: float) -> None:
        for cmd in cmds:
            self._log(cmd)
            if cmd.command == "assist":
                self._send_assist(cmd, received)
            elif cmd.command == "cancel":
                self._send_cancel(cmd.side)

    def _log(self, cmd: ExoCommand) -> None:
        self.get_logger().info(
            f"{cmd.command} {cmd.side} level={cmd.level:.2f}: {cmd.reason}")
        if self.pub_commands is not None:
            self.pub_commands.publish(String(data=json.dumps(cmd.to_dict())))

    def _send_assist(self, cmd: ExoCommand, received: float) -> None:
        level = min(cmd.level, self.config.max_assist_level)  # belt and braces
        goal = ExoAssist.Goal(side=cmd.side, assist_level=float(level),
                              mode=ExoAssist.Goal.MODE_ASSIST,
                              max_duration_s=float(self.config.max_assist_ms / 1000.0))
        goal.stamp_ns, goal.signature = self.signer.sign(goal.side, goal.assist_level, goal.mode,
                                                         goal.max_duration_s)
        if not self.client.server_is_ready():
            self.policy.controller_ended(time.monotonic(), cmd.side,
                                         "fault: controller action server unavailable")
            self.get_logger().error("assist not sent: no exo_assist action server")
            return
        future = self.client.send_goal_async(goal)
        self.reaction_ms.append((time.perf_counter() - received) * 1000.0)
        entry = {"future": future, "handle": None, "cancel": False, "cancel_at": None}
        self._goals[cmd.side] = entry
        future.add_done_callback(lambda f, side=cmd.side, e=entry: self._on_goal_response(
            side, e, f))

    def _send_cancel(self, side: str) -> None:
        entry = self._goals.get(side)
        if entry is None:
            return
        entry["cancel"] = True
        if entry["cancel_at"] is None:
            entry["cancel_at"] = time.monotonic()
        if entry["handle"] is not None:
            entry["handle"].cancel_goal_async()

    def _on_goal_response(self, side: str, entry: dict, future) -> None:
        handle = future.result()
        with self._plock:
            if not handle.accepted:
                self._controller_ended(side, entry, False, "rejected by the controller")
                return
            entry["handle"] = handle
            if entry["cancel"]:
                handle.cancel_goal_async()
        handle.get_result_async().add_done_callback(
            lambda f: self._on_result(side, entry, f))

    def _on_result(self, side: str, entry: dict, future) -> None:
        res = future.result().result
        with self._plock:
            self._controller_ended(side, entry, res.success, res.reason)

    def _controller_ended(self, side: str, entry: dict, success: bool, reason: str) -> None:
        self.controller_results.append((side, success, reason))
        if reason.startswith("fault") or "rejected" in reason:
            self.get_logger().error(f"exo controller on {side}: {reason}")
        if self._goals.get(side) is entry:
            del self._goals[side]
            if self.policy.assisting(side):
                self.policy.controller_ended(time.monotonic(), side, reason)
                self._log(self.policy.log[-1])


main = main_for(ExoAssistNode)
