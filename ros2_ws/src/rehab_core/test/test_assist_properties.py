"""Property-based tests (hypothesis) of the exoskeleton safety layers, without ROS.

For ANY sequence of reach states, e-stops, resets, cancels, goals from any
sender, stamps and NaNs: the applied level never exceeds the cap, no assist
lasts past its maximum, no assist follows an e-stop until an operator reset.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rehab_core.assist import (
    ControllerLimits,
    EstopLatch,
    ExoController,
    ExoPolicy,
    ExoPolicyConfig,
    GoalSigner,
    GoalVerifier,
)

LIMITS = ControllerLimits(max_level=0.6, max_duration_s=2.0, perception_timeout_s=0.3,
                          ramp_s=0.1, release_s=0.1)
EPS = 1e-9
any_float = st.floats(allow_nan=True, allow_infinity=True, width=32)
dt = st.one_of(st.just(0.0), st.floats(0.0, 0.5), st.floats(0.0, 5.0))
side = st.sampled_from(["left", "right", "left", "right", "", "up"])
level_in = st.one_of(st.floats(0.0, 1.5), any_float)
duration_in = st.one_of(st.floats(0.05, 10.0), st.sampled_from([0.0, -1.0]), any_float)

controller_op = st.one_of(
    st.tuples(st.just("perception"), dt),
    st.tuples(st.just("goal"), dt, side, level_in, st.sampled_from([0, 0, 1, 7]), duration_in,
              st.sampled_from([True, True, True, False]), st.sampled_from([True, True, False])),
    st.tuples(st.just("goal"), st.floats(0.0, 0.2), st.sampled_from(["left", "right"]),
              st.floats(0.0, 1.5), st.just(0), st.floats(0.05, 10.0), st.just(True),
              st.just(True)),  # plausible goals from the policy, so many are accepted
    st.tuples(st.just("cancel"), dt, st.integers(0, 3)),
    st.tuples(st.just("fault"), dt, st.integers(0, 3)),
    st.tuples(st.just("estop"), dt),
    st.tuples(st.just("reset"), dt, st.booleans()),
    st.tuples(st.just("step"), dt),
)


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(controller_op, max_size=60))
def test_controller_invariants_hold_for_any_sequence(ops):
    ctl = ExoController(LIMITS)
    t, latched, accepted = 100.0, False, []
    for op in ops:
        t += op[1]
        kind = op[0]
        if kind == "perception":
            ctl.perception(t)
        elif kind == "goal":
            _, _, s, level, mode, dur, authorised, fresh = op
            if fresh:
                ctl.perception(t)
            d = ctl.request(t, s, level, mode, dur, None if authorised else "bad signature")
            if d.accepted:
                assert authorised, "an unauthenticated goal was accepted"
                assert not latched, "a goal was accepted after an e-stop before a reset"
                assert math.isfinite(dur) and dur > 0, f"goal without a time limit ({dur})"
                assert d.run.target <= LIMITS.max_level + EPS
                assert d.run.duration_s <= LIMITS.max_duration_s + EPS
                accepted.append(d.run)
        elif kind in ("cancel", "fault") and accepted:
            run = accepted[op[2] % len(accepted)]
            (ctl.cancel if kind == "cancel" else ctl.fault)(t, run, kind)
        elif kind == "estop":
            ctl.emergency_stop(t, "test")
            latched = True
        elif kind == "reset":
            ok, _msg = ctl.reset(op[2])
            assert ok == (op[2] and latched)
            latched = latched and not ok
        elif kind == "step":
            ctl.step(t)
        for s in LIMITS.sides:
            lvl = ctl.level(s, t)
            assert 0.0 <= lvl <= LIMITS.max_level + EPS, f"level {lvl} above the cap"
            if latched:
                assert lvl == 0.0, "assistance applied while the e-stop is latched"
        for run in ctl.runs.values():
            if run.level(t, LIMITS.ramp_s, LIMITS.release_s) > 0:
                assert t < run.start + LIMITS.max_duration_s + LIMITS.release_s + EPS, \
                    "an assist lasted past its maximum duration"


def test_latch_survives_a_restart_and_a_corrupt_file_reads_engaged(tmp_path):
    path = tmp_path / "exo.estop"
    ctl = ExoController(LIMITS, EstopLatch(path))
    ctl.emergency_stop(1.0, "topic")
    again = ExoController(LIMITS, EstopLatch(path))  # the node restarted
    assert again.estopped
    assert not again.request(2.0, "left", 0.5, 0, 1.0).accepted
    assert again.reset(False) == (False, "refused: operator token missing or wrong")
    assert again.reset(True)[0] and not ExoController(LIMITS, EstopLatch(path)).estopped
    path.write_bytes(b"\xff\xfe garbage")
    assert EstopLatch(path).engaged  # unknown content: fail safe


def test_limits_zero_nan_negative_inf_durations_are_rejected_and_long_ones_clamped():
    ctl = ExoController(LIMITS)
    ctl.perception(0.0)
    for bad in (0.0, -1.0, math.nan, math.inf):
        d = ctl.request(0.0, "left", 0.5, 0, bad)
        assert not d.accepted and "time limit" in d.reason
    d = ctl.request(0.0, "left", 1.0, 0, 30.0)
    assert d.accepted and d.run.target == LIMITS.max_level and d.run.duration_s == 2.0
    assert "clamped" in d.reason


signed_goal = st.tuples(st.sampled_from(["left", "right"]), st.floats(0, 1, width=32),
                        st.sampled_from([0, 1]), st.floats(0.25, 10, width=32))


@settings(max_examples=100, deadline=None, database=None)
@given(signed_goal, st.binary(min_size=16, max_size=40), st.integers(-10**10, 10**10))
def test_only_the_key_holder_can_sign_and_a_goal_cannot_be_replayed(goal, other_key, skew):
    key = b"k" * 32
    now = [10**18]
    signer, verifier = GoalSigner(key, lambda: now[0]), GoalVerifier(key, 2.0, lambda: now[0])
    stamp, sig = signer.sign(*goal)
    assert verifier.check(*goal, stamp, sig) is None
    assert "replayed" in verifier.check(*goal, stamp, sig)
    stamp2, sig2 = signer.sign(*goal)
    now[0] += skew
    verdict = verifier.check(*goal, stamp2, sig2)
    assert (verdict is None) == (abs(skew) <= 2 * 10**9)
    if other_key != key:
        forged = GoalSigner(other_key, lambda: now[0]).sign(*goal)
        assert "bad signature" in verifier.check(*goal, *forged)
    tampered = (goal[0], min(1.0, goal[1] + 0.25), goal[2], goal[3])
    if tampered != goal:
        assert verifier.check(*tampered, *signer.sign(*goal)) is not None


policy_op = st.one_of(
    st.tuples(st.just("reach"), dt, st.sampled_from(["left", "right"]), st.integers(0, 3),
              any_float),
    st.tuples(st.just("tick"), dt),
    st.tuples(st.just("estop"), dt),
    st.tuples(st.just("reset"), dt),
    st.tuples(st.just("ended"), dt, st.sampled_from(["left", "right"])),
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(policy_op, max_size=80), st.floats(0, 5), st.floats(0, 1))
def test_policy_invariants_hold_for_any_sequence(ops, assist_level, cap):
    cfg = ExoPolicyConfig(assist_level=assist_level, max_assist_level=cap, debounce_frames=1,
                          refractory_ms=0.0, max_assist_ms=500.0, stale_after_ms=200.0)
    pol = ExoPolicy(cfg)
    t, latched = 0.0, False
    started: dict[str, float] = {}
    for op in ops:
        t += op[1]
        kind = op[0]
        if kind == "reach":
            cmds = pol.update(t, op[2], op[3], op[4])
        elif kind == "tick":
            cmds = pol.tick(t)
        elif kind == "estop":
            cmds = pol.emergency_stop(t)
            latched = True
        elif kind == "reset":
            pol.reset_emergency_stop(t)
            latched, cmds = False, []
        else:
            pol.controller_ended(t, op[2], "completed")
            started.pop(op[2], None)
            cmds = []
        for c in cmds:
            assert 0.0 <= c.level <= cap + EPS, "policy level above its cap"
            if c.command == "assist":
                assert not latched, "assist after an e-stop before a reset"
                started[c.side] = t
            elif c.command == "cancel":
                started.pop(c.side, None)
        if kind == "tick":
            for s, t0 in started.items():
                assert t - t0 < 0.5 + EPS, f"{s} assisted past max_assist_ms"
        assert set(started) == set(pol.active_sides)
