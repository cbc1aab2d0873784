"""Exoskeleton assistance: reach states in, ExoAssist goals out, through the safety policy.

``reach_state`` (ReachState, one per side per frame) feeds
``rehab_core.assist.ExoPolicy``; its commands become ExoAssist goals
(``assist``) or goal cancels (``cancel``) on the controller's action server
(``exo_assist``: the real controller, ``joint_trajectory_adapter`` or
``exo_simulator``). ``emergency_stop`` (std_msgs/Bool, true = stop) cancels
everything and blocks new goals until the ``~/reset_emergency_stop``
service (std_srvs/Trigger) is called. Deactivating the node cancels every
goal (safe state). Every command is logged with its reason and published as
JSON on ``exo_commands`` (std_msgs/String) for the session record.

Timing: the policy runs on receipt time (monotonic clock), not on message
stamps, because its watchdog and durations protect a live patient.
``reaction_ms`` keeps, per assist, the time from receiving the deciding
ReachState to the goal being handed to the action client.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from rehab_core.assist import ExoCommand, ExoPolicy, ExoPolicyConfig
from rehab_interfaces.action import ExoAssist
from rehab_perception import payloads
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for


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
    )

    def configure(self, cfg: ExoAssistConfig) -> None:
        self.policy = ExoPolicy(ExoPolicyConfig(
            min_confidence=cfg.min_confidence, debounce_frames=cfg.debounce_frames,
            debounce_ms=cfg.debounce_ms, assist_level=cfg.assist_level,
            max_assist_level=cfg.max_assist_level, refractory_ms=cfg.refractory_ms,
            max_assist_ms=cfg.max_assist_ms, stale_after_ms=cfg.stale_after_ms))
        self.reaction_ms: list[float] = []
        self.controller_results: list[tuple[str, bool, str]] = []
        self._plock = threading.RLock()
        self._goals: dict[str, dict] = {}  # side -> {"future", "handle", "cancel"}
        self._group = ReentrantCallbackGroup()
        self.client = ActionClient(self, ExoAssist, "exo_assist", callback_group=self._group)
        self.pub_commands = self.create_publisher(String, "exo_commands", 50)
        self.reset_srv = self.create_service(Trigger, "~/reset_emergency_stop", self._on_reset,
                                             callback_group=self._group)

    def activate(self) -> None:
        self.create_input("reach_state", payloads.REACH, self._on_reach, check_stamps=False)
        self._estop_sub = self.create_subscription(Bool, "emergency_stop", self._on_estop, 10,
                                                   callback_group=self._group)
        self.create_component_timer(1.0 / self.config.watchdog_hz, self._on_timer)

    def deactivate(self) -> None:
        if getattr(self, "_estop_sub", None) is not None:
            self.destroy_subscription(self._estop_sub)
            self._estop_sub = None
        with self._plock:
            self._execute(self.policy.deactivate(time.monotonic()), time.perf_counter())

    def cleanup(self) -> None:
        for name in ("client", "pub_commands", "reset_srv"):
            obj = getattr(self, name, None)
            if obj is None:
                continue
            if name == "client":
                obj.destroy()
            elif name == "pub_commands":
                self.destroy_publisher(obj)
            else:
                self.destroy_service(obj)
            setattr(self, name, None)

    # -- inputs ------------------------------------------------------------------------

    def _on_reach(self, p: payloads.ReachPayload) -> None:
        received = time.perf_counter()
        s = p.state
        with self._plock:
            cmds = self.policy.update(time.monotonic(), s.side, int(s.phase), float(s.confidence))
            self._execute(cmds, received)

    def _on_timer(self) -> None:
        with self._plock:
            self._execute(self.policy.tick(time.monotonic()), time.perf_counter())

    def _on_estop(self, msg: Bool) -> None:
        if msg.data:
            with self._plock:
                self._execute(self.policy.emergency_stop(time.monotonic(), "emergency_stop topic"),
                              time.perf_counter())
            self.get_logger().error("EMERGENCY STOP: all assistance cancelled until reset")

    def _on_reset(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        with self._plock:
            resp.success = self.policy.reset_emergency_stop(time.monotonic())
        resp.message = ("emergency stop reset; each side must rest before the next assist"
                        if resp.success else "no emergency stop was active")
        self.get_logger().warn(resp.message)
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
        if not self.client.server_is_ready():
            self.policy.controller_ended(time.monotonic(), cmd.side,
                                         "fault: controller action server unavailable")
            self.get_logger().error("assist not sent: no exo_assist action server")
            return
        future = self.client.send_goal_async(goal)
        self.reaction_ms.append((time.perf_counter() - received) * 1000.0)
        entry = {"future": future, "handle": None, "cancel": False}
        self._goals[cmd.side] = entry
        future.add_done_callback(lambda f, side=cmd.side, e=entry: self._on_goal_response(
            side, e, f))

    def _send_cancel(self, side: str) -> None:
        entry = self._goals.get(side)
        if entry is None:
            return
        entry["cancel"] = True
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
