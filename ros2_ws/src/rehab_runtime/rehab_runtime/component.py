"""Project base node: every perception component is a ``LifecycleComponent``.

Like nav2's ``LifecycleNode``, it holds what every component repeats, so a
component file is only its own logic:

* ``PARAMS`` (``ParamSpec``: default, description, range or choices) are
  declared in ``__init__``; ``on_configure`` reads them into the component's
  frozen ``Config`` dataclass and validates them. A bad value, a missing
  model file or a missing backend logs one clear message, cleans up and
  returns FAILURE (the node stays unconfigured, nothing half-built); see
  ``params`` for why ranges are checked there and not by descriptors. A
  parameter the node does not declare (a typo) fails configure too.
* Inputs, outputs and timers are created through ``create_input`` /
  ``create_output`` / ``create_component_timer`` so they take the in-process
  zero-copy path inside the container (see ``channel``), are started and
  stopped in mirror order, and every input and timer is guarded (``guards``):
  a bad message, duplicate or out-of-order stamp, or an exception in the
  component's callback is counted as a drop with its reason, never a crash.
* ``process.main_for(cls)`` is the ``ros2 run`` entry point body.

Subclasses implement ``configure(cfg)``, ``activate()``, and optionally
``deactivate()`` and ``cleanup()``; they never override the ``on_*`` methods.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle.node import LifecycleNodeMixin
from rclpy.node import Node

from rehab_core.errors import RehabError
from rehab_runtime.channel import InProcessBus, Input, Output
from rehab_runtime.codecs import Codec
from rehab_runtime.diagnostics import ComponentDiagnostics
from rehab_runtime.guards import CallbackGuards
from rehab_runtime.params import COMMON_PARAMS, NoConfig, ParamSpec
from rehab_runtime.params import ConfigRejected as _ConfigRejected

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


class LifecycleComponent(CallbackGuards, LifecycleNode):
    """Base of every perception component (see the module docstring)."""

    DEFAULT_NAME: ClassVar[str] = "component"
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    Config: ClassVar[type] = NoConfig

    def __init__(self, node_name: str | None = None, *, bus: InProcessBus | None = None,
                 **node_kwargs: Any) -> None:
        # the lifecycle services get their own callback group: a stage busy in a model
        # callback (default group) still answers get_state on another executor thread
        # (LifecycleNode.__init__ is these two calls but does not pass a callback group on)
        Node.__init__(self, node_name or self.DEFAULT_NAME, **node_kwargs)
        LifecycleNodeMixin.__init__(self, callback_group=MutuallyExclusiveCallbackGroup())
        # failures are published (ERROR on /diagnostics) so the manager can say why
        self._error_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.bus = bus
        self.diag = ComponentDiagnostics()
        self.config: Any = None
        self.last_error = ""
        self.is_active = False
        self._lock = threading.RLock()
        self._init_guards()
        self._outputs: list[Output] = []
        self._inputs: list[Input] = []
        self._timers: list[Any] = []
        self._diag_pub = None
        self._downstream = threading.local()  # time spent in in-process consumers, per thread
        for spec in (*COMMON_PARAMS, *self.PARAMS):
            self.declare_parameter(
                spec.name,
                spec.default,
                ParameterDescriptor(
                    description=spec.description,
                    additional_constraints=spec.constraints(),
                    dynamic_typing=True,  # a wrong type fails configure, not the constructor
                ),
            )
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # -- hooks for subclasses ------------------------------------------------

    def configure(self, cfg: Any) -> None:
        """Build core objects and outputs; raise a RehabError with a message to fail."""

    def activate(self) -> None:
        """Create inputs and timers."""

    def deactivate(self) -> None:
        """Undo what ``activate`` did beyond inputs/timers (those are removed for you)."""

    def cleanup(self) -> None:
        """Free models and core objects."""

    # -- helpers -------------------------------------------------------------

    def create_output(self, topic: str, codec: Codec, qos: Any = None) -> Output:
        out = Output(self, topic, codec, qos)
        self._outputs.append(out)
        return out

    def outputs(self) -> list[Output]:
        """The outputs this component publishes (created at configure time)."""
        return list(self._outputs)

    def inputs(self) -> list[Input]:
        """Its inputs while active; each says whether it takes the in-process bus."""
        return list(self._inputs)

    def create_input(self, topic: str, codec: Codec, handler: Callable[[Any], None],
                     *, check_stamps: bool = True, qos: Any = None,
                     latest_wins: bool = False) -> Input:
        """Subscribe ``handler(payload)``; see ``_guard`` for what is counted as a drop.

        ``qos`` overrides the codec's; ``latest_wins`` (ROS subscriptions) skips frames
        that arrive while one is processed, counted as "skipped" (see ``LatestSlot``).
        """
        inp = Input(self, topic, codec, self._guard(handler, codec.name, check_stamps),
                    qos=qos, latest_wins=latest_wins)
        self._inputs.append(inp)
        return inp

    def create_component_timer(self, period_s: float, callback: Callable[[], None]) -> Any:
        """A timer whose callback can never raise into (and so kill) the executor thread."""
        timer = self.create_timer(period_s, self._guard_timer(callback))
        self._timers.append(timer)
        return timer

    def fail(self, message: str) -> None:
        """Log why a stage could not run (kept in ``last_error`` for the manager/tests)."""
        self.last_error = message
        self.get_logger().error(message)
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [DiagnosticStatus(level=DiagnosticStatus.ERROR, message=message,
                                       name=self.get_fully_qualified_name(),
                                       hardware_id="rehab_perception")]
        self._error_pub.publish(msg)

    def note_downstream(self, seconds: float) -> None:
        """Called by our outputs: time the in-process consumers took (not ours)."""
        self._downstream.s = getattr(self._downstream, "s", 0.0) + seconds

    def take_downstream(self) -> float:
        spent = getattr(self._downstream, "s", 0.0)
        self._downstream.s = 0.0
        return spent

    def state_label(self) -> str:
        return self._state_machine.current_state[1] if hasattr(self, "_state_machine") else ""

    def _read_config(self) -> Any:
        # a misspelt name in a parameter file / -p for this node would be silently ignored
        unknown = sorted(n for n in getattr(self, "_parameter_overrides", {})
                         if not self.has_parameter(n) and not n.startswith("qos_overrides."))
        if unknown:
            from rehab_runtime.stack_config import did_you_mean

            raise _ConfigRejected(f"unknown parameter {unknown[0]!r}"
                                  f"{did_you_mean(unknown[0], self._parameters)}")
        values = {}
        for spec in (*COMMON_PARAMS, *self.PARAMS):  # diagnostics_period: 0 is refused too
            value = spec.coerce(self.get_parameter(spec.name).value)
            problem = spec.check(value)
            if problem:
                raise _ConfigRejected(problem)
            values[spec.name] = value
        fields = {f.name for f in dataclasses.fields(self.Config)}
        return self.Config(**{k: v for k, v in values.items() if k in fields})

    def _on_set_parameters(self, params: list[Any]) -> SetParametersResult:
        """``ros2 param set`` on a component: checked as configure will check it, and refused
        while the node is configured, since it reads its parameters only at configure (the
        value would be shown as set and silently do nothing)."""
        specs = {s.name: s for s in (*COMMON_PARAMS, *self.PARAMS)}
        for param in params:
            spec = specs.get(param.name)
            if spec is None:
                continue
            try:
                problem = spec.check(spec.coerce(param.value))
            except _ConfigRejected as err:
                problem = str(err)
            if problem is None and self.state_label() in ("inactive", "active"):
                problem = (f"{param.name!r} is read at configure: set it while "
                           f"{self.get_fully_qualified_name()} is unconfigured (the stack: "
                           "lifecycle_manager ~/shutdown, set, ~/startup) or in the parameter "
                           "file")
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    def _publish_diagnostics(self) -> None:
        if self._diag_pub is None:
            return
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        state = "active" if self.is_active else "inactive"
        msg.status = [self.diag.to_status(self.get_fully_qualified_name(), state)]
        self._diag_pub.publish(msg)

    # -- lifecycle transitions ------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.last_error = ""
        try:
            self.config = self._read_config()
            self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.configure(self.config)
        except (RehabError, _ConfigRejected, ImportError, OSError, ValueError) as err:
            self.fail(f"configure failed: {err}")
            self._release()
            return FAILURE
        self.get_logger().info(f"configured: {self.config}")
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        super().on_activate(state)  # activates the lifecycle publishers
        self.is_active = True
        try:
            self.activate()
            period = float(self.get_parameter("diagnostics_period").value)
            self.create_component_timer(period, self._publish_diagnostics)
        except (RehabError, ImportError, OSError, ValueError) as err:
            self.fail(f"activate failed: {err}")
            self._stop()
            super().on_deactivate(state)
            return FAILURE
        self.get_logger().info("activated")
        return SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self._publish_diagnostics()
        super().on_deactivate(state)
        self.get_logger().info("deactivated")
        return SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up")
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        # reachable from unconfigured, inactive and active: undo whatever exists
        self._undo_all()
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._undo_all()
        return SUCCESS  # back to unconfigured, ready to be configured again

    def _undo_all(self) -> None:
        if self.is_active:
            self._stop()
        if self.config is not None:
            self._release()

    def _stop(self) -> None:
        """Mirror of activate: timers first, then inputs (newest first), then the hook."""
        with self._lock:
            self.is_active = False
        for timer in reversed(self._timers):
            self.destroy_timer(timer)
        self._timers.clear()
        self._wait_for_timers()
        for inp in reversed(self._inputs):
            inp.destroy()
        self._inputs.clear()
        try:
            self.deactivate()
        except Exception as err:
            self.get_logger().error(f"deactivate hook failed: {err}")

    def _release(self) -> None:
        try:
            self.cleanup()
        except Exception as err:
            self.get_logger().error(f"cleanup hook failed: {err}")
        for out in reversed(self._outputs):
            out.destroy()
        self._outputs.clear()
        if self._diag_pub is not None:
            self.destroy_publisher(self._diag_pub)
            self._diag_pub = None
        self.config = None
        self.diag.reset()
