"""One ROS process (a component, the manager) that stops cleanly on SIGINT/SIGTERM.

``ros2 launch`` ends a process with SIGINT, then SIGTERM after 5 s, then
SIGKILL. rclpy's own handlers would shut the context down under running
callbacks and threads (tracebacks such as "rcl node's context is invalid" or
"cannot use Destroyable because destruction was requested"). Here the signal
only sets an event; the main thread then takes the nodes down in order while
the executor still runs, stops the executor, and exits 0, within
``TEARDOWN_LIMIT_S`` (``TeardownWatchdog``).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.signals import SignalHandlerOptions

from rehab_core.errors import ConfigError
from rehab_runtime.component import SUCCESS, LifecycleComponent
from rehab_runtime.dds import use_large_data_profile
from rehab_runtime.executor import ComponentExecutor

Hook = Callable[[list[Any]], Any]

#: ``ros2 launch`` escalates to SIGTERM 5 s after SIGINT; a teardown still running after
#: this long is given up (``TeardownWatchdog``) before launch has to
TEARDOWN_LIMIT_S = 4.0
COMPONENTS_STAGE = "stopping the components"


class TeardownWatchdog:
    """Ends the process when its teardown stalls, saying where, instead of hanging.

    Why: Fast DDS can block a participant's destruction for good when a peer
    process was killed while it held their shared-memory port (we saw a
    respawned component ignore SIGINT and SIGTERM until launch's SIGKILL after
    a ``kill -9`` of its predecessor). Our signal handlers only set an event,
    so a main thread stuck in native code would never see a second signal.
    Past ``limit_s`` the watchdog prints every thread's stack and exits: 0
    when the components were already down (only middleware teardown was left),
    1 when they were not.
    """

    def __init__(self, label: str, limit_s: float = TEARDOWN_LIMIT_S) -> None:
        self.label = label
        self.limit_s = limit_s
        self.stage = COMPONENTS_STAGE
        self._timer = threading.Timer(limit_s, self._give_up)
        self._timer.daemon = True

    def start(self) -> TeardownWatchdog:
        self._timer.start()
        return self

    def at(self, stage: str) -> None:
        """The teardown step now running (named in the report if it stalls)."""
        self.stage = stage

    def cancel(self) -> None:
        self._timer.cancel()

    def _give_up(self) -> None:
        code = 1 if self.stage == COMPONENTS_STAGE else 0
        print(f"{self.label}: teardown stalled for {self.limit_s:.0f} s while {self.stage}; "
              "each thread's stack:", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        print(f"{self.label}: exiting without the rest of the teardown (exit code {code})",
              file=sys.stderr, flush=True)
        os._exit(code)


def _spin(executor: ComponentExecutor) -> None:
    with contextlib.suppress(ExternalShutdownException):
        executor.spin()


def run_until_signal(build: Callable[[], list[Any]], *, args: list[str] | None = None,
                     num_threads: int | None = None, after_start: Hook | None = None,
                     finished: Hook | None = None, before_stop: Hook | None = None,
                     label: str = "node") -> int:
    """Spin ``build()``'s nodes until a signal (or ``finished``), then stop; exit code."""
    use_large_data_profile()
    stop = threading.Event()
    watchdog: TeardownWatchdog | None = None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        try:
            nodes = build()
        except ConfigError as err:
            print(f"{label}: error: {err}", file=sys.stderr)
            return 2
        executor = ComponentExecutor(num_threads=num_threads)
        for node in nodes:
            executor.add_node(node)
        thread = threading.Thread(target=_spin, args=(executor,), daemon=True, name=label)
        thread.start()
        try:
            if after_start is not None:
                after_start(nodes)
            while not stop.wait(0.1):
                if finished is not None and finished(nodes):
                    break
        finally:
            watchdog = TeardownWatchdog(label).start()
            if before_stop is not None:
                try:
                    before_stop(nodes)
                except Exception as err:  # report, still stop
                    print(f"{label}: while stopping: {type(err).__name__}: {err}",
                          file=sys.stderr)
            watchdog.at("stopping the executor")
            executor.shutdown(timeout_sec=2.0)
            thread.join(timeout=2.0)
            watchdog.at("destroying the nodes")
            for node in nodes:
                with contextlib.suppress(Exception):
                    node.destroy_node()
            watchdog.at("shutting down the ROS context")
    finally:
        rclpy.try_shutdown()
        if watchdog is not None:
            watchdog.cancel()
        # launch repeats the SIGINT a terminal already sent: ignored from here on (Python
        # resets its own handlers to the default, "die by SIGINT", while exiting; SIG_IGN stays)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    return 0


@contextlib.contextmanager
def ros_session(args: list[str] | None = None, **init_kwargs: Any) -> Iterator[None]:
    """``with rclpy.init(...)`` that also works on Humble (whose init is no context manager)."""
    rclpy.init(args=args, **init_kwargs)
    try:
        yield
    finally:
        rclpy.try_shutdown()


def main_for(cls: type[LifecycleComponent]) -> Callable[[list[str] | None], int]:
    """The body of a component's ``ros2 run`` executable."""

    def main(args: list[str] | None = None) -> int:
        def autostart(nodes: list[LifecycleComponent]) -> None:
            for node in nodes:
                if node.get_parameter("autostart").value and node.trigger_configure() == SUCCESS:
                    node.trigger_activate()

        def shut_down(nodes: list[LifecycleComponent]) -> None:
            for node in nodes:  # active/inactive/unconfigured -> finalized, outputs closed
                with contextlib.suppress(Exception):
                    node.trigger_shutdown()

        # >= 2 threads: one may be busy in a model callback, another answers get_state
        return run_until_signal(lambda: [cls()], args=args, after_start=autostart,
                                num_threads=max(2, os.cpu_count() or 2),
                                before_stop=shut_down, label=cls.DEFAULT_NAME)

    main.__doc__ = f"Run {cls.__name__} as its own process."
    return main
