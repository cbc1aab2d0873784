"""A topic's offered QoS as rosbag2 records it (a leaf module: every bag writer uses it).

Why apart from ``output_bag``: the image, skeleton and output bag writers all
record QoS, and ``output_bag`` itself uses the other two, so the QoS type lives
where none of them has to import another to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rehab_core.errors import ConfigError

# rmw_qos_*_policy_t values, indexed by the names rmw_qos_*_policy_to_str() gives
POLICIES = {
    "history": ("system_default", "keep_last", "keep_all", "unknown"),
    "reliability": ("system_default", "reliable", "best_effort", "unknown", "best_available"),
    "durability": ("system_default", "transient_local", "volatile", "unknown", "best_available"),
    "liveliness": ("system_default", "automatic", "manual_by_node", "manual_by_topic", "unknown",
                   "best_available"),
}


@dataclass(frozen=True)
class TopicQos:
    """A publisher's offered QoS in rmw terms (policy names as ``rmw_qos_*_to_str`` spells them).

    Durations of 0 are rmw's "unspecified" (the middleware default), which is
    what a profile built with rclpy's ``QoSProfile(depth=N)`` carries.
    """

    history: str = "keep_last"
    depth: int = 10
    reliability: str = "reliable"
    durability: str = "volatile"
    liveliness: str = "system_default"
    deadline_ns: int = 0
    lifespan_ns: int = 0
    liveliness_lease_duration_ns: int = 0
    avoid_ros_namespace_conventions: bool = False

    def __post_init__(self) -> None:
        for policy, names in POLICIES.items():
            value = getattr(self, policy)
            if value not in names or value == "unknown":
                raise ConfigError(f"QoS {policy} {value!r} must be one of "
                                  f"{[n for n in names if n != 'unknown']}")

    def to_rosbags(self) -> Any:
        from rosbags.interfaces import (
            Qos,
            QosDurability,
            QosHistory,
            QosLiveliness,
            QosReliability,
            QosTime,
        )

        def t(ns: int) -> Any:
            return QosTime(*divmod(int(ns), 1_000_000_000))

        return Qos(
            QosHistory[self.history.upper()], int(self.depth),
            QosReliability[self.reliability.upper()], QosDurability[self.durability.upper()],
            t(self.deadline_ns), t(self.lifespan_ns), QosLiveliness[self.liveliness.upper()],
            t(self.liveliness_lease_duration_ns), bool(self.avoid_ros_namespace_conventions),
        )


#: rmw_qos_profile_sensor_data (rclpy's qos_profile_sensor_data): what camera images offer
SENSOR_DATA_QOS = TopicQos(depth=5, reliability="best_effort")
