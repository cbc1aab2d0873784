"""Exo assistance safety policy: onset/offset, debounce, limits, e-stop, watchdog."""

from __future__ import annotations

import itertools
import random

import pytest

from rehab_core.assist import ExoPolicy, ExoPolicyConfig, Phase
from rehab_core.errors import ConfigError

DT = 1 / 30


def _feed(policy, t0, side, phases, conf=0.9):
    out, t = [], t0
    for ph in phases:
        out += policy.update(t, side, ph, conf)
        t += DT
    return out, t


def _kinds(cmds):
    return [(c.command, c.side) for c in cmds]


def test_debounced_onset_assists_once_then_offset_cancels():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=2, assist_level=0.4))
    out, t = _feed(p, 0.0, "left", [Phase.NO_REACH, Phase.ONSET])
    assert out == []  # one confident frame is not enough
    out, t = _feed(p, t, "left", [Phase.REACH, Phase.REACH, Phase.REACH])
    assert _kinds(out) == [("assist", "left")]
    assert out[0].level == pytest.approx(0.4) and "onset" in out[0].reason
    out, t = _feed(p, t, "left", [Phase.OFFSET])
    assert _kinds(out) == [("cancel", "left")] and "offset" in out[0].reason
    assert not p.assisting("left")


def test_low_confidence_or_interrupted_onset_never_assists():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=3, min_confidence=0.7))
    out, t = _feed(p, 0.0, "right", [Phase.ONSET, Phase.REACH] * 5, conf=0.5)
    assert out == []
    out, _ = _feed(p, t, "right", [Phase.ONSET, Phase.REACH, Phase.NO_REACH, Phase.ONSET,
                                   Phase.REACH, Phase.NO_REACH])
    assert out == []


def test_debounce_ms_needs_time_as_well_as_frames():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, debounce_ms=100))
    out, t = _feed(p, 0.0, "left", [Phase.ONSET, Phase.REACH, Phase.REACH])  # 67 ms
    assert out == []
    out, _ = _feed(p, t, "left", [Phase.REACH])  # 100 ms
    assert _kinds(out) == [("assist", "left")]


def test_abandoned_reach_cancels_and_needs_rearm_and_refractory():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, refractory_ms=500))
    out, t = _feed(p, 0.0, "left", [Phase.ONSET, Phase.NO_REACH])
    assert _kinds(out) == [("assist", "left"), ("cancel", "left")]
    assert "abandoned" in out[1].reason
    out, t = _feed(p, t, "left", [Phase.ONSET, Phase.REACH])  # within refractory
    assert out == []
    out, t = _feed(p, t + 0.5, "left", [Phase.REACH, Phase.REACH])  # no NO_REACH yet
    assert out == []
    out, _ = _feed(p, t, "left", [Phase.NO_REACH, Phase.ONSET])
    assert _kinds(out) == [("assist", "left")]


def test_max_duration_auto_cancels():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, max_assist_ms=200))
    out, _t = _feed(p, 0.0, "right", [Phase.ONSET] + [Phase.REACH] * 10)
    assert _kinds(out) == [("assist", "right"), ("cancel", "right")]
    assert "max assist duration" in out[1].reason
    assert out[1].t - out[0].t == pytest.approx(0.2, abs=DT)


def test_emergency_stop_cancels_blocks_and_needs_reset():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1))
    _feed(p, 0.0, "left", [Phase.ONSET])
    _feed(p, 0.0, "right", [Phase.ONSET])
    out = p.emergency_stop(0.1, "button")
    assert sorted(_kinds(out)) == [("cancel", "left"), ("cancel", "right")]
    out, t = _feed(p, 0.2, "left", [Phase.NO_REACH, Phase.ONSET, Phase.REACH] * 3)
    assert out == []
    assert p.reset_emergency_stop(t) and not p.reset_emergency_stop(t)
    out, t = _feed(p, t + 2.0, "left", [Phase.REACH])
    assert out == []  # after a reset a side must be seen at rest first
    out, _ = _feed(p, t, "left", [Phase.NO_REACH, Phase.ONSET])
    assert _kinds(out) == [("assist", "left")]
    events = [c.command for c in p.log]
    assert "emergency_stop" in events and "reset_emergency_stop" in events


def test_watchdog_cancels_on_stale_perception():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, stale_after_ms=300))
    _feed(p, 0.0, "left", [Phase.ONSET])
    assert p.tick(0.2) == []
    out = p.tick(0.35)
    assert _kinds(out) == [("cancel", "left")] and "stale" in out[0].reason


def test_one_side_silent_is_cancelled_even_if_the_other_reports():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, stale_after_ms=300))
    _feed(p, 0.0, "left", [Phase.ONSET])
    out, _ = _feed(p, DT, "right", [Phase.NO_REACH] * 15)
    assert _kinds(out) == [("cancel", "left")] and "no left" in out[0].reason


def test_deactivate_is_safe_state():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1))
    _feed(p, 0.0, "left", [Phase.ONSET])
    out = p.deactivate(0.1)
    assert _kinds(out) == [("cancel", "left")] and "safe state" in out[0].reason
    assert p.active_sides == []


def test_controller_end_frees_the_side_with_refractory():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, refractory_ms=300))
    _feed(p, 0.0, "left", [Phase.ONSET])
    p.controller_ended(0.1, "left", "fault: overcurrent")
    assert not p.assisting("left")
    assert p.log[-1].command == "controller_ended" and "fault" in p.log[-1].reason


def test_level_is_clamped_to_the_maximum():
    p = ExoPolicy(ExoPolicyConfig(debounce_frames=1, assist_level=5.0, max_assist_level=0.3))
    out, _ = _feed(p, 0.0, "left", [Phase.ONSET])
    assert out[0].level == pytest.approx(0.3)


@pytest.mark.parametrize("seed", range(20))
def test_property_no_command_ever_exceeds_max_level(seed):
    rng = random.Random(seed)
    max_level = rng.uniform(0.0, 1.0)
    cfg = ExoPolicyConfig(
        debounce_frames=rng.randint(1, 4), min_confidence=rng.uniform(0, 1),
        assist_level=rng.uniform(0, 3), max_assist_level=max_level,
        refractory_ms=rng.uniform(0, 500), max_assist_ms=rng.uniform(50, 2000),
        stale_after_ms=rng.uniform(50, 500),
    )
    p = ExoPolicy(cfg)
    t = 0.0
    for _ in range(2000):
        t += rng.choice([DT, DT, DT, 0.0, 0.4])
        r = rng.random()
        if r < 0.01:
            p.emergency_stop(t)
        elif r < 0.03:
            p.reset_emergency_stop(t)
        elif r < 0.04:
            p.deactivate(t)
        elif r < 0.1:
            p.tick(t)
        else:
            p.update(t, rng.choice(["left", "right"]), rng.choice(list(Phase)), rng.random())
    assert all(c.level <= max_level + 1e-12 for c in p.log)
    assert all(c.reason for c in p.log)
    # assists and cancels alternate per side: never two assists without a cancel between
    for side in ("left", "right"):
        seq = [c.command for c in p.log if c.side == side and c.command in ("assist", "cancel",
                                                                              "controller_ended")]
        for a, b in itertools.pairwise(seq):
            assert not (a == "assist" and b == "assist")


def test_bad_config_and_side_are_clear_errors():
    with pytest.raises(ConfigError, match="max_assist_level"):
        ExoPolicyConfig(max_assist_level=1.5)
    with pytest.raises(ConfigError, match="debounce_frames"):
        ExoPolicyConfig(debounce_frames=0)
    with pytest.raises(ConfigError, match="unknown side"):
        ExoPolicy().update(0.0, "middle", Phase.ONSET, 1.0)
