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
