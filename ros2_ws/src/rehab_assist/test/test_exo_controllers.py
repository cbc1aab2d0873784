"""The ros2_control adapter's safety layer, and exo_assist checking that a cancel took effect.

Two more layers tested on their own over real ROS: the adapter (in namespace
/adapter) enforces the same limits as the simulator and turns an e-stop into
an empty trajectory (JointTrajectoryController stops and holds); exo_assist,
facing a controller that accepts goals but never honours a cancel (the
issue's finding 1), escalates to an emergency stop after cancel_confirm_ms.
"""

from __future__ import annotations

import time

import pytest
from exo_testutil import exo_secret_params
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.parameter import Parameter
from std_msgs.msg import Bool
from trajectory_msgs.msg import JointTrajectory

from rehab_assist.exo_assist_node import ExoAssistNode
from rehab_assist.joint_trajectory_adapter import JointTrajectoryAdapterNode
from rehab_core.assist import GoalSigner, load_or_create_key
from rehab_interfaces.action import ExoAssist
from rehab_interfaces.msg import ReachState
from rehab_runtime.component import SUCCESS
from rehab_runtime.conversions import make_header
from rehab_testing import wait_for

NO, REACH = 0, 2


@pytest.fixture(scope="module")
def io(ros, tmp_path_factory):
    import rclpy

    context, executor = ros
    node = rclpy.create_node("exo_controllers_io", context=context)
    executor.add_node(node)
    yield node, context, executor, tmp_path_factory.mktemp("exo_controllers")
    executor.remove_node(node)
    node.destroy_node()


def _publish_reach(node, pub, phase, side="left"):
    pub.publish(ReachState(header=make_header(node.get_clock().now().nanoseconds), side=side,
                           phase=phase, confidence=0.9))


def test_adapter_enforces_the_limits_and_holds_on_an_estop(io):
    node, context, executor, secrets = io
    adapter = JointTrajectoryAdapterNode(context=context, namespace="adapter",
                                         parameter_overrides=[
                                             Parameter("max_level", value=0.5),
                                             *exo_secret_params(secrets, "adapter")],
                                         cli_args=["--ros-args", "-r",
                                                   "reach_state:=/reach_state"])
    executor.add_node(adapter)
    try:
        assert adapter.trigger_configure() == SUCCESS and adapter.trigger_activate() == SUCCESS
        client = ActionClient(node, ExoAssist, "/adapter/exo_assist")
        reach = node.create_publisher(ReachState, "/reach_state", 10)
        estop = node.create_publisher(Bool, "/adapter/emergency_stop", 10)
        seen: list[JointTrajectory] = []
        node.create_subscription(JointTrajectory, "/adapter/joint_trajectory", seen.append, 10)
        wait_for(lambda: client.server_is_ready() and estop.get_subscription_count(), 10,
                 "discovery")
        signer = GoalSigner(load_or_create_key(secrets / "exo_goal.key"))

        def send(level, duration):
            goal = ExoAssist.Goal(side="left", assist_level=level, max_duration_s=duration)
            goal.stamp_ns, goal.signature = signer.sign("left", goal.assist_level, 0,
                                                        goal.max_duration_s)
            fut = client.send_goal_async(goal)
            return wait_for(lambda: fut.done() and fut.result(), 5, "goal answer")

        assert not send(0.5, 0.0).accepted  # no perception yet, and no time limit
        wait_for(lambda: (_publish_reach(node, reach, NO), adapter.ctl.last_perception)[1], 5,
                 "perception at the adapter")
        assert not send(0.5, float("nan")).accepted
        handle = send(1.0, 10.0)
        assert handle.accepted
        wait_for(lambda: any(t.points for t in seen), 5, "assist trajectory")
        # the clamped level: at most half way to the reach posture (0.8, 0.6 rad)
        assert max(seen[-1].points[-1].positions) <= 0.5 * 0.8 + 1e-6
        n = len(seen)
        estop.publish(Bool(data=True))
        wait_for(lambda: any(not t.points for t in seen[n:]), 3, "empty (stop and hold)")
        res = handle.get_result_async()
        assert wait_for(lambda: res.done() and res.result(), 5).result.reason == "emergency stop"
        assert adapter.ctl.estopped and not send(0.3, 1.0).accepted
    finally:
        executor.remove_node(adapter)
        adapter.destroy_node()


class DeafController:
    """Accepts every goal, refuses every cancel, never finishes: what finding 1 described."""

    def __init__(self, node) -> None:
        self.goals = 0
        self.server = ActionServer(node, ExoAssist, "exo_assist", execute_callback=self._never,
                                   goal_callback=self._accept,
                                   cancel_callback=lambda _h: CancelResponse.REJECT,
                                   handle_accepted_callback=lambda _h: None,
                                   callback_group=ReentrantCallbackGroup())

    def _accept(self, _goal) -> GoalResponse:
        self.goals += 1
        return GoalResponse.ACCEPT

    def _never(self, _handle):
        raise AssertionError("never executed")


def test_exo_assist_escalates_an_unconfirmed_cancel_to_an_emergency_stop(io):
    node, context, executor, secrets = io
    deaf = DeafController(node)
    assist = ExoAssistNode(context=context, parameter_overrides=[
        Parameter("debounce_frames", value=2), Parameter("cancel_confirm_ms", value=300.0),
        *exo_secret_params(secrets, "exo_assist")])
    executor.add_node(assist)
    estops: list[bool] = []
    node.create_subscription(Bool, "emergency_stop", lambda m: estops.append(m.data), 10)
    try:
        assert assist.trigger_configure() == SUCCESS and assist.trigger_activate() == SUCCESS
        reach = node.create_publisher(ReachState, "reach_state", 10)
        wait_for(lambda: assist.client.server_is_ready() and reach.get_subscription_count(), 10,
                 "discovery")
        for phase in (NO, REACH, REACH, REACH):
            _publish_reach(node, reach, phase)
            _publish_reach(node, reach, NO, side="right")
            time.sleep(1 / 30)
        wait_for(lambda: deaf.goals == 1, 3, "the goal at the controller")
        _publish_reach(node, reach, NO)  # reach abandoned: cancel, which the controller ignores
        wait_for(lambda: assist.policy.estopped and True in estops, 3,
                 "e-stop after the unconfirmed cancel")
        assert assist.latch.engaged
        assert "cancel not confirmed" in assist.latch.reason
    finally:
        executor.remove_node(assist)
        assist.destroy_node()
        deaf.server.destroy()
