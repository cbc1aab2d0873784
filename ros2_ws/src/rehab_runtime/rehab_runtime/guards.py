"""Guards around every component callback: no exception ever reaches the executor.

Why: an exception escaping a callback ends ``executor.spin()`` on that thread;
in the container that stops every component at once and ``rehab run`` waits
forever. So each input handler and each timer a component creates runs
inside a guard that turns an exception into a counted drop with its reason
(``ComponentDiagnostics``, published on ``/diagnostics``) and a throttled
log line, and the next frame is processed as usual.

Inputs also drop duplicate and out-of-order stamps. Timers are tracked while
they run so deactivation can wait (bounded) for the one in flight: a frame a
source timer is publishing then reaches every stage before they go down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rehab_core.errors import BadFrameError


class CallbackGuards:
    """Mixin of ``LifecycleComponent``: wraps its input handlers and timer callbacks.

    Uses the component's ``_lock``, ``is_active``, ``diag``, ``take_downstream``
    and ``get_logger``.
    """

    def _init_guards(self) -> None:
        self._timer_idle = threading.Condition()
        self._timers_running: dict[int, bool] = {}  # thread id of each timer in flight

    def _wait_for_timers(self, timeout_s: float = 5.0) -> None:
        """Until no timer callback runs (but this thread's); bounded, so a stuck one
        cannot block shutdown."""
        me = threading.get_ident()
        with self._timer_idle:
            self._timer_idle.wait_for(lambda: not set(self._timers_running) - {me},
                                      timeout=timeout_s)

    def _guard(self, handler: Callable[[Any], None], kind: str,
               check_stamps: bool) -> Callable[[Any], None]:
        last_stamp = [-1]

        def guarded(payload: Any) -> None:
            started = time.perf_counter()
            stamp = int(getattr(payload, "stamp_ns", -1))
            with self._lock:
                if not self.is_active:
                    return
                if check_stamps and stamp == last_stamp[0]:
                    self.diag.drop(f"duplicate stamp: {kind} {stamp}")
                    return
                if check_stamps and stamp < last_stamp[0]:
                    self.diag.drop(f"out-of-order stamp: {kind} {stamp} < {last_stamp[0]}")
                    return
                self.take_downstream()
                try:
                    handler(payload)
                except BadFrameError as err:
                    self.diag.drop(f"bad frame: {err}")
                    return
                except Exception as err:
                    self.diag.drop(f"processing error: {type(err).__name__}: {err}")
                    self.get_logger().error(
                        f"{kind} callback failed: {type(err).__name__}: {err}",
                        throttle_duration_sec=5.0,
                    )
                    return
                last_stamp[0] = stamp
                self.diag.frame_done(stamp, started, self.take_downstream())

        return guarded

    def _guard_timer(self, callback: Callable[[], Any]) -> Callable[[], Any]:
        name = getattr(callback, "__name__", "timer")

        def guarded() -> Any:
            with self._timer_idle:
                self._timers_running[threading.get_ident()] = True
            try:
                return callback()
            except Exception as err:  # counted and logged; the executor thread lives on
                self.diag.drop(f"processing error: {name}: {type(err).__name__}: {err}")
                self.get_logger().error(f"{name} failed: {type(err).__name__}: {err}",
                                        throttle_duration_sec=5.0)
                return None
            finally:
                with self._timer_idle:
                    self._timers_running.pop(threading.get_ident(), None)
                    self._timer_idle.notify_all()

        return guarded
