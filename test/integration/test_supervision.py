"""Lifecycle supervision without launch: a busy stage still answers ``get_state``, the
manager's own parameters are checked, and start/stop cycles in both composition modes
leave no failed transition (the 20-cycle figures: benchmarks.lifecycle_cycles)."""

from __future__ import annotations

import os
import statistics
import threading
import time
import zlib
from pathlib import Path

import pytest

DOMAIN = 1 + (os.getpid() * 13 + zlib.crc32(__name__.encode())) % 100


def test_busy_stage_answers_get_state_while_its_callback_runs():
    import rclpy
    from lifecycle_msgs.srv import GetState
    from rclpy.context import Context

    from rehab_runtime.component import SUCCESS, LifecycleComponent
    from rehab_runtime.executor import ComponentExecutor

    busy = threading.Event()

    class SlowStage(LifecycleComponent):
        """A model stage whose every callback holds a thread (and the GIL, in slices) 2 s."""

        DEFAULT_NAME = "slow_stage"

        def activate(self) -> None:
            self.create_component_timer(0.01, self.work)

        def work(self) -> None:
            busy.set()
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                sum(range(2000))

    server_ctx, client_ctx = Context(), Context()
    rclpy.init(context=server_ctx, domain_id=DOMAIN)
    rclpy.init(context=client_ctx, domain_id=DOMAIN)
    stage = SlowStage(context=server_ctx)
    # as main_for spins a component process: >= 2 threads
    executor = ComponentExecutor(num_threads=2, context=server_ctx)
    executor.add_node(stage)
    threading.Thread(target=executor.spin, daemon=True).start()
    client_node = rclpy.create_node("probe", context=client_ctx)
    client_exec = ComponentExecutor(num_threads=2, context=client_ctx)
    client_exec.add_node(client_node)
    threading.Thread(target=client_exec.spin, daemon=True).start()
    try:
        assert stage.trigger_configure() == SUCCESS and stage.trigger_activate() == SUCCESS
        assert busy.wait(10), "the slow callback never ran"
        client = client_node.create_client(GetState, "/slow_stage/get_state")
        assert client.wait_for_service(timeout_sec=10)
        waits = []
        end = time.monotonic() + 4.0  # two whole slow callbacks
        while time.monotonic() < end:
            asked = time.monotonic()
            done = threading.Event()
            future = client.call_async(GetState.Request())
            future.add_done_callback(lambda _f, d=done: d.set())
            assert done.wait(10), "get_state unanswered"
            waits.append(time.monotonic() - asked)
            assert future.result().current_state.label == "active"
        print(f"\nget_state while the stage is busy: {len(waits)} calls, "
              f"p50 {statistics.median(waits) * 1e3:.1f} ms, max {max(waits) * 1e3:.1f} ms")
        # answered between the 2 s callbacks would mean >= 2 s: these come from another thread
        assert len(waits) >= 10 and max(waits) < 1.0, waits
    finally:
        executor.shutdown(timeout_sec=3)
        client_exec.shutdown(timeout_sec=3)
        stage.destroy_node()
        client_node.destroy_node()
        rclpy.shutdown(context=server_ctx)
        rclpy.shutdown(context=client_ctx)


def test_manager_brings_up_a_node_whose_answers_are_lost():
    """DDS can drop a service's answer while both sides are still discovering each other
    (rmw_fastrtps#842; a fresh-clone CI run lost a get_state this way). Here the node's
    first get_state answer and every change_state answer never come back: the manager
    asks get_state again and reads each transition's effect from the state."""
    import rclpy
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    from rehab_runtime.executor import ComponentExecutor
    from rehab_runtime.lifecycle_manager import LifecycleManager

    goals = {Transition.TRANSITION_CONFIGURE: State.PRIMARY_STATE_INACTIVE,
             Transition.TRANSITION_ACTIVATE: State.PRIMARY_STATE_ACTIVE}
    state, asked, release = [State.PRIMARY_STATE_UNCONFIGURED], [], threading.Event()

    def get_state(_request, response):
        asked.append(time.monotonic())
        if len(asked) == 1:
            release.wait(30)  # the first answer comes after the manager stopped waiting
        response.current_state.id = state[0]
        return response

    def change_state(request, response):
        state[0] = goals[request.transition.id]
        release.wait(30)  # done, but the answer is lost
        response.success = True
        return response

    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN)
    node = rclpy.create_node("mute_stage", context=context)
    group = ReentrantCallbackGroup()
    node.create_service(GetState, "mute_stage/get_state", get_state, callback_group=group)
    node.create_service(ChangeState, "mute_stage/change_state", change_state,
                        callback_group=group)
    manager = LifecycleManager(context=context, parameter_overrides=[
        Parameter("node_names", value=["mute_stage"]), Parameter("heartbeat_period", value=5.0)])
    executor = ComponentExecutor(num_threads=8, context=context)
    executor.add_node(node)
    executor.add_node(manager)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        began = time.monotonic()
        ok, message = manager.startup()
        took = time.monotonic() - began
        assert ok, message
        assert state[0] == State.PRIMARY_STATE_ACTIVE and manager.failed_transitions == 0
        assert len(asked) >= 3 and asked[1] - asked[0] >= 1.5  # asked again, not at once
        assert took < 15, f"bring-up took {took:.1f} s (transition_timeout is 30)"
    finally:
        release.set()
        manager.stop()
        executor.shutdown(timeout_sec=3)
        manager.destroy_node()
        node.destroy_node()
        rclpy.shutdown(context=context)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("heartbeat_period", 0.0, "a number > 0"),
    ("bond_timeout", -1.0, "a number > 0"),
    ("restart_policy", "sometimes", "one of ['restart', 'none']"),
    ("max_restarts", 1.5, "an integer >= 0"),
    ("end_of_input", "exit", "one of ['idle', 'shutdown']"),
    ("end_of_input_settle_s", -1.0, "a number of seconds in [0, 60]"),
])
def test_manager_rejects_bad_parameters_with_a_clear_error(name, value, says):
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    from rehab_core.errors import ConfigError
    from rehab_runtime.lifecycle_manager import LifecycleManager

    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN)
    try:
        with pytest.raises(ConfigError, match=f"'{name}'") as err:
            LifecycleManager(context=context, parameter_overrides=[
                Parameter("node_names", value=["a"]), Parameter(name, value=value)])
        assert says in str(err.value)
    finally:
        rclpy.shutdown(context=context)


def test_container_rejects_bad_num_threads(tmp_path):
    from rehab_core.errors import ConfigError
    from rehab_runtime.container import run_stack

    stack = {"rehab_container": {"ros__parameters": {"components": ["skeleton_tracker"],
                                                     "num_threads": 0}}}
    with pytest.raises(ConfigError, match="'num_threads'=0 must be an integer >= 1"):
        run_stack(stack)


@pytest.mark.parametrize("mode", ["container", "processes"])
def test_start_stop_cycles_leave_no_failed_transition(tmp_path: Path, mode):
    from rehab_perception.benchmarks.lifecycle_cycles import run_cycles, synthetic_clip

    clip = synthetic_clip(tmp_path / "clip.avi", frames=300)
    result = run_cycles(mode, 3, clip, tmp_path, DOMAIN + 100 + (mode == "processes"))
    print(f"\n{result}")
    assert result["problems"] == [] and result["failed_transitions"] == 0, result
    assert result["transitions"] == 3 * 4 * 3  # configure, activate, deactivate, cleanup x 3
    assert result["outputs_flowed"] == 3, result
