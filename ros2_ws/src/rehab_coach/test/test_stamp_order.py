"""StampOrder: inputs of several topics come out in stamp order, whatever their arrival."""

from __future__ import annotations

import pytest

from rehab_coach.stamp_order import StampOrder


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_late_lower_stamp_overtakes_within_the_hold():
    clock, seen = FakeClock(), []
    order = StampOrder(0.2, clock)
    order.put(2, 0, seen.append, "skeletons 2")
    clock.t = 0.05
    order.put(1, 1, seen.append, "action 1")  # handled late by another executor thread
    order.put(2, 1, seen.append, "action 2")
    order.put(1, 0, seen.append, "skeletons 1")
    assert order.drain() == 0 and not seen  # nothing held long enough yet
    clock.t = 0.3
    assert order.drain() == 4
    assert seen == ["skeletons 1", "action 1", "skeletons 2", "action 2"]


def test_an_input_waits_only_its_hold_and_everything_flushes_on_demand():
    clock, seen = FakeClock(), []
    order = StampOrder(0.2, clock)
    order.put(5, 0, seen.append, "a")
    clock.t = 0.19
    order.put(6, 0, seen.append, "b")
    assert order.drain() == 0
    clock.t = 0.2
    assert order.drain() == 1 and seen == ["a"]
    assert order.drain(everything=True) == 1 and seen == ["a", "b"] and len(order) == 0


def test_negative_hold_is_refused():
    with pytest.raises(ValueError, match="hold_s"):
        StampOrder(-1.0)
