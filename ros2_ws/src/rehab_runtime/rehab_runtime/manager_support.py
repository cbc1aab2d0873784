"""What the lifecycle manager needs besides its node: per-node records, parameter
checks, service waits that can be interrupted, its diagnostics, its executable.

Kept apart so ``lifecycle_manager`` is only the bring-up/supervision logic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from lifecycle_msgs.msg import State

from rehab_core.errors import ConfigError

_LABELS = {
    State.PRIMARY_STATE_UNKNOWN: "unknown",
    State.PRIMARY_STATE_UNCONFIGURED: "unconfigured",
    State.PRIMARY_STATE_INACTIVE: "inactive",
    State.PRIMARY_STATE_ACTIVE: "active",
    State.PRIMARY_STATE_FINALIZED: "finalized",
}
RESTART_POLICIES = ("restart", "none")
END_OF_INPUT = ("idle", "shutdown")


@dataclass
class ManagedNode:
    name: str
    change_state: Any
    get_state: Any
    state: int = State.PRIMARY_STATE_UNKNOWN
    last_seen: float = 0.0
    responsive: bool = True
    supervised: bool = False  # set once bring-up has made it active
    restarts: int = 0
    failed: str = ""  # why it was left down ('' = not failed)
    lost_at: float = 0.0  # monotonic time it was first found down (0 = up)
    message: str = ""

    @property
    def state_label(self) -> str:
        return _LABELS.get(self.state, f"transition({self.state})")


def check_manager_params(values: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad manager parameter."""
    def bad(name: str, want: str) -> ConfigError:
        return ConfigError(f"lifecycle_manager: parameter {name!r}={values[name]!r} must be {want}")

    for name in ("bond_timeout", "heartbeat_period", "transition_timeout"):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise bad(name, "a number > 0")
    check_settle_s(values["end_of_input_settle_s"])
    restarts = values["max_restarts"]
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 0:
        raise bad("max_restarts", "an integer >= 0")
    if values["restart_policy"] not in RESTART_POLICIES:
        raise bad("restart_policy", f"one of {list(RESTART_POLICIES)}")
    if values["end_of_input"] not in END_OF_INPUT:
        raise bad("end_of_input", f"one of {list(END_OF_INPUT)}")
    if not isinstance(values["autostart"], bool):
        raise bad("autostart", "true or false")
    names = values["node_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise bad("node_names", "a list of node names")
    if len(set(names)) != len(names):
        raise bad("node_names", "a list without duplicates")


def check_settle_s(value: Any) -> float:
    """``end_of_input_settle_s``; the container's ``--exit-at-end`` without a manager
    waits it too."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 60:
        raise ConfigError(f"lifecycle_manager: parameter 'end_of_input_settle_s'={value!r} "
                          "must be a number of seconds in [0, 60]")
    return float(value)


def check_num_threads(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: parameter 'num_threads'={value!r} must be an integer >= 1")
    return value


SETTLED = object()  # wait_future's answer when ``settled()`` saw the request's effect


def wait_future(client: Any, request: Any, timeout: float, stopping: threading.Event, *,
                resend_after: float | None = None,
                settled: Callable[[], bool] | None = None) -> Any:
    """``client`` called with ``request``: the response, or None on timeout or stop.

    DDS can lose a service's answer while the two sides are still discovering each
    other (rmw_fastrtps#842: many lifecycle nodes starting at once on a loaded
    machine), and the request then never completes. Two ways out, both optional:
    ``resend_after`` s without an answer sends the request again (only for requests
    that can be repeated, like get_state); ``settled()``, asked every 2 s, says the
    request's effect is already there (a transition's goal state), and SETTLED is
    returned.
    """
    deadline = time.monotonic() + timeout
    while not client.wait_for_service(timeout_sec=min(0.2, timeout)):  # still starting?
        if stopping.is_set() or time.monotonic() >= deadline:
            return None

    def send() -> tuple[Any, threading.Event]:  # each request its own event: a late answer
        done = threading.Event()                 # to a replaced one wakes nobody
        future = client.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        return future, done

    future, done = send()
    sent = asked = time.monotonic()
    while not done.wait(min(0.1, timeout)):
        now = time.monotonic()
        if stopping.is_set() or now >= deadline:
            client.remove_pending_request(future)
            return None
        if settled is not None and now - asked >= 2.0:
            if settled():
                client.remove_pending_request(future)
                return SETTLED
            asked = time.monotonic()
        if resend_after is not None and now - sent >= resend_after:
            client.remove_pending_request(future)
            future, done = send()
            sent = now
    return future.result()


def node_status(node: ManagedNode, component: DiagnosticStatus | None, want_up: bool,
                input_ended: bool) -> DiagnosticStatus:
    """One managed node's line in ``~/diagnostics``: its own counters plus the manager's view."""
    values = [kv for kv in (component.values if component is not None else [])
              if kv.key != "state"]
    values += [KeyValue(key="state", value=node.state_label),
               KeyValue(key="responsive", value=str(node.responsive)),
               KeyValue(key="supervised", value=str(node.supervised)),
               KeyValue(key="restarts", value=str(node.restarts))]
    if not node.responsive:
        level, message = DiagnosticStatus.ERROR, node.message
    elif node.failed:
        level, message = DiagnosticStatus.ERROR, node.failed
    elif want_up and node.state != State.PRIMARY_STATE_ACTIVE:
        level, message = DiagnosticStatus.ERROR, node.message or node.state_label
    elif component is not None:
        level, message = component.level, component.message
    else:
        level, message = DiagnosticStatus.OK, node.state_label
    if input_ended and level == DiagnosticStatus.OK:
        message = f"{message}; input ended, idle"
    return DiagnosticStatus(level=level, name=node.name, message=message,
                            hardware_id="rehab_perception", values=values)


def run_manager(cls: type, args: list[str] | None) -> int:
    """The manager as its own process; ends on SIGINT/SIGTERM or after end_of_input: shutdown."""
    from rehab_runtime.process import run_until_signal

    def started(nodes: list[Any]) -> None:
        nodes[0].start_autostart()

    def finished(nodes: list[Any]) -> bool:
        return nodes[0].finished.is_set()

    def stopping(nodes: list[Any]) -> None:
        nodes[0].stop()

    return run_until_signal(lambda: [cls()], args=args, num_threads=4, after_start=started,
                            finished=finished, before_stop=stopping,
                            label="lifecycle_manager")
