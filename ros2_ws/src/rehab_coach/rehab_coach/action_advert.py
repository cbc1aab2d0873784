"""An action server that is advertised only while its component is active.

Why: nav2's servers stay advertised while inactive and reject goals. Then
``ros2 action list`` and a client's ``server_is_ready()`` (the therapist
page's "coach connected") say a server is there that will refuse every goal,
as the RunExercise server did after a hand ``deactivate``. Here the server is
created at activate and withdrawn after deactivate, once no goal is running
and ``linger_s`` has passed (so the result of a goal that deactivate ended
still reaches its client), then created again at the next activate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rclpy.action import ActionServer
from rclpy.node import Node


class ActionAdvert:
    """Creates the server on ``advertise``; ``withdraw`` destroys it once idle.

    Wrap the server's execute callback in ``tracked`` so running goals are known.
    """

    def __init__(self, node: Node, make: Callable[[], ActionServer],
                 linger_s: float = 1.0) -> None:
        if linger_s < 0:
            raise ValueError(f"linger_s must be >= 0, got {linger_s}")
        self._node = node
        self._make = make
        self.linger_s = linger_s
        self.server: ActionServer | None = None
        self._running = 0  # goals whose (tracked) execute callback is running
        self._withdrawing = False
        self._timer = None
        self._lock = threading.Lock()

    def advertise(self) -> None:
        with self._lock:
            self._withdrawing = False
            if self.server is None:
                self.server = self._make()

    def withdraw(self) -> None:
        """Withdraw once no goal runs (their results sent), ``linger_s`` from now."""
        with self._lock:
            self._withdrawing = True
            if self._running == 0:
                self._schedule()

    def tracked(self, execute: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``execute`` (a goal's execute callback), counted while it runs."""

        def run(goal_handle):
            with self._lock:
                self._running += 1
            try:
                return execute(goal_handle)
            finally:  # the result is sent after this returns: hence linger_s
                with self._lock:
                    self._running -= 1
                    if self._withdrawing and self._running == 0:
                        self._schedule()

        return run

    def destroy(self) -> None:
        """Now, whatever runs (cleanup: the component's goals have ended)."""
        with self._lock:
            self._withdrawing = False
            self._drop_timer()
            if self.server is not None:
                self.server.destroy()
                self.server = None

    def _schedule(self) -> None:
        if self.server is not None and self._timer is None:
            self._timer = self._node.create_timer(self.linger_s, self._withdraw_now)

    def _withdraw_now(self) -> None:
        with self._lock:
            self._drop_timer()
            if self._withdrawing and self._running == 0 and self.server is not None:
                self.server.destroy()
                self.server = None
                self._node.get_logger().info("action withdrawn until the next activate")

    def _drop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._node.destroy_timer(self._timer)
            self._timer = None
