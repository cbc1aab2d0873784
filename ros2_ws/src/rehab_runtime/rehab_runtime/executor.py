"""The multi-threaded executor every rehab process spins.

Why: rclpy's ``MultiThreadedExecutor`` (9.1.x, the Kilted wheels we install)
yields a task again while it still waits in the thread pool's queue
(ros2/rclpy#1452, fixed upstream by #1547 after this release). Once the pool
falls behind, the spin thread re-queues the same tasks thousands of times
while holding the GIL, the workers starve and the subscriptions' queues
overwrite messages. We measured it: a RunExercise server fed a 3x replay took
79 of ~300 messages while over 2,000 duplicate futures sat in the pool, and
its goal ended ``person_lost``. ``ComponentExecutor`` queues each task once
and, when the only ready work is already queued, waits for a worker to pick
it up instead of spinning.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rclpy.executors import (
    ConditionReachedException,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    TimeoutException,
)

#: how long the spin thread waits for a worker when the ready work is already queued;
#: short, because a wait set wake-up (new message) is not seen while it waits
REQUEUE_WAIT_S = 0.002


class ComponentExecutor(MultiThreadedExecutor):
    """``MultiThreadedExecutor`` that never queues a task twice (see the module doc)."""

    def __init__(self, num_threads: int | None = None, *, context: Any = None) -> None:
        super().__init__(num_threads, context=context)
        self._queued: set[Any] = set()
        self._picked_up = threading.Condition()
        #: tasks the spin thread found already queued (each would have been queued again)
        self.requeues_avoided = 0

    def _spin_once_impl(self, timeout_sec: Any = None,
                        wait_condition: Callable[[], bool] = lambda: False) -> None:
        try:
            handler, _entity, _node = self.wait_for_ready_callbacks(
                timeout_sec, None, wait_condition)
        except (ExternalShutdownException, ShutdownException, TimeoutException,
                ConditionReachedException):
            return
        except Exception as err:
            if not destroyed_meanwhile(err):
                raise
            return  # the next wait set is built without it
        with self._picked_up:
            if handler in self._queued:
                self.requeues_avoided += 1
                self._picked_up.wait(REQUEUE_WAIT_S)
                return
            self._queued.add(handler)
        self._executor.submit(self._run, handler)
        if handler not in self._futures:  # the task itself: its result() re-raises
            self._futures.append(handler)
        for task in self._futures[:]:
            if task.done():
                self._futures.remove(task)
                task.result()  # a callback's exception surfaces here, as in rclpy

    def _run(self, handler: Callable[[], Any]) -> None:
        with self._picked_up:
            self._queued.discard(handler)
            self._picked_up.notify_all()
        handler()


def destroyed_meanwhile(err: Exception) -> bool:
    """An entity another thread destroyed while this one built the wait set.

    A component's cleanup (an ``ActionClient`` destroyed while the process
    stops, on the main thread) can race the spin thread, which had already
    listed it: rclpy then raises "action client pointer is invalid" from the
    wait set. That entity is gone from its node, so the next wait set is fine;
    anything else is re-raised.
    """
    text = str(err).lower()
    return type(err).__name__ in ("RCLError", "InvalidHandle") and (
        "invalid" in text or "destroyed" in text)
