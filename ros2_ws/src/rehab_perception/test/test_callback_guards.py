"""No callback can kill the container's executor thread (issue 12, finding 4).

Before: an exception escaping a callback (a timer, an unguarded subscriber)
ended ``executor.spin()`` in the container's only spin thread, and every
component stopped with it. Now component timers are guarded like inputs
(counted, reason kept) and the container keeps spinning past anything else.
"""

from __future__ import annotations

import threading

import pytest

from rehab_perception.container import ComponentContainer
from rehab_perception.lifecycle_component import SUCCESS


@pytest.fixture()
def container(ros_context):
    c = ComponentContainer(context=ros_context, num_threads=2)
    yield c
    c.shutdown()


def _up(node) -> None:
    assert node.trigger_configure() == SUCCESS, node.last_error
    assert node.trigger_activate() == SUCCESS, node.last_error


def test_a_raising_component_timer_is_counted_and_keeps_firing(container, wait_for):
    node = container.load("skeleton_tracker", "tracker")
    _up(node)
    calls = []

    def explode() -> None:
        calls.append(1)
        raise ValueError("injected")

    node.create_component_timer(0.02, explode)
    container.spin_in_background()
    assert wait_for(lambda: len(calls) >= 5, 20)  # the timer goes on firing after raising
    assert node.diag.drops["processing error"] >= 4
    assert "injected" in node.diag.last_reason
    assert container._thread.is_alive() and container.callback_errors == []


def test_the_container_outlives_an_unguarded_callback(container, wait_for):
    node = container.load("skeleton_tracker", "tracker")
    _up(node)
    fired, later = [], threading.Event()

    def raw_callback() -> None:  # a plain rclpy timer: no component guard around it
        fired.append(1)
        if len(fired) == 1:
            raise RuntimeError("escaped")
        later.set()

    node.create_timer(0.02, raw_callback)
    container.spin_in_background()
    assert later.wait(20), "the executor stopped after the first exception"
    assert container._thread.is_alive()
    assert container.callback_errors and "escaped" in container.callback_errors[0]


def test_common_parameters_are_validated_at_configure(container):
    node = container.load("skeleton_tracker", "tracker", {"diagnostics_period": 0.0})
    assert node.trigger_configure() != SUCCESS
    assert "'diagnostics_period'=0.0 is below its minimum 0.05" in node.last_error


def test_unknown_parameters_are_refused_with_a_suggestion(container):
    from rehab_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown parameter 'keypoint_treshold'; did you mean "
                                          r"'keypoint_threshold'\?"):
        container.load("skeleton_tracker", "tracker", {"keypoint_treshold": 0.2})
    assert "tracker" not in container.nodes
