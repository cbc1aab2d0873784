"""Lifecycle manager (as nav2's): brings the stack up and down and keeps it up.

* ``startup``: configure every node in ``node_names`` order, then activate
  them in the same order (configure-all-first lets co-located consumers find
  every producer on the in-process bus). ``shutdown``: deactivate, clean up
  and leave them unconfigured, in reverse order. ``reset``: shutdown then
  startup. Exposed as std_srvs/Trigger services ``~/startup``, ``~/shutdown``
  and ``~/reset`` over the standard lifecycle_msgs services of each node.
* Heartbeat: every ``heartbeat_period`` it asks each node ``get_state``. A
  node that has not answered for ``bond_timeout`` seconds is reported
  (ERROR diagnostic + log). When the stack is meant to be up and a node is
  found unconfigured or inactive (e.g. its process was restarted by launch's
  respawn, or it fell into ErrorProcessing and recovered to unconfigured),
  policy ``restart`` brings it back to active, up to ``max_restarts`` times.
* Diagnostics: ``~/diagnostics`` (diagnostic_msgs/DiagnosticArray), one
  status per managed node with its state and the counters it publishes on
  ``/diagnostics`` (rate, latency, drops).

Service calls wait on futures from a plain worker thread, never inside an
executor callback, so the manager works on any executor with >= 2 threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from std_srvs.srv import Trigger

from rehab_perception.dds import use_large_data_profile
from rehab_perception.lifecycle_component import ros_session

_LABELS = {
    State.PRIMARY_STATE_UNKNOWN: "unknown",
    State.PRIMARY_STATE_UNCONFIGURED: "unconfigured",
    State.PRIMARY_STATE_INACTIVE: "inactive",
    State.PRIMARY_STATE_ACTIVE: "active",
    State.PRIMARY_STATE_FINALIZED: "finalized",
}


@dataclass
class ManagedNode:
    name: str
    change_state: Any
    get_state: Any
    state: int = State.PRIMARY_STATE_UNKNOWN
    last_seen: float = 0.0
    responsive: bool = True
    restarts: int = 0
    message: str = ""

    @property
    def state_label(self) -> str:
        return _LABELS.get(self.state, f"transition({self.state})")


class LifecycleManager(Node):
    def __init__(self, node_name: str = "lifecycle_manager", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.declare_parameter("node_names", [""])
        self.declare_parameter("autostart", False)
        self.declare_parameter("bond_timeout", 4.0)
        self.declare_parameter("heartbeat_period", 0.5)
        self.declare_parameter("transition_timeout", 30.0)
        self.declare_parameter("restart_policy", "restart")  # "restart" | "none"
        self.declare_parameter("max_restarts", 3)
        names = [n for n in self.get_parameter("node_names").value if n]
        self.bond_timeout = float(self.get_parameter("bond_timeout").value)
        self.heartbeat_period = float(self.get_parameter("heartbeat_period").value)
        self.transition_timeout = float(self.get_parameter("transition_timeout").value)
        self.restart_policy = self.get_parameter("restart_policy").value
        self.max_restarts = int(self.get_parameter("max_restarts").value)
        group = ReentrantCallbackGroup()
        self.nodes = [
            ManagedNode(
                name,
                self.create_client(ChangeState, f"{name}/change_state", callback_group=group),
                self.create_client(GetState, f"{name}/get_state", callback_group=group),
            )
            for name in names
        ]
        self.want_up = False
        self._busy = threading.Lock()  # one bring-up / tear-down at a time
        self._stopping = threading.Event()
        self._component_status: dict[str, DiagnosticStatus] = {}
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

    def _call(self, client: Any, request: Any, timeout: float) -> Any:
        if not client.wait_for_service(timeout_sec=timeout):
            return None
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            client.remove_pending_request(future)
            return None
        return future.result()

    def _get_state(self, node: ManagedNode, timeout: float) -> int | None:
        response = self._call(node.get_state, GetState.Request(), timeout)
        if response is None:
            return None
        node.state = response.current_state.id
        node.last_seen = time.monotonic()
        node.responsive = True
        return node.state

    def _transition(self, node: ManagedNode, transition: int) -> bool:
        request = ChangeState.Request()
        request.transition.id = transition
        response = self._call(node.change_state, request, self.transition_timeout)
        ok = bool(response is not None and response.success)
        self._get_state(node, self.transition_timeout)
        if not ok:
            node.message = f"transition {transition} failed in state {node.state_label}"
            self.get_logger().error(f"{node.name}: {node.message}")
        return ok

    def _bring_up(self, node: ManagedNode) -> bool:
        """Unconfigured/inactive -> active."""
        state = self._get_state(node, self.transition_timeout)
        if state == State.PRIMARY_STATE_UNCONFIGURED and not self._transition(
                node, Transition.TRANSITION_CONFIGURE):
            return False
        if node.state == State.PRIMARY_STATE_INACTIVE:
            return self._transition(node, Transition.TRANSITION_ACTIVATE)
        return node.state == State.PRIMARY_STATE_ACTIVE

    # -- public operations ------------------------------------------------------

    def startup(self) -> tuple[bool, str]:
        with self._busy:
            self.want_up = True
            for node in self.nodes:  # configure all first (see the module docstring)
                state = self._get_state(node, self.transition_timeout)
                if state == State.PRIMARY_STATE_UNCONFIGURED and not self._transition(
                        node, Transition.TRANSITION_CONFIGURE):
                    return False, f"{node.name} failed to configure"
                if state is None:
                    return False, f"{node.name} is not reachable"
            for node in self.nodes:
                if not self._bring_up(node):
                    return False, f"{node.name} failed to activate"
            self.get_logger().info(f"stack active: {[n.name for n in self.nodes]}")
            return True, "all nodes active"

    def shutdown(self) -> tuple[bool, str]:
        with self._busy:
            self.want_up = False
            ok = True
            for node in reversed(self.nodes):
                state = self._get_state(node, self.transition_timeout)
                if state == State.PRIMARY_STATE_ACTIVE:
                    ok &= self._transition(node, Transition.TRANSITION_DEACTIVATE)
                if node.state == State.PRIMARY_STATE_INACTIVE:
                    ok &= self._transition(node, Transition.TRANSITION_CLEANUP)
            return ok, "all nodes unconfigured" if ok else "some nodes failed to stop"

    def reset(self) -> tuple[bool, str]:
        ok, message = self.shutdown()
        if not ok:
            return ok, message
        for node in self.nodes:
            node.restarts = 0
        return self.startup()

    def start_autostart(self) -> None:
        if self.get_parameter("autostart").value:
            threading.Thread(target=self._autostart, daemon=True).start()

    def _autostart(self) -> None:
        ok, message = self.startup()
        (self.get_logger().info if ok else self.get_logger().error)(f"autostart: {message}")

    def stop(self) -> None:
        self._stopping.set()
        self._heartbeat.join(timeout=self.bond_timeout + 1.0)

    def _trigger(self, fn: Any) -> Any:
        def handle(_request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            response.success, response.message = fn()
            return response
        return handle

    # -- heartbeat and diagnostics ------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(self.heartbeat_period):
            if not rclpy.ok(context=self.context):
                return
            for node in self.nodes:
                self._check(node)
            self._publish_diagnostics()

    def _check(self, node: ManagedNode) -> None:
        now = time.monotonic()
        if node.last_seen == 0.0:
            node.last_seen = now
        state = self._get_state(node, min(self.heartbeat_period, self.bond_timeout))
        if state is None:
            if node.responsive and now - node.last_seen > self.bond_timeout:
                node.responsive = False
                node.message = f"no answer to get_state for {now - node.last_seen:.1f} s"
                self.get_logger().error(f"{node.name}: {node.message}")
            return
        if not self.want_up or state == State.PRIMARY_STATE_ACTIVE or self._busy.locked():
            return
        if self.restart_policy != "restart" or node.restarts >= self.max_restarts:
            node.message = f"{node.state_label} while the stack should be active"
            return
        with self._busy:
            node.restarts += 1
            self.get_logger().warn(f"{node.name} is {node.state_label}: bringing it back "
                                   f"(restart {node.restarts}/{self.max_restarts})")
            if self._bring_up(node):
                node.message = f"restarted {node.restarts}x"

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self._component_status[status.name.lstrip("/")] = status

    def status_of(self, node: ManagedNode) -> DiagnosticStatus:
        base = self._component_status.get(node.name.lstrip("/"))
        values = list(base.values) if base is not None else []
        values = [kv for kv in values if kv.key != "state"]
        values += [KeyValue(key="state", value=node.state_label),
                   KeyValue(key="responsive", value=str(node.responsive)),
                   KeyValue(key="restarts", value=str(node.restarts))]
        if not node.responsive:
            level, message = DiagnosticStatus.ERROR, node.message
        elif self.want_up and node.state != State.PRIMARY_STATE_ACTIVE:
            level, message = DiagnosticStatus.ERROR, node.message or node.state_label
        elif base is not None:
            level, message = base.level, base.message
        else:
            level, message = DiagnosticStatus.OK, node.state_label
        return DiagnosticStatus(level=level, name=node.name, message=message,
                                hardware_id="rehab_perception", values=values)

    def _publish_diagnostics(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [self.status_of(n) for n in self.nodes]
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> int:
    use_large_data_profile()
    try:
        with ros_session(args):
            manager = LifecycleManager()
            executor = MultiThreadedExecutor(num_threads=4)
            executor.add_node(manager)
            manager.start_autostart()
            try:
                executor.spin()
            finally:
                manager.stop()
                manager.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0
