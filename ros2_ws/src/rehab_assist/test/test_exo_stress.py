"""Short run of the exo stress benchmark (rehab_assist.exo_stress): 200 goals/s from 3 nodes
while the e-stop toggles. Asserts outcomes (every goal answered, every e-stop honoured, the
cap held); the latency figures are printed (the 10 s run is the benchmark)."""

from __future__ import annotations

from rehab_assist.exo_stress import run_stress


def test_goal_flood_with_toggling_estop(capsys):
    r = run_stress(rate=200.0, seconds=3.0, senders=3, toggle_s=0.4, seed=1)
    with capsys.disabled():
        print(f"\nexo stress 3 s: {r['goals_sent']} goals, {r['goals_answered']} answered, "
              f"{r['estops']} e-stops ({r['estops_while_assisting']} while assisting): stop "
              f"median {r['stop_ms_median']:.1f} ms, worst {r['stop_ms_worst']:.1f} ms")
    assert r["goals_sent"] >= 300
    assert r["goals_answered"] == r["goals_sent"], "some goals were never answered"
    assert r["goals_accepted"] >= 1 and r["estops"] >= 2 and r["estops_missed"] == 0
    assert r["max_level_applied"] <= r["level_cap"]
