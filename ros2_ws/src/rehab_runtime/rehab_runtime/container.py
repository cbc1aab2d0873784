"""The Python component container: any set of our components in one process.

Like rclcpp_components, components are found by name: Python entry points in
group ``rehab_runtime.components`` (see setup.cfg), so a third-party
package can add one without touching this file. All components share one
``InProcessBus`` (zero-copy hand-off, see ``channel``) and one
``MultiThreadedExecutor``; their lifecycle services stay normal ROS services,
so the same lifecycle manager drives the container and separate processes.

Executable ``component_container --params stack.yaml [--input X] [--manager]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import time
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from rclpy.context import Context
from rclpy.executors import ExternalShutdownException
from rclpy.parameter import Parameter

from rehab_core.errors import ConfigError, RehabError
from rehab_runtime import stack_config
from rehab_runtime.channel import InProcessBus
from rehab_runtime.component import SUCCESS, LifecycleComponent
from rehab_runtime.dds import use_large_data_profile
from rehab_runtime.executor import ComponentExecutor
from rehab_runtime.manager_support import check_num_threads, check_settle_s
from rehab_runtime.process import TeardownWatchdog, ros_session

GROUP = "rehab_runtime.components"


def component_class(plugin: str) -> type[LifecycleComponent]:
    """The component class registered as ``plugin`` (or a ``module:Class`` path)."""
    if ":" in plugin:
        module, _, name = plugin.partition(":")
        return getattr(importlib.import_module(module), name)
    found = [ep for ep in entry_points(group=GROUP) if ep.name == plugin]
    if not found:
        known = sorted(ep.name for ep in entry_points(group=GROUP))
        raise ConfigError(f"unknown component {plugin!r}; registered: {known}")
    return found[0].load()


def _overrides(params: dict[str, Any]) -> list[Parameter]:
    out = []
    for key, value in params.items():
        if isinstance(value, dict):
            out.extend(Parameter(f"{key}.{p.name}", value=p.value) for p in _overrides(value))
        else:
            out.append(Parameter(key, value=value))
    return out


class ComponentContainer:
    """Loads components into one process and spins them on a ComponentExecutor."""

    def __init__(self, context: Context | None = None, num_threads: int = 4) -> None:
        self.context = context
        self.bus = InProcessBus()
        self.executor = ComponentExecutor(num_threads=num_threads, context=context)
        self.nodes: dict[str, LifecycleComponent] = {}
        self._thread: threading.Thread | None = None
        self._order: list[str] = []
        self.callback_errors: list[str] = []

    def load(self, plugin: str, name: str, parameters: dict[str, Any] | None = None,
             remappings: tuple[tuple[str, str], ...] = (),
             namespace: str = "") -> LifecycleComponent:
        if name in self.nodes:
            raise ConfigError(f"a component named {name!r} is already loaded")
        cls = component_class(plugin)
        cli = ["--ros-args"]
        for src, dst in remappings:
            cli += ["-r", f"{src}:={dst}"]
        node = cls(
            name,
            bus=self.bus,
            context=self.context,
            cli_args=cli if remappings else None,
            **({"namespace": namespace} if namespace else {}),
            parameter_overrides=_overrides(parameters or {}),
            automatically_declare_parameters_from_overrides=False,
        )
        try:
            check_parameter_names(node, parameters or {})
        except ConfigError:
            node.destroy_node()
            raise
        self.nodes[name] = node
        self.executor.add_node(node)
        return node

    def load_stack(self, stack: dict[str, Any]) -> list[LifecycleComponent]:
        specs = stack_config.components(stack)
        known = {ep.name for ep in entry_points(group=GROUP)} | {s.name for s in specs}
        stack_config.check_sections(stack, known)
        return [self.load(s.plugin, s.name, s.parameters, s.remappings, s.namespace)
                for s in specs]

    def add_node(self, node: Any) -> None:
        """Spin a node that is not a component (e.g. the lifecycle manager) here too."""
        self.executor.add_node(node)

    def spin_in_background(self) -> None:
        self._thread = threading.Thread(target=self._spin, name="rehab_container", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        """Spin until shutdown; a callback that still raises is logged and counted, and the
        executor goes on (components guard their own callbacks; this is the last net)."""
        while self.context is None or self.context.ok():
            try:
                self.executor.spin()
                return
            except ExternalShutdownException:
                return
            except Exception as err:  # the executor thread must never die
                self.callback_errors.append(f"{type(err).__name__}: {err}")
                print(f"rehab_container: callback error: {type(err).__name__}: {err}",
                      file=sys.stderr)

    # -- bring-up and bring-down, without a lifecycle manager (``rehab run``, bench) ----

    def bring_up(self, order: Iterable[str] | None = None, *, optional: Iterable[str] = (),
                 hold: Iterable[str] = (), stop: threading.Event | None = None) -> dict[str, str]:
        """Configure every node of ``order`` (default: load order), then activate them in
        that order: producers register on configure and consumers bind on activate, so every
        consumer sees every co-located producer (see ``channel``).

        ``optional`` nodes that fail to configure are left out: returned as name -> why.
        Any other failure raises ``ConfigError`` naming the node and why. ``hold`` nodes
        are configured but not activated: the caller activates them (``activate``) once it
        has bound its own consumers, e.g. the input source last. A set ``stop`` ends the
        bring-up between two nodes (e.g. Ctrl-C while models load), nothing activated.
        """
        self._order = list(order) if order is not None else list(self.nodes)
        optional, held = set(optional), set(hold)
        skipped: dict[str, str] = {}
        for name in self._order:
            if stop is not None and stop.is_set():
                return skipped
            node = self.nodes[name]
            if node.state_label() != "unconfigured":
                continue  # already configured (a bring-up after bring_down)
            if node.trigger_configure() != SUCCESS:
                why = node.last_error or "configure failed"
                if name not in optional:
                    raise ConfigError(f"{name}: {why}")
                skipped[name] = why
        self.activate(n for n in self._order if n not in skipped and n not in held)
        return skipped

    def activate(self, names: Iterable[str]) -> None:
        """Activate these (configured) nodes in order; ``ConfigError`` names one that fails."""
        for name in names:
            node = self.nodes[name]
            if node.trigger_activate() != SUCCESS:
                raise ConfigError(f"{name}: {node.last_error or 'activate failed'}")

    def bring_down(self, *, finalize: bool = False) -> None:
        """Deactivate every active node in reverse bring-up order (they stay configured, a
        later ``bring_up`` activates them again with fresh state); ``finalize``: take every
        node to finalized instead (its outputs closed, its files written)."""
        order = [n for n in self._order if n in self.nodes]
        order += [n for n in self.nodes if n not in order]
        for name in reversed(order):
            node = self.nodes[name]
            with contextlib.suppress(Exception):  # already finalized
                if finalize:
                    node.trigger_shutdown()
                elif node.state_label() == "active":
                    node.trigger_deactivate()

    def outputs(self) -> dict[str, str]:
        """Every output topic of the loaded nodes -> its payload kind, in bring-up order."""
        order = [n for n in self._order if n in self.nodes]
        order += [n for n in self.nodes if n not in order]
        return {out.topic: out.codec.name for name in order
                for out in self.nodes[name].outputs()}

    def shutdown(self) -> None:
        """Components down (active -> inactive -> unconfigured -> finalized), then the executor."""
        self.bring_down(finalize=True)
        self.executor.shutdown(timeout_sec=1.0)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        for node in self.nodes.values():
            node.destroy_node()
        self.nodes.clear()


def check_parameter_names(node: Any, parameters: dict[str, Any]) -> None:
    """Refuse a parameter the node does not declare (a typo would be silently ignored)."""
    unknown = [p.name for p in _overrides(parameters) if not node.has_parameter(p.name)]
    if unknown:
        name = unknown[0]
        declared = set(node.get_parameters_by_prefix(""))
        hint = stack_config.did_you_mean(name, declared)
        raise ConfigError(f"{node.get_name()}: unknown parameter {name!r}{hint}; "
                          f"it declares {sorted(declared)}")


def _input_ended(container: ComponentContainer) -> bool:
    """Every input source (a component with a ``finished`` event) has reached its end."""
    events = [e for n in container.nodes.values()
              if isinstance(e := getattr(n, "finished", None), threading.Event)]
    return bool(events) and all(e.is_set() for e in events)


def _check_input(stack: dict[str, Any]) -> None:
    """A missing or unreadable file/bag is one clear error before anything starts (else the
    image source fails to configure and ``--exit-at-end`` would wait for an end forever)."""
    from rehab_core.io.sources import LIVE_KINDS, input_kind, open_frame_source

    spec = stack_config.node_params(stack, "image_source").get("input")
    if spec in (None, "") or input_kind(str(spec)) in LIVE_KINDS:
        return  # a camera or stream is opened once, by the image source
    source = open_frame_source(str(spec), max_frames=1)
    close = getattr(source, "close", None)
    if close is not None:
        close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", required=True, help="stack parameter file (YAML)")
    parser.add_argument("--input", help="override image_source.input")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one parameter (repeatable)")
    parser.add_argument("--component", action="append", default=[], metavar="ENTRY",
                        help="load one more component, written as in the file's 'components' "
                             "(e.g. exo_assist:exo/exo_assist; repeatable)")
    parser.add_argument("--remap", action="append", default=[], metavar="NODE:FROM:=TO",
                        help="one more remapping, as in the file's 'remappings' (repeatable)")
    parser.add_argument("--manager", action="store_true",
                        help="also run the lifecycle manager in this process")
    parser.add_argument("--exit-at-end", action="store_true",
                        help="stop when the image source reaches the end of its input "
                             "(after the manager's end_of_input_settle_s)")
    args, ros_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    try:
        overrides = stack_config.parse_overrides(args.set)
        return run_stack(args.params, args.input, with_manager=args.manager,
                         overrides=overrides, exit_at_end=args.exit_at_end,
                         ros_args=ros_args, components=args.component, remappings=args.remap)
    except RehabError as err:  # a bad parameter file, a missing input: one line, exit 2
        print(f"component_container: error: {err}", file=sys.stderr)
        return 2


def run_stack(params: str | Path | dict[str, Any], input_: str | None = None, *,
              with_manager: bool = True, overrides: list[tuple[str, str, Any]] = (),
              exit_at_end: bool = False, ros_args: list[str] | None = None,
              components: list[str] = (), remappings: list[str] = ()) -> int:
    """Run the container (and manager) until Ctrl-C / SIGTERM, then bring it down in order.

    rclpy's own signal handlers are off: they would shut the context down
    first, and the lifecycle teardown (deactivate, cleanup: the recorder
    closes its file, models are freed) needs the graph still running. The
    teardown is bounded (about 3 s over the services, then every component's
    shutdown transition directly), so a signal ends the process within 5 s.
    ``exit_at_end`` is the manager's ``end_of_input: shutdown``. ``components`` and
    ``remappings`` are added to the file's (e.g. the exoskeleton pair of a launch).
    """
    from rclpy.signals import SignalHandlerOptions

    from rehab_runtime.lifecycle_manager import PARAMS, LifecycleManager

    stack = stack_config.load_stack(params)
    if input_:
        stack_config.set_param(stack, "image_source", "input", input_)
    for node, param, value in overrides:
        stack_config.set_param(stack, node, param, value)
    graph = stack_config.node_params(stack, stack_config.CONTAINER)
    for key, extra in (("components", components), ("remappings", remappings)):
        if extra:
            stack_config.set_param(stack, stack_config.CONTAINER, key,
                                   [*(graph.get(key) or []), *extra])
    if exit_at_end:
        stack_config.set_param(stack, stack_config.MANAGER, "end_of_input", "shutdown")
    threads = check_num_threads(
        stack_config.node_params(stack, stack_config.CONTAINER).get("num_threads", 4),
        stack_config.CONTAINER)
    _check_input(stack)
    # without a manager, --exit-at-end waits its settle time too (frames in flight)
    settle = "end_of_input_settle_s"
    settle_s = check_settle_s(stack_config.manager_params(stack).get(settle, PARAMS[settle][0]))
    use_large_data_profile()
    stop = threading.Event()
    watchdog: TeardownWatchdog | None = None
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ros_session(ros_args, signal_handler_options=SignalHandlerOptions.NO):
            container = ComponentContainer(num_threads=threads)
            manager = None
            try:
                container.load_stack(stack)
                if with_manager:
                    manager = LifecycleManager(
                        parameter_overrides=_overrides(stack_config.manager_params(stack))
                    )
                    container.add_node(manager)
                container.spin_in_background()
                if manager is not None:
                    manager.start_autostart()
                ended_at = None
                while not stop.wait(0.1):
                    if manager is not None and manager.finished.is_set():
                        break
                    if manager is None and exit_at_end and _input_ended(container):
                        ended_at = ended_at or time.monotonic()
                        if time.monotonic() - ended_at >= settle_s:
                            break
            finally:
                # stalls past this are reported and ended (process.TeardownWatchdog)
                watchdog = TeardownWatchdog("component_container", 4.5).start()
                if manager is not None:
                    manager.shutdown(timeout=3.0)  # reverse order over the lifecycle services
                    manager.stop()
                    manager.destroy_node()
                watchdog.at("destroying the nodes")
                container.shutdown()
                watchdog.at("shutting down the ROS context")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        # a second Ctrl-C (launch repeats the terminal's) must not become a traceback at
        # exit: from here on signals are ignored
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
    return 0
