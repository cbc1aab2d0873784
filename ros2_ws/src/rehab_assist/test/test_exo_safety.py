"""Regression tests of issue 12 findings 1-3, over real ROS (rclpy actions, topics, services).

Each test reproduces one way the exoskeleton could be made to assist when it
must not (hostile or unlucky use), against the simulated controller and the
policy node, and asserts the layer that now stops it. Stop times are printed;
they are asserted with room for a loaded 2-core machine (the <= 50 ms
target is measured, under load, by the benchmark ``rehab_assist.exo_stress``).
"""

from __future__ import annotations

import math
import threading
import time

import pytest
from exo_testutil import exo_secret_params, reset_request
from rclpy.action import ActionClient
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool

from rehab_assist.exo_assist_node import ExoAssistNode
from rehab_assist.exo_simulator_node import ExoSimulatorNode
from rehab_core.assist import GoalSigner, load_or_create_key
from rehab_interfaces.action import ExoAssist
from rehab_interfaces.msg import ReachState
from rehab_interfaces.srv import ResetEmergencyStop
from rehab_runtime.component import SUCCESS
from rehab_runtime.conversions import make_header
from rehab_testing import wait_for

NO, ONSET, REACH = 0, 1, 2
CAP = 0.8
DEEP = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class Feed:
    """Perception at 30 fps for both sides (stamped now), phase settable per side."""

    def __init__(self, node) -> None:
        self.node, self.phase = node, {"left": NO, "right": NO}
        self.pub = node.create_publisher(ReachState, "reach_state", 10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = 0
        while not self._stop.wait(1 / 30):
            for side in ("left", "right"):
                last = max(self.node.get_clock().now().nanoseconds, last + 1)
                self.pub.publish(ReachState(header=make_header(last), side=side,
                                            phase=self.phase[side], confidence=0.9))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


@pytest.fixture(scope="module")
def rig(ros, tmp_path_factory):
    import rclpy

    context, executor = ros
    secrets = tmp_path_factory.mktemp("exo_safety")
    assist = ExoAssistNode(context=context, parameter_overrides=[
        Parameter("assist_level", value=0.7), Parameter("debounce_frames", value=2),
        Parameter("refractory_ms", value=0.0), Parameter("max_assist_ms", value=20000.0),
        Parameter("stale_after_ms", value=500.0), *exo_secret_params(secrets, "exo_assist")])
    sim = ExoSimulatorNode(context=context, parameter_overrides=[
        Parameter("ramp_s", value=0.05), Parameter("release_s", value=0.05),
        Parameter("max_level", value=CAP), Parameter("max_duration_s", value=30.0),
        *exo_secret_params(secrets, "exo_simulator")])
    io = rclpy.create_node("exo_safety_io", context=context)
    for n in (assist, sim, io):
        executor.add_node(n)
    for n in (sim, assist):
        assert n.trigger_configure() == SUCCESS and n.trigger_activate() == SUCCESS
    feed = Feed(io)
    rig = {
        "assist": assist, "sim": sim, "io": io, "feed": feed, "secrets": secrets,
        # a client takes its replies from a keep-last queue: size it to its bursts (here 40)
        "client": ActionClient(io, ExoAssist, "exo_assist", goal_service_qos_profile=DEEP,
                               result_service_qos_profile=DEEP, cancel_service_qos_profile=DEEP),
        "signer": GoalSigner(load_or_create_key(secrets / "exo_goal.key")),
        "estop": io.create_publisher(Bool, "emergency_stop", 10),
        "estop_be": io.create_publisher(
            Bool, "emergency_stop", QoSProfile(depth=10,
                                               reliability=ReliabilityPolicy.BEST_EFFORT)),
        "resets": [io.create_client(ResetEmergencyStop, f"{n}/reset_emergency_stop")
                   for n in ("exo_assist", "exo_simulator")],
    }
    wait_for(lambda: rig["client"].server_is_ready() and assist.client.server_is_ready()
             and rig["estop"].get_subscription_count() >= 2, 10, "discovery")
    wait_for(lambda: sim.ctl.last_perception is not None, 5, "perception at the controller")
    yield rig
    feed.close()
    for n in (assist, sim, io):
        executor.remove_node(n)
        n.destroy_node()


def _call(client, request, timeout=5.0):
    assert client.wait_for_service(timeout_sec=timeout)
    fut = client.call_async(request)
    return wait_for(lambda: fut.done() and fut.result(), timeout, "service reply")


def _reset_all(rig) -> None:
    rig["feed"].phase.update(left=NO, right=NO)
    for client in rig["resets"]:
        _call(client, reset_request())
    assert not rig["sim"].ctl.estopped and not rig["assist"].policy.estopped
    wait_for(lambda: not rig["sim"].ctl.runs, 5, "controller idle")


def _goal(rig, side="left", level=0.5, duration=2.0, signer="policy", mode=0):
    goal = ExoAssist.Goal(side=side, assist_level=level, mode=mode, max_duration_s=duration)
    if signer == "policy":
        goal.stamp_ns, goal.signature = rig["signer"].sign(side, goal.assist_level, mode,
                                                           goal.max_duration_s)
    elif signer == "forger":
        forged = GoalSigner(b"not-the-key-0123456789abcdef")
        goal.stamp_ns, goal.signature = forged.sign(side, goal.assist_level, mode,
                                                    goal.max_duration_s)
    return goal


def _send(rig, goal, timeout=5.0):
    fut = rig["client"].send_goal_async(goal)
    return wait_for(lambda: fut.done() and fut.result(), timeout, "goal answer")


def _result(handle, timeout=5.0):
    fut = handle.get_result_async()
    return wait_for(lambda: fut.done() and fut.result(), timeout, "goal result").result


def test_finding1_estop_with_both_sides_assisting_stops_at_once(rig, capsys):
    sim, assist = rig["sim"], rig["assist"]
    rig["feed"].phase.update(left=REACH, right=REACH)
    wait_for(lambda: sim.applied["left"] > 0.3 and sim.applied["right"] > 0.3, 5,
             "both sides assisting")
    n_results = len(assist.controller_results)
    sent = time.monotonic()
    rig["estop"].publish(Bool(data=True))
    wait_for(lambda: sim.applied["left"] == 0.0 and sim.applied["right"] == 0.0, 2, "stop")
    zero_at = max(t for t, _s, lvl in sim.level_trace if lvl == 0.0 and t >= sent)
    received = sim.estop_received[-1]
    with capsys.disabled():
        print(f"\ne-stop, both sides assisting: publish -> level 0 {1000 * (zero_at - sent):.1f}"
              f" ms; controller receipt -> level 0 {1000 * (zero_at - received):.2f} ms")
    # cut by the controller's own e-stop input (not by a release, nor a later tick)
    wait_for(lambda: sorted((side, why) for _t, side, why in list(sim.stop_events)[-2:]) == [
        ("left", "emergency stop"), ("right", "emergency stop")], 2, "e-stop bookkeeping")
    assert zero_at >= received
    assert zero_at - sent < 1.0  # was: still assisting 2.4 s later (timing: exo_stress bench)
    results = wait_for(lambda: len(assist.controller_results) >= n_results + 2
                       and assist.controller_results[n_results:], 5, "both goals ended")
    assert sorted(r[0] for r in results) == ["left", "right"] and not any(r[1] for r in results)
    time.sleep(0.3)  # the policy still sees REACH: nothing may restart while latched
    assert sim.applied == {"left": 0.0, "right": 0.0} and not sim.ctl.runs
    _reset_all(rig)


@pytest.mark.parametrize("duration", [0.0, math.nan, -1.0, math.inf])
def test_finding1_2_goals_without_a_time_limit_are_refused(rig, duration):
    handle = _send(rig, _goal(rig, duration=duration))
    assert not handle.accepted
    assert rig["sim"].rejections and not rig["sim"].ctl.runs


def test_finding2_level_above_the_cap_is_clamped_and_long_goals_shortened(rig):
    sim = rig["sim"]
    handle = _send(rig, _goal(rig, "right", level=1.0, duration=1e6))
    assert handle.accepted
    run = wait_for(lambda: sim.ctl.runs.get("right"), 2, "run")
    assert run.target == CAP and run.duration_s == sim.config.max_duration_s
    wait_for(lambda: sim.applied["right"] == CAP, 3, "full (capped) level")
    assert max(lvl for _t, _s, lvl in sim.level_trace) <= CAP
    cancel = handle.cancel_goal_async()
    wait_for(lambda: cancel.done(), 3, "cancel answered")
    assert _result(handle).reason == "canceled"


@pytest.mark.parametrize("signer", ["nobody", "forger", "replay"])
def test_finding2_a_sender_without_the_goal_key_is_refused(rig, signer):
    sim = rig["sim"]
    if signer == "replay":  # a captured, genuinely signed goal sent again
        goal = _goal(rig, duration=0.2)
        first = _send(rig, goal)
        assert first.accepted and _result(first).success
        handle = _send(rig, goal)
    else:
        handle = _send(rig, _goal(rig, signer=signer))
    assert not handle.accepted
    assert any("signature" in r or "unsigned" in r or "replay" in r for r in sim.rejections)
    assert not sim.ctl.runs


def test_finding3_best_effort_estop_is_honoured_by_both_layers(rig):
    sim, assist = rig["sim"], rig["assist"]
    handle = _send(rig, _goal(rig, "left", duration=5.0))
    assert handle.accepted
    wait_for(lambda: sim.applied["left"] > 0, 2, "assisting")
    rig["estop_be"].publish(Bool(data=True))
    wait_for(lambda: sim.ctl.estopped and assist.policy.estopped, 3, "both latched")
    assert _result(handle).reason == "emergency stop" and sim.applied["left"] == 0.0
    assert not _send(rig, _goal(rig, "left")).accepted  # latched
    _reset_all(rig)


def test_finding3_reset_needs_the_operator_and_the_latch_survives_restarts(rig, ros):
    context, _executor = ros
    sim, assist = rig["sim"], rig["assist"]
    rig["estop"].publish(Bool(data=True))
    wait_for(lambda: sim.ctl.estopped and assist.policy.estopped, 3, "latched")
    for client in rig["resets"]:  # any node may call the service, only the operator resets
        assert not _call(client, reset_request(token="guess" * 8)).success
    assert sim.ctl.estopped and assist.policy.estopped
    # restart both nodes (lifecycle and a new process-like instance): still latched
    assert sim.trigger_deactivate() == SUCCESS and sim.trigger_cleanup() == SUCCESS
    assert sim.trigger_configure() == SUCCESS and sim.trigger_activate() == SUCCESS
    assert sim.ctl.estopped
    wait_for(lambda: sim.ctl.last_perception is not None, 5, "perception after the restart")
    fresh = ExoAssistNode("exo_assist_restarted", context=context, parameter_overrides=[
        *exo_secret_params(rig["secrets"], "exo_assist")])
    assert fresh.trigger_configure() == SUCCESS and fresh.policy.estopped
    fresh.destroy_node()
    wait_for(lambda: rig["client"].server_is_ready(), 5, "controller back")
    assert not _send(rig, _goal(rig)).accepted
    _reset_all(rig)
    assert _send(rig, _goal(rig, duration=0.1)).accepted


def test_finding3_fake_or_stale_reach_onsets_do_not_assist(rig):
    sim, assist, io = rig["sim"], rig["assist"], rig["io"]
    pub = io.create_publisher(ReachState, "reach_state", 10)
    wait_for(lambda: pub.get_subscription_count() >= 2, 5, "discovery")
    before = len(sim.goals_received)
    now = io.get_clock().now().nanoseconds
    mismatched = dict(confidence=0.95, scores=[0.9, 0.05, 0.03, 0.02])  # scores say NO_REACH
    for k in range(6):
        for stamp in (now - 10**10, now + 10**10):  # a replayed recording; a wrong clock
            pub.publish(ReachState(header=make_header(stamp + k * 33_000_000), side="left",
                                   phase=REACH, confidence=0.95))
        # an old-but-within-a-second stamp, behind the live stream of this side
        pub.publish(ReachState(header=make_header(now - 500_000_000), side="left", phase=REACH,
                               confidence=0.95))
        pub.publish(ReachState(header=make_header(io.get_clock().now().nanoseconds),
                               side="right", phase=REACH, **mismatched))
        time.sleep(1 / 30)
    time.sleep(0.3)
    assert len(sim.goals_received) == before and not assist.policy.active_sides
    assert any("not newer" in r for r in assist.ignored_onsets)
    assert any("off this node's clock" in r for r in assist.ignored_onsets)
    assert any("match the scores" in r for r in assist.ignored_onsets)
    io.destroy_publisher(pub)


def test_finding3_a_burst_of_40_goals_is_all_answered(rig):
    before = len(rig["sim"].goals_received)
    futures = [rig["client"].send_goal_async(_goal(rig, ("left", "right")[k % 2], duration=0.3))
               for k in range(40)]
    wait_for(lambda: all(f.done() for f in futures), 15, "every goal answered")
    assert len(rig["sim"].goals_received) - before == 40  # each one decided by the controller
    accepted = [f.result() for f in futures if f.result().accepted]
    assert 1 <= len(accepted) <= 40
    for handle in accepted:
        assert _result(handle).reason == "completed"


def test_finding1_3_cancels_and_new_goals_answered_with_two_long_goals_running(rig, capsys):
    long = [_send(rig, _goal(rig, side, duration=25.0)) for side in ("left", "right")]
    assert all(h.accepted for h in long)
    extra = [rig["client"].send_goal_async(_goal(rig, "left")) for _ in range(5)]
    wait_for(lambda: all(f.done() for f in extra), 5, "new goals answered")
    assert not any(f.result().accepted for f in extra)  # side busy: rejected, not silent
    t0 = time.monotonic()
    cancels = [h.cancel_goal_async() for h in long]
    wait_for(lambda: all(c.done() for c in cancels), 3, "cancels answered")
    assert all(c.result().goals_canceling for c in cancels)
    assert [_result(h).reason for h in long] == ["canceled", "canceled"]
    assert time.monotonic() - t0 < 2.0 and not rig["sim"].ctl.runs
    began = [t for t, _side, why in rig["sim"].stop_events if why == "canceled" and t >= t0]
    with capsys.disabled():
        print(f"\ncancel, two long goals running: request -> release begins "
              f"{1000 * (max(began) - t0):.1f} ms (both sides)")
