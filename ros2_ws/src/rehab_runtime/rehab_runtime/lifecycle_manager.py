"""Lifecycle manager (as nav2's): brings the stack up and down and keeps it up.

* ``startup``: configure every node in ``node_names`` order, then activate
  them in the same order (configure-all-first lets co-located consumers find
  every producer on the in-process bus). A node whose transition fails is
  reported once, with the reason it published, and left down; the others
  still come up. ``shutdown``: deactivate and clean up in reverse order.
  ``reset``: shutdown then startup. Exposed as std_srvs/Trigger services
  ``~/startup``, ``~/shutdown`` and ``~/reset``.
* Every transition the manager requests goes through one lock, so bring-up,
  tear-down and restarts never interleave.
* Supervision: a node is supervised only once bring-up has finished with it
  (made it active). Every ``heartbeat_period`` it is asked ``get_state``; no
  answer for ``bond_timeout`` s is reported (ERROR diagnostic + log). Found
  unconfigured or inactive (its process was respawned by launch, or it fell
  into ErrorProcessing), policy ``restart`` brings it back, up to
  ``max_restarts`` times; a failed restart leaves it down, reported once.
* End of input (the image source reports ``input_ended`` in its
  diagnostics): ``end_of_input: idle`` keeps the stack up and says so in
  ``~/diagnostics``; ``shutdown`` waits ``end_of_input_settle_s`` for the
  frames in flight (and the repetition counter closing the repetition in
  progress, as a goal does on input_ended), then takes the stack down in
  order and sets ``finished`` (the executables then exit 0). Never a
  clean-up followed by restarts: shutdown stops supervision first.

Service calls wait on futures from plain threads, never inside an executor
callback, so the manager works on any executor with >= 2 threads.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_srvs.srv import Trigger

from rehab_core.errors import ConfigError
from rehab_runtime.diagnostics import reports_input_ended
from rehab_runtime.manager_support import (
    SETTLED,
    ManagedNode,
    check_manager_params,
    node_status,
    wait_future,
)

PARAMS = {  # name: (default, description); checked by check_manager_params
    "node_names": ([""], "nodes to manage, in bring-up order (shutdown is the reverse)"),
    "autostart": (False, "bring the stack up when the manager starts"),
    "bond_timeout": (4.0, "s without an answer to get_state before a node is reported"),
    "heartbeat_period": (0.5, "s between get_state checks (> 0)"),
    "transition_timeout": (30.0, "s to wait for one transition (> 0)"),
    "restart_policy": ("restart", "restart: bring a supervised node back to active; none"),
    "max_restarts": (3, "restarts per node before it is left down (int >= 0)"),
    "end_of_input": ("idle", "idle: stay up and report it; shutdown: take the stack down, exit 0"),
    "end_of_input_settle_s": (3.0, "s end_of_input: shutdown waits after the input ends for "
                              "the frames in flight and the last repetition (>= 0)"),
}


class LifecycleManager(Node):
    def __init__(self, node_name: str = "lifecycle_manager", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for name, (default, doc) in PARAMS.items():  # a wrong type is a clear ConfigError too
            self.declare_parameter(name, default, ParameterDescriptor(description=doc,
                                                                      dynamic_typing=True))
        values = {name: self.get_parameter(name).value for name in PARAMS}
        check_manager_params(values)  # ConfigError with a clear message
        self.bond_timeout = float(values["bond_timeout"])
        self.heartbeat_period = float(values["heartbeat_period"])
        self.transition_timeout = float(values["transition_timeout"])
        self.restart_policy = values["restart_policy"]
        self.max_restarts = int(values["max_restarts"])
        self.end_of_input = values["end_of_input"]
        self.end_of_input_settle_s = float(values["end_of_input_settle_s"])
        group = ReentrantCallbackGroup()
        self.nodes = [
            ManagedNode(
                name,
                self.create_client(ChangeState, f"{name}/change_state", callback_group=group),
                self.create_client(GetState, f"{name}/get_state", callback_group=group),
            )
            for name in (n for n in values["node_names"] if n)
        ]
        if not self.nodes:
            raise ConfigError("lifecycle_manager: node_names lists no node")
        self.want_up = False
        self.input_ended = False
        self._ended_at: float | None = None  # when the input's end was first seen
        self.finished = threading.Event()  # set after an end_of_input: shutdown
        self._lock = threading.Lock()  # every transition the manager requests
        self.transitions = self.failed_transitions = 0  # counted for benchmarks and tests
        self._stopping = threading.Event()
        self._component_status: dict[str, tuple[float, DiagnosticStatus]] = {}
        self.diag_pub = self.create_publisher(DiagnosticArray, "~/diagnostics", 10)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50,
                                 callback_group=group)
        for srv, fn in (("startup", self.startup), ("shutdown", self.shutdown),
                        ("reset", self.reset)):
            self.create_service(Trigger, f"~/{srv}", self._trigger(fn), callback_group=group)
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, daemon=True,
                                           name=f"{node_name}_heartbeat")
        self._heartbeat.start()

    # -- service plumbing -------------------------------------------------------

    def _get_state(self, node: ManagedNode, timeout: float) -> int | None:
        response = wait_future(node.get_state, GetState.Request(), timeout, self._stopping,
                               resend_after=2.0)
        if response is None:
            return None
        node.state = response.current_state.id
        node.last_seen = time.monotonic()
        return node.state

    def _transition(self, node: ManagedNode, transition: int, timeout: float) -> bool:
        """Request one transition; the caller holds ``_lock``."""
        assert self._lock.locked()
        request = ChangeState.Request()
        request.transition.id = transition
        since = time.time()
        goal = _GOAL_STATES[transition]
        response = wait_future(node.change_state, request, timeout, self._stopping,
                               settled=lambda: self._get_state(node, 1.0) == goal)
        if response is SETTLED:  # done, but its answer was lost on the way back
            self.get_logger().warn(f"{node.name}: {_TRANSITIONS[transition]} answer lost; "
                                   f"its state says it is done ({node.state_label})")
        ok = response is SETTLED or bool(response is not None and response.success)
        self.transitions += 1
        self.failed_transitions += not ok
        self._get_state(node, min(timeout, 5.0))
        if not ok and not self._stopping.is_set():
            label = _TRANSITIONS.get(transition, str(transition))
            reason = self._reason(node, since) if response is not None else "no answer"
            node.failed = f"{label} failed in state {node.state_label}: {reason}"
            self.get_logger().error(f"{node.name}: {node.failed}; left down")
        return ok

    def _reason(self, node: ManagedNode, since: float) -> str:
        """The ERROR the component published about this failure (it logs it too)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            seen, status = self._component_status.get(node.name, (0.0, None))
            if status is not None and seen >= since and status.level == DiagnosticStatus.ERROR:
                return status.message
            time.sleep(0.02)
        return "see the node's log"

    def _bring_up(self, node: ManagedNode, timeout: float) -> bool:
        """Unconfigured/inactive -> active (the caller holds ``_lock``)."""
        state = self._get_state(node, timeout)
        if state == State.PRIMARY_STATE_UNCONFIGURED and not self._transition(
                node, Transition.TRANSITION_CONFIGURE, timeout):
            return False
        if node.state == State.PRIMARY_STATE_INACTIVE:
            return self._transition(node, Transition.TRANSITION_ACTIVATE, timeout)
        return node.state == State.PRIMARY_STATE_ACTIVE

    # -- public operations ------------------------------------------------------

    def startup(self) -> tuple[bool, str]:
        with self._lock:
            self.want_up, self.input_ended, self._ended_at = True, False, None
            timeout = self.transition_timeout
            for node in self.nodes:
                node.failed, node.supervised, node.restarts = "", False, 0
            for node in self.nodes:  # configure all first (see the module docstring)
                state = self._get_state(node, timeout)
                if state is None:
                    node.failed = "not reachable (no answer to get_state)"
                    self.get_logger().error(f"{node.name}: {node.failed}; left down")
                elif state == State.PRIMARY_STATE_UNCONFIGURED:
                    self._transition(node, Transition.TRANSITION_CONFIGURE, timeout)
            for node in self.nodes:
                if not node.failed and self._bring_up(node, timeout):
                    node.supervised = True  # from now on the heartbeat keeps it up
            failed = [f"{n.name}: {n.failed}" for n in self.nodes if n.failed]
            if failed:
                return False, "; ".join(failed)
            self.get_logger().info(f"stack active: {[n.name for n in self.nodes]}")
            return True, "all nodes active"

    def shutdown(self, timeout: float | None = None) -> tuple[bool, str]:
        """Deactivate and clean up in reverse order, within ``timeout`` s overall."""
        deadline = time.monotonic() + (timeout or self.transition_timeout * len(self.nodes))
        with self._lock:
            self.want_up = False  # supervision off before the first clean-up
            ok = True
            for node in reversed(self.nodes):
                node.supervised = False
                left = deadline - time.monotonic()
                if left <= 0:
                    ok = False
                    continue
                state = self._get_state(node, min(left, self.transition_timeout))
                if state == State.PRIMARY_STATE_ACTIVE:
                    ok &= self._transition(node, Transition.TRANSITION_DEACTIVATE, left)
                if node.state == State.PRIMARY_STATE_INACTIVE:
                    ok &= self._transition(node, Transition.TRANSITION_CLEANUP,
                                           max(0.1, deadline - time.monotonic()))
            return ok, "all nodes unconfigured" if ok else "some nodes failed to stop"

    def reset(self) -> tuple[bool, str]:
        ok, message = self.shutdown()
        return self.startup() if ok else (ok, message)

    def start_autostart(self) -> None:
        if self.get_parameter("autostart").value:
            threading.Thread(target=self._autostart, daemon=True).start()

    def _autostart(self) -> None:
        ok, message = self.startup()
        (self.get_logger().info if ok else self.get_logger().error)(f"autostart: {message}")

    def stop(self) -> None:
        """Stop supervising (no transition is requested after this returns)."""
        self.want_up = False
        self._stopping.set()
        self._heartbeat.join(timeout=2.0)

    def _trigger(self, fn: Any) -> Any:
        def handle(_request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            response.success, response.message = fn()
            return response
        return handle

    # -- heartbeat and diagnostics ------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(self.heartbeat_period):
            try:
                for node in self.nodes:
                    if self._stopping.is_set():
                        return
                    self._check(node)
                self._check_end_of_input()
                self._publish_diagnostics()
            except Exception as err:  # the context went away under us: stop quietly
                if self._stopping.is_set() or not self.context.ok():
                    return
                self.get_logger().error(f"heartbeat: {type(err).__name__}: {err}")

    def _check(self, node: ManagedNode) -> None:
        now = time.monotonic()
        node.last_seen = node.last_seen or now
        state = self._get_state(node, min(self.heartbeat_period, self.bond_timeout))
        if state is None:
            if node.state == State.PRIMARY_STATE_UNKNOWN:
                return  # never answered yet: still starting (bring-up reports it if it must)
            if node.responsive and now - node.last_seen > self.bond_timeout:
                node.responsive = False
                node.lost_at = node.lost_at or now
                node.message = f"no answer to get_state for {now - node.last_seen:.1f} s"
                self.get_logger().error(f"{node.name}: {node.message}")
            return
        if not node.responsive:
            node.responsive = True
            self.get_logger().warn(f"{node.name}: answers again ({node.state_label})")
        if not (self.want_up and node.supervised) or state == State.PRIMARY_STATE_ACTIVE:
            return
        node.lost_at = node.lost_at or now
        if self.restart_policy != "restart" or node.restarts >= self.max_restarts:
            if not node.failed:
                node.failed = f"{node.state_label}; restart budget spent ({node.restarts})"
                self.get_logger().error(f"{node.name}: {node.failed}; left down")
            return
        if not self._lock.acquire(blocking=False):
            return  # a bring-up or tear-down is running: it decides
        try:
            if not (self.want_up and node.supervised):
                return
            node.restarts += 1
            self.get_logger().warn(f"{node.name} is {node.state_label}: bringing it back "
                                   f"(restart {node.restarts}/{self.max_restarts})")
            if self._bring_up(node, self.transition_timeout):
                node.message = (f"back to active in {time.monotonic() - node.lost_at:.1f} s "
                                f"(restart {node.restarts})")
                self.get_logger().info(f"{node.name}: {node.message}")
                node.lost_at = 0.0
            else:
                node.supervised = False  # reported once (by _transition or here), left down
                if not node.failed:
                    node.failed = f"could not be brought back from {node.state_label}"
                    self.get_logger().error(f"{node.name}: {node.failed}; left down")
        finally:
            self._lock.release()

    def _check_end_of_input(self) -> None:
        if not self.want_up:
            return
        if not self.input_ended:
            if not reports_input_ended(s for _seen, s in self._component_status.values()):
                return
            self.input_ended, self._ended_at = True, time.monotonic()
            self.get_logger().info(
                f"input ended: taking the stack down in {self.end_of_input_settle_s:g} s "
                "(end_of_input: shutdown)" if self.end_of_input == "shutdown" else
                "input ended: the stack stays up, idle (end_of_input: idle)")
        if self.end_of_input == "shutdown" and self._ended_at is not None and \
                time.monotonic() - self._ended_at >= self.end_of_input_settle_s:
            self._ended_at = None
            self.shutdown()
            self.finished.set()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        now = time.time()
        for status in msg.status:
            self._component_status[status.name.lstrip("/")] = (now, status)

    def status_of(self, node: ManagedNode) -> DiagnosticStatus:
        entry = self._component_status.get(node.name.lstrip("/"))
        return node_status(node, entry[1] if entry else None, self.want_up, self.input_ended)

    def _publish_diagnostics(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [self.status_of(n) for n in self.nodes]
        self.diag_pub.publish(msg)


_TRANSITIONS = {
    Transition.TRANSITION_CONFIGURE: "configure",
    Transition.TRANSITION_ACTIVATE: "activate",
    Transition.TRANSITION_DEACTIVATE: "deactivate",
    Transition.TRANSITION_CLEANUP: "cleanup",
}
_GOAL_STATES = {
    Transition.TRANSITION_CONFIGURE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_ACTIVATE: State.PRIMARY_STATE_ACTIVE,
    Transition.TRANSITION_DEACTIVATE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_CLEANUP: State.PRIMARY_STATE_UNCONFIGURED,
}


def main(args: list[str] | None = None) -> int:
    """``lifecycle_manager`` executable: SIGINT/SIGTERM stop it within a second, exit 0."""
    from rehab_runtime.manager_support import run_manager

    return run_manager(LifecycleManager, args)
