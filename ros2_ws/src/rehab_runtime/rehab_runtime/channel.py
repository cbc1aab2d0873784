"""Zero-copy hand-off between components that share a process.

Why not rely on DDS inside the container: serialising a 640x480 image and
reading it back costs milliseconds and two copies. ``InProcessBus`` instead
hands the *same payload object* (and so the same numpy buffer) to every
in-process consumer of a topic, synchronously, in subscription order. The
synchronous call gives back-pressure for free: a source replaying a file as
fast as possible cannot outrun the stages behind it, so no frame is dropped.

Every ``Output`` still owns a real ROS publisher. It converts and publishes
only when a subscriber outside the bus exists (``get_subscription_count``;
in-process consumers never create a ROS subscription for a bus topic), so
``ros2 topic echo`` works without costing anything when nobody listens.

Contract: producers register in ``on_configure`` and consumers bind in
``on_activate``; the lifecycle manager configures every node before it
activates any, so each consumer sees all co-located producers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from rehab_runtime.codecs import Codec
from rehab_runtime.diagnostics import ComponentDiagnostics

Handler = Callable[[Any], None]


class ChannelOwner(Protocol):
    """What a channel needs of its node (``component.LifecycleComponent`` is one).

    A protocol rather than the class, so channels and the component base do not
    import each other.
    """

    bus: InProcessBus | None
    diag: ComponentDiagnostics
    is_active: bool

    def note_downstream(self, seconds: float) -> None: ...
    def get_namespace(self) -> str: ...
    def get_fully_qualified_name(self) -> str: ...
    def create_lifecycle_publisher(self, *args: Any, **kwargs: Any) -> Any: ...
    def destroy_lifecycle_publisher(self, publisher: Any) -> Any: ...
    def create_subscription(self, *args: Any, **kwargs: Any) -> Any: ...
    def destroy_subscription(self, subscription: Any) -> Any: ...


def resolved_topic(node: ChannelOwner, topic: str) -> str:
    """The topic's full name after namespace and remapping (the bus key)."""
    resolve = getattr(node, "resolve_topic_name", None)
    if resolve is not None:
        return resolve(topic)
    # Humble's rclpy has no resolve_topic_name: expand the namespace (remaps not applied)
    if topic.startswith("/"):
        return topic
    if topic.startswith("~"):
        return f"{node.get_fully_qualified_name()}/{topic[1:].lstrip('/')}"
    return f"{node.get_namespace().rstrip('/')}/{topic}"


#: what a non-finite float field of an outgoing message becomes: "unknown", outside the
#: valid range of every float our messages carry (scores, confidences, durations, distances)
UNKNOWN = -1.0
_FLOATS = ("float", "double")


def finite_message(msg: Any) -> Any:
    """``msg`` with every NaN / inf float (nested, in sequences too) set to ``UNKNOWN``.

    The edge where results leave the process (ROS publishers, the recorder's
    bag): whatever a stage computed, no subscriber or bag reader sees NaN.
    Integer data (an image's pixels) is never scanned, so images cost nothing here.
    """
    for name, kind in msg.get_fields_and_field_types().items():
        value = getattr(msg, name)
        if kind in _FLOATS:
            if not math.isfinite(value):
                setattr(msg, name, UNKNOWN)
        elif kind.startswith("sequence<") or kind.endswith("]"):
            inner = kind.split("<", 1)[-1].rstrip(">").split("[", 1)[0].split(",")[0]
            if inner in _FLOATS:
                array = np.asarray(value, dtype=np.float64)
                if not np.isfinite(array).all():
                    setattr(msg, name, np.where(np.isfinite(array), array, UNKNOWN).tolist())
            elif "/" in inner:
                for item in value:
                    finite_message(item)
        elif "/" in kind:
            finite_message(value)
    return msg


class InProcessBus:
    """Topic name -> in-process producers and consumers (payload objects, no copies)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._producers: dict[str, int] = {}
        self._consumers: dict[str, list[Handler]] = {}

    def add_producer(self, topic: str) -> None:
        with self._lock:
            self._producers[topic] = self._producers.get(topic, 0) + 1

    def remove_producer(self, topic: str) -> None:
        with self._lock:
            left = self._producers.get(topic, 0) - 1
            if left > 0:
                self._producers[topic] = left
            else:
                self._producers.pop(topic, None)

    def has_producer(self, topic: str) -> bool:
        with self._lock:
            return topic in self._producers

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(payload)`` for every payload on ``topic``, after earlier subscribers."""
        with self._lock:  # copy-on-write: deliver() iterates without the lock
            self._consumers[topic] = [*self._consumers.get(topic, []), handler]

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        with self._lock:
            self._consumers[topic] = [h for h in self._consumers.get(topic, []) if h != handler]

    def consumer_count(self, topic: str) -> int:
        return len(self._consumers.get(topic, ()))

    def deliver(self, topic: str, payload: Any) -> int:
        """Call every consumer of ``topic`` with ``payload`` itself; returns how many."""
        handlers = self._consumers.get(topic, ())
        for handler in handlers:
            handler(payload)
        return len(handlers)


class Output:
    """One output of a component: in-process consumers first, then ROS if anyone listens."""

    def __init__(self, node: ChannelOwner, topic: str, codec: Codec,
                 qos: Any = None) -> None:
        self.node = node
        self.codec = codec
        self.topic = resolved_topic(node, topic)
        self.publisher = node.create_lifecycle_publisher(codec.msg_type, topic, qos or codec.qos)
        self.bus = node.bus
        if self.bus is not None:
            self.bus.add_producer(self.topic)
        self.published = 0
        self.sent_over_ros = 0

    def publish(self, payload: Any) -> None:
        if not self.node.is_active:
            return
        self.published += 1
        if self.bus is not None:
            started = time.perf_counter()
            if self.bus.deliver(self.topic, payload):
                self.node.note_downstream(time.perf_counter() - started)
        if self.publisher.get_subscription_count() > 0:
            self.publisher.publish(finite_message(self.codec.to_msg(payload)))
            self.sent_over_ros += 1

    def destroy(self) -> None:
        if self.bus is not None:
            self.bus.remove_producer(self.topic)
        self.node.destroy_lifecycle_publisher(self.publisher)


class LatestSlot:
    """Latest wins: a message that arrives while the previous one is processed waits in
    one slot; a newer one replaces it (``on_skip`` counts it), so a slow stage always
    works on the newest frame and latency never grows with a queue.

    Needs a reentrant callback group (callbacks may overlap): the callback that finds
    the stage busy only fills the slot; the busy one drains it before returning.
    """

    def __init__(self, handle: Handler, on_skip: Callable[[], None]) -> None:
        self._handle = handle
        self._on_skip = on_skip
        self._lock = threading.Lock()
        self._pending: Any = None
        self._busy = False

    def offer(self, msg: Any) -> None:
        with self._lock:
            if self._pending is not None:
                self._on_skip()
            self._pending = msg
            if self._busy:
                return
            self._busy = True
        while True:
            with self._lock:
                msg, self._pending = self._pending, None
                if msg is None:
                    self._busy = False
                    return
            try:
                self._handle(msg)
            except BaseException:
                with self._lock:
                    self._busy = False
                raise


class Input:
    """One input: from the bus when the producer is co-located, else a ROS subscription.

    Messages that cannot be converted (wrong encoding, empty image, short
    data) are counted as drops with the reason, never raised. ``qos``
    overrides the codec's; ``latest_wins`` makes a ROS subscription skip
    (and count, diagnostics "skipped") frames that arrive while one is processed.
    """

    def __init__(self, node: ChannelOwner, topic: str, codec: Codec,
                 handler: Handler, qos: Any = None, latest_wins: bool = False) -> None:
        self.node = node
        self.codec = codec
        self.topic = resolved_topic(node, topic)
        self.handler = handler
        self.subscription = None
        self.in_process = node.bus is not None and node.bus.has_producer(self.topic)
        if self.in_process:
            node.bus.subscribe(self.topic, handler)
        else:
            callback, group = self._on_msg, None
            if latest_wins:
                from rclpy.callback_groups import ReentrantCallbackGroup

                group = ReentrantCallbackGroup()
                callback = LatestSlot(self._on_msg, lambda: node.diag.count("skipped")).offer
            self.subscription = node.create_subscription(
                codec.msg_type, topic, callback, qos or codec.qos, callback_group=group
            )

    def _on_msg(self, msg: Any) -> None:
        try:
            payload = self.codec.from_msg(msg)
        except Exception as err:
            self.node.diag.drop(f"bad {self.codec.name} message: {err}")
            return
        self.handler(payload)

    def destroy(self) -> None:
        if self.in_process:
            self.node.bus.unsubscribe(self.topic, self.handler)
        elif self.subscription is not None:
            self.node.destroy_subscription(self.subscription)
            self.subscription = None
