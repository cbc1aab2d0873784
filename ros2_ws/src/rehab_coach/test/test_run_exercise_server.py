"""RunExercise through real rclpy actions: lifecycle of a goal on recorded skeleton streams."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from action_msgs.msg import GoalStatus
from coach_testutil import wait_for
from rclpy.action import ActionClient
from rclpy.parameter import Parameter
from std_msgs.msg import String

from rehab_coach.recorded_stream import StreamPublisher, sequence_frames
from rehab_coach.run_exercise_server_node import RunExerciseServerNode
from rehab_core.io.skeleton_store import SkeletonSequence
from rehab_interfaces.action import RunExercise
from rehab_runtime.component import SUCCESS
from rehab_testing.synthetic_reps import sequence

EXERCISES = "squat,jumping_jacks,push_up"

# These tests replay streams at 3x real time into a multi-threaded executor; on a
# loaded machine a message of one topic may be handled after a later one of another
# topic: the server puts inputs back in stamp order (rehab_coach.stamp_order).


@dataclass
class ScriptedClassifier:
    """Says ``label`` every ``every`` frames once a window is full (like a real one)."""

    label: str
    every: int = 5
    warmup: int = 30
    n: int = 0

    def update(self, skeleton, stamp_ns):
        self.n += 1
        if self.n < self.warmup or self.n % self.every:
            return None
        return _Pred(self.label, 0.9 if skeleton is not None else 0.2,
                     {self.label: 0.9, "other": 0.1}, stamp_ns - 10**9, stamp_ns, "scripted")


@dataclass
class _Pred:
    label: str
    confidence: float
    scores: dict = field(default_factory=dict)
    window_start_ns: int = 0
    window_end_ns: int = 0
    model: str = ""


def synthetic_squats(n_reps=4, absent_tail_s=0.0):
    frames, stamps, _ = sequence("squat", n_reps, 2.0, 30.0)
    kp = np.stack([f if f is not None else np.zeros((17, 3), np.float32) for f in frames])
    if absent_tail_s:
        extra = int(absent_tail_s * 30)
        kp = np.concatenate([kp, np.zeros((extra, 17, 3), np.float32)])
        stamps = np.concatenate([stamps, stamps[-1] + np.arange(1, extra + 1) * 33_333_333])
    # one continuous live stream across the module's tests
    global _STREAM_T_NS
    stamps = stamps + _STREAM_T_NS
    _STREAM_T_NS = int(stamps[-1]) + 10**9
    return SkeletonSequence(kp, stamps, "coco17", 30.0, width=1280, height=1280)


_STREAM_T_NS = 10**9


@pytest.fixture(scope="module")
def stack(ros):
    context, executor = ros
    import rclpy

    server = RunExerciseServerNode(context=context, parameter_overrides=[
        Parameter("exercises", value=EXERCISES),
        Parameter("person_lost_timeout_s", value=1.5),
    ])
    client_node = rclpy.create_node("test_client", context=context)
    executor.add_node(server)
    executor.add_node(client_node)
    assert server.trigger_configure() == SUCCESS
    assert server.trigger_activate() == SUCCESS
    client = ActionClient(client_node, RunExercise, "run_exercise")
    publisher = StreamPublisher(client_node)
    displayed: list[str] = []
    client_node.create_subscription(String, "display", lambda m: displayed.append(m.data), 10)
    assert client.wait_for_server(timeout_sec=10)
    yield server, client_node, client, publisher, displayed
    executor.remove_node(server)
    executor.remove_node(client_node)
    server.destroy_node()
    client_node.destroy_node()


def _send(client, exercise, reps, limit=0.0, feedback=None):
    fut = client.send_goal_async(
        RunExercise.Goal(exercise=exercise, repetitions=reps, time_limit_s=limit),
        feedback_callback=(lambda m: feedback.append(m.feedback)) if feedback is not None
        else None)
    handle = wait_for(lambda: fut.done() and fut.result(), 10, "goal response")
    return handle


def _play(publisher, frames, speed=3.0, stop=lambda: False):
    """Publish at ``speed`` x real time.

    Pacing matters: the queues are 10 deep, and frames lost to a busy executor
    look like the person leaving the view (source time jumps).
    """
    start = time.monotonic()
    t0 = None
    for fr in frames:
        if stop():
            return
        t = fr.skeletons.stamp_ns * 1e-9
        t0 = t if t0 is None else t0
        delay = (t - t0) / speed - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
        publisher.publish(fr)


def _result(handle, timeout=20.0):
    fut = handle.get_result_async()
    res = wait_for(lambda: fut.done() and fut.result(), timeout, "goal result")
    return res.status, res.result


def test_squat_goal_succeeds_with_the_right_count(stack):
    _server, _node, client, pub, displayed = stack
    feedback: list = []
    handle = _send(client, "squat", 3, feedback=feedback)
    assert handle.accepted
    _play(pub, sequence_frames(synthetic_squats(4), ScriptedClassifier("squat")),
          stop=handle.get_result_async().done)
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_SUCCEEDED, (result.reason, result.repetitions_done)
    assert result.success and result.reason == "completed" and result.repetitions_done == 3
    assert len(result.repetition_durations_s) == 3 and len(result.quality) == 3
    assert all(1.2 < d < 3.0 for d in result.repetition_durations_s)  # 2 s synthetic reps
    assert result.quality[0].key_joint == "knee" and result.quality[0].range_of_motion_deg > 30
    assert result.mean_confidence == pytest.approx(0.9, abs=1e-3)
    states = {f.state for f in feedback}
    assert RunExercise.Feedback.EXERCISING in states
    assert [f.repetitions_done for f in feedback][-1] >= 2
    wait_for(lambda: any("3 x squat" in d for d in displayed), 5, "display announcement")
    # the result carries the report: every verdict, the timeline, nothing ignored
    assert result.ended_t > result.started_t > 0 and list(result.ignored) == []
    assert [v.verdict for v in result.verdicts] == ["counted"] * 3
    assert all(v.label == "squat" and v.confidence == pytest.approx(0.9) and v.votes > 0
               and result.started_t <= v.start_t < v.end_t <= result.ended_t
               for v in result.verdicts)
    assert [round(v.end_t - v.start_t, 3) for v in result.verdicts] == pytest.approx(
        list(result.repetition_durations_s), abs=1e-3)
    t = [s.t for s in result.timeline]
    assert len(t) >= 10 and t == sorted(t) and result.started_t <= t[0] <= t[-1]
    assert [s.repetitions for s in result.timeline][-1] == 3
    assert result.timeline[-1].state == RunExercise.Feedback.DONE
    assert {s.label for s in result.timeline} == {"squat"}
    assert RunExercise.Feedback.EXERCISING in {s.state for s in result.timeline}


def test_requested_jacks_on_squats_counts_nothing_and_times_out(stack):
    _server, _node, client, pub, _ = stack
    feedback: list = []
    handle = _send(client, "jumping_jacks", 2, limit=9.0, feedback=feedback)
    _play(pub, sequence_frames(synthetic_squats(4), ScriptedClassifier("squat")),
          stop=handle.get_result_async().done)
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_ABORTED
    assert not result.success and result.reason == "timeout" and result.repetitions_done == 0
    assert RunExercise.Feedback.WRONG_EXERCISE in {f.state for f in feedback}
    assert result.ended_t - result.started_t == pytest.approx(9.0, abs=0.5)
    wrong = [s for s in result.timeline if s.state == RunExercise.Feedback.WRONG_EXERCISE]
    assert wrong and all(s.label == "squat" and s.repetitions == 0 for s in wrong)


def test_squats_the_classifier_names_push_ups_are_ignored_with_the_reason(stack):
    """Counted from the skeletons, vetoed by a confident other exercise: the result says
    which repetitions did not count and why."""
    _server, _node, client, pub, _ = stack
    handle = _send(client, "squat", 3)
    _play(pub, sequence_frames(synthetic_squats(4), ScriptedClassifier("push_up")),
          stop=handle.get_result_async().done)
    wait_for(handle.cancel_goal_async().done, 5, "cancel response")
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_CANCELED and result.repetitions_done == 0
    assert len(result.verdicts) >= 3 and len(result.ignored) == len(result.verdicts)
    assert all(v.verdict == "rejected_other_exercise" and v.label == "push_up"
               for v in result.verdicts)
    assert all(i.exercise == "squat" and "'push_up'" in i.reason for i in result.ignored)
    assert [i.t for i in result.ignored] == [v.end_t for v in result.verdicts]


def test_unknown_exercise_is_rejected(stack):
    _server, _node, client, _pub, _ = stack
    handle = _send(client, "yoga_flow", 3)
    assert not handle.accepted
    assert not _send(client, "squat", 0).accepted


def test_cancel(stack):
    _server, _node, client, pub, _ = stack
    handle = _send(client, "squat", 50)
    frames = list(sequence_frames(synthetic_squats(1), ScriptedClassifier("squat")))
    _play(pub, frames[:20])
    cancel = handle.cancel_goal_async()
    wait_for(cancel.done, 5, "cancel response")
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_CANCELED and result.reason == "canceled"


def test_person_lost(stack):
    _server, _node, client, pub, _ = stack
    handle = _send(client, "squat", 50)
    _play(pub, sequence_frames(synthetic_squats(1, absent_tail_s=3.0),
                               ScriptedClassifier("squat")),
          stop=handle.get_result_async().done)
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_ABORTED and result.reason == "person_lost"
    assert result.repetitions_done == 1


def test_new_goal_preempts_the_running_one(stack):
    _server, _node, client, _pub, _ = stack
    first = _send(client, "squat", 50)
    second = _send(client, "push_up", 50)
    assert first.accepted and second.accepted
    status, result = _result(first)
    assert status == GoalStatus.STATUS_ABORTED and result.reason == "preempted"
    second.cancel_goal_async()
    status, _ = _result(second)
    assert status == GoalStatus.STATUS_CANCELED


def test_time_limit_without_any_input(stack):
    _server, _node, client, _pub, _ = stack
    handle = _send(client, "squat", 5, limit=0.3)
    status, result = _result(handle)
    assert status == GoalStatus.STATUS_ABORTED and result.reason == "timeout"


def test_input_end_ends_the_goal_as_input_ended(stack):
    """A recording played to its end: the image source says so on /diagnostics, and once
    the frames in flight are through the goal ends as ``input_ended`` with what was done,
    not as ``person_lost`` (this module's person_lost time-out, 1.5 s, is no longer than
    the drain: the drain holds it off)."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    server, node, client, pub, _ = stack
    diagnostics = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
    try:
        handle = _send(client, "squat", 5)
        _play(pub, sequence_frames(synthetic_squats(3), ScriptedClassifier("squat")))
        ended = DiagnosticArray(status=[DiagnosticStatus(
            name="image_source", values=[KeyValue(key="input_ended", value="1")])])
        diagnostics.publish(ended)
        status, result = _result(handle)
        assert status == GoalStatus.STATUS_ABORTED, result.reason
        assert result.reason == "input_ended" and result.repetitions_done == 3
    finally:
        node.destroy_publisher(diagnostics)
        server._input_end.reset()  # the next goal has a new input


def test_the_action_is_advertised_once_the_server_is_active(ros):
    """`ros2 action send_goal` sent as soon as `ros2 action list` shows the action was
    rejected ("server is not active") while the stack was still activating: the server
    now advertises the action at activate, so a discovered server takes goals."""
    import rclpy

    context, executor = ros
    server = RunExerciseServerNode(namespace="late", context=context,
                                   parameter_overrides=[Parameter("exercises", value="squat")])
    server_client = rclpy.create_node("late_client", context=context)
    executor.add_node(server)
    executor.add_node(server_client)
    try:
        client = ActionClient(server_client, RunExercise, "/late/run_exercise")
        assert server.trigger_configure() == SUCCESS
        assert not client.wait_for_server(timeout_sec=1.0)  # configured, not yet active
        assert server.trigger_activate() == SUCCESS
        assert client.wait_for_server(timeout_sec=10)
        handle = _send(client, "squat", 1, limit=0.3)
        assert handle.accepted
        assert _result(handle)[1].reason == "timeout"
    finally:
        executor.remove_node(server)
        executor.remove_node(server_client)
        server.destroy_node()
        server_client.destroy_node()
