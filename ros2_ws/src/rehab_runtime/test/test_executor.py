"""ComponentExecutor: a busy subscriber keeps every message, and no task is queued twice.

rclpy's own MultiThreadedExecutor (9.1.x) re-queued tasks still waiting in its pool
(ros2/rclpy#1452): thousands of duplicate futures, and subscription queues overwritten.
"""

from __future__ import annotations

import threading
import time

import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Int32

from rehab_runtime.executor import ComponentExecutor

pytestmark = pytest.mark.ros


def test_a_busy_subscriber_receives_every_message_and_tasks_are_queued_once(ros_context,
                                                                              wait_for):
    import rclpy

    executor = ComponentExecutor(num_threads=4, context=ros_context)
    sub_node = rclpy.create_node("busy_subscriber", context=ros_context)
    pub_node = rclpy.create_node("publisher", context=ros_context)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    got: list[int] = []
    most_queued = [0]

    def slow(msg: Int32) -> None:  # ~2 ms of work per message, like a small model stage
        until = time.perf_counter() + 0.002
        while time.perf_counter() < until:
            pass
        got.append(msg.data)
        most_queued[0] = max(most_queued[0], len(executor._futures))

    sub_node.create_subscription(Int32, "numbers", slow, qos)
    sub_node.create_timer(0.005, lambda: None)  # other work competing for the pool
    pub = pub_node.create_publisher(Int32, "numbers", qos)
    executor.add_node(sub_node)
    executor.add_node(pub_node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: pub.get_subscription_count() == 1, 10), "no discovery"
        n = 300
        for i in range(n):  # 150 messages/s, paced: the subscriber can keep up
            pub.publish(Int32(data=i))
            time.sleep(1 / 150)
        assert wait_for(lambda: len(got) == n, 20), f"received {len(got)} of {n}"
        assert got == list(range(n))
        # one task per ready entity at most (subscription, timer, guard conditions)
        assert most_queued[0] <= 8, most_queued[0]
        print(f"\nComponentExecutor: {len(got)}/{n} delivered, at most {most_queued[0]} tasks "
              f"queued, {executor.requeues_avoided} re-queues avoided")
    finally:
        executor.shutdown()
        thread.join(timeout=5)
        sub_node.destroy_node()
        pub_node.destroy_node()


def test_an_entity_destroyed_while_the_wait_set_is_built_does_not_kill_the_spin(ros_context,
                                                                                 wait_for):
    """A therapist page stopped by launch logged a traceback from its spin thread: its
    cleanup (main thread) destroyed its ActionClient after the spin thread had listed it,
    and rclpy raised "action client pointer is invalid" building the wait set. The spin
    goes on without the entity; other errors still surface."""
    import rclpy
    from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
    from rclpy.waitable import NumberOfEntities, Waitable

    from rehab_runtime.executor import destroyed_meanwhile

    node = rclpy.create_node("destroys_an_entity", context=ros_context)

    class DestroyedClient(Waitable):
        """Listed by the spin thread, destroyed by another before it joins the wait set."""

        def __init__(self) -> None:
            super().__init__(node.default_callback_group)

        def __enter__(self) -> None:
            return None

        def __exit__(self, *_exc) -> None:
            return None

        def add_to_wait_set(self, wait_set) -> None:
            node.remove_waitable(self)
            raise _rclpy.RCLError("Failed to add 'rcl_action_client_t' to wait set: action "
                                  "client pointer is invalid")

        def get_num_entities(self) -> NumberOfEntities:
            return NumberOfEntities()

        def is_ready(self, wait_set) -> bool:
            return False

        def take_data(self):
            return None

        async def execute(self, taken_data) -> None:
            return None

    ticks: list[float] = []
    node.create_timer(0.01, lambda: ticks.append(time.monotonic()))
    executor = ComponentExecutor(num_threads=2, context=ros_context)
    executor.add_node(node)
    failures: list[BaseException] = []

    def spin() -> None:
        try:
            executor.spin()
        except BaseException as err:  # the test reports what killed the spin
            failures.append(err)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: len(ticks) >= 3, 5)
        node.add_waitable(DestroyedClient())
        executor.wake()
        seen = len(ticks)
        assert wait_for(lambda: len(ticks) >= seen + 10, 5), "the spin stopped"
        assert failures == [] and thread.is_alive()
    finally:
        executor.shutdown(timeout_sec=2)
        thread.join(timeout=2)
        node.destroy_node()
    assert not destroyed_meanwhile(RuntimeError("pointer is invalid"))
    assert not destroyed_meanwhile(_rclpy.RCLError("wait set full"))
