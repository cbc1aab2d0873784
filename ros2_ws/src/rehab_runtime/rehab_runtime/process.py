"""One ROS process (a component, the manager) that stops cleanly on SIGINT/SIGTERM.

``ros2 launch`` ends a process with SIGINT, then SIGTERM after 5 s, then
SIGKILL. rclpy's own handlers would shut the context down under running
callbacks and threads (tracebacks such as "rcl node's context is invalid" or
"cannot use Destroyable because destruction was requested"). Here the signal
only sets an event; the main thread then takes the nodes down in order while
the executor still runs, stops the executor, and exits 0.
"""

from __future__ import annotations

import contextlib
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
            if before_stop is not None:
                try:
                    before_stop(nodes)
                except Exception as err:  # report, still stop
                    print(f"{label}: while stopping: {type(err).__name__}: {err}",
                          file=sys.stderr)
            executor.shutdown(timeout_sec=2.0)
            thread.join(timeout=2.0)
            for node in nodes:
                with contextlib.suppress(Exception):
                    node.destroy_node()
    finally:
        rclpy.try_shutdown()
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
