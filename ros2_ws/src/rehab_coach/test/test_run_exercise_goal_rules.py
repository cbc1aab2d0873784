"""Which goals the RunExercise server takes, and when (real rclpy actions): the action exists
only while the server is active; a goal names one of the model's exercises, never
``unknown``; a hold is timed from skeletons."""

from __future__ import annotations

from contextlib import contextmanager

import rclpy
from coach_testutil import wait_for
from rclpy.action import ActionClient
from rclpy.parameter import Parameter

from rehab_coach.run_exercise_server_node import RunExerciseServerNode
from rehab_interfaces.action import RunExercise
from rehab_runtime.component import SUCCESS


def _send(client: ActionClient, repetitions: int, limit: float):
    fut = client.send_goal_async(RunExercise.Goal(exercise="squat", repetitions=repetitions,
                                                  time_limit_s=limit))
    return wait_for(lambda: fut.done() and fut.result(), 10, "goal response")


def _result(handle, timeout: float = 20.0):
    fut = handle.get_result_async()
    return wait_for(lambda: fut.done() and fut.result(), timeout, "goal result").result


@contextmanager
def _active_server(ros, namespace: str, *params: Parameter):
    """A configured and active RunExercise server in ``namespace`` and a client that sees
    it; both taken down afterwards."""
    context, executor = ros
    server = RunExerciseServerNode(namespace=namespace, context=context,
                                   parameter_overrides=list(params))
    node = rclpy.create_node(f"{namespace}_client", context=context)
    executor.add_node(server)
    executor.add_node(node)
    try:
        client = ActionClient(node, RunExercise, f"/{namespace}/run_exercise")
        assert server.trigger_configure() == SUCCESS
        assert server.trigger_activate() == SUCCESS
        assert client.wait_for_server(timeout_sec=10)
        yield server, client
    finally:
        executor.remove_node(server)
        executor.remove_node(node)
        server.destroy_node()
        node.destroy_node()


def test_a_deactivated_server_withdraws_its_action_after_its_goal_ends(ros):
    """After `ros2 lifecycle set /run_exercise_server deactivate` the action stayed listed
    and the therapist page said "coach connected", yet every goal was rejected. Now the
    running goal ends "deactivated" and its client gets that result; then the action is
    withdrawn, and the next activate advertises it again."""
    with _active_server(ros, "advert", Parameter("exercises", value="squat")) as (server,
                                                                                client):
        handle = _send(client, 3, limit=0.0)  # no input, no limit: runs until deactivate
        assert handle.accepted
        assert server.trigger_deactivate() == SUCCESS
        assert _result(handle).reason == "deactivated"
        wait_for(lambda: not client.server_is_ready(), 10, "the action withdrawn")
        assert server.action.server is None

        assert server.trigger_activate() == SUCCESS
        assert client.wait_for_server(timeout_sec=10)
        handle = _send(client, 1, limit=0.3)
        assert handle.accepted and _result(handle).reason == "timeout"

        assert server.trigger_deactivate() == SUCCESS  # no goal running: withdrawn as well
        wait_for(lambda: not client.server_is_ready(), 10, "the action withdrawn again")
        assert server.trigger_cleanup() == SUCCESS


def test_a_hold_goal_without_skeleton_counting_is_rejected_not_left_to_fail(ros):
    """A plank is timed from skeletons; with ``count_from_skeletons`` off only repetition
    events arrive, none for a hold, so its goal could only time out. It is rejected."""
    with _active_server(ros, "events", Parameter("exercises", value="squat,plank"),
                        Parameter("count_from_skeletons", value=False)) as (_server, client):
        fut = client.send_goal_async(RunExercise.Goal(exercise="plank", repetitions=30))
        assert not wait_for(lambda: fut.done() and fut.result(), 10, "goal response").accepted
        handle = _send(client, 1, limit=0.3)  # a squat goal still is
        assert handle.accepted and _result(handle).reason == "timeout"


def test_goal_exercises_are_the_model_classes_without_unknown(tmp_path):
    """"unknown" was listed, and accepted, as a goal's exercise."""
    from rehab_coach.goal_exercises import goal_exercises

    labels = tmp_path / "labels.txt"
    labels.write_text("# classes\nsquat\nplank\n\nunknown\n")
    assert goal_exercises("", str(labels)) == ["squat", "plank"]
    assert goal_exercises(" squat , unknown,", str(labels)) == ["squat"]
