"""A monitor subscription's QoS chosen from what the publishers on the topic offer.

Why: DDS only connects a subscription to publishers whose offered QoS is at
least what it requests. A RELIABLE monitor on a BEST_EFFORT topic (sensor
data) sees nothing, and a TRANSIENT_LOCAL request on a VOLATILE topic the
same, silently. So the benchmark's monitor asks the graph which publishers
exist and requests the weakest policy any of them offers (which every one of
them satisfies), keeping the last ``depth`` samples.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def matching_qos(offered: Sequence[QoSProfile], depth: int = 10) -> QoSProfile:
    """Weakest reliability and durability among the offered profiles, keep-last ``depth``."""
    reliable = bool(offered) and all(
        p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    transient = bool(offered) and all(
        p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if transient else DurabilityPolicy.VOLATILE,
    )


def wait_for_publishers(node: Any, topics: Sequence[str], timeout_s: float
                        ) -> dict[str, list[QoSProfile]]:
    """Offered QoS of each topic's publishers, waiting until every topic has one (or timeout).

    Topics still without a publisher at the timeout map to an empty list.
    """
    deadline = time.monotonic() + timeout_s
    found: dict[str, list[QoSProfile]] = {}
    while True:
        for topic in topics:
            name = topic if topic.startswith("/") else f"/{topic}"  # graph topics: absolute
            infos = node.get_publishers_info_by_topic(name)
            if infos:
                found[topic] = [info.qos_profile for info in infos]
        if len(found) == len(topics) or time.monotonic() >= deadline:
            return {t: found.get(t, []) for t in topics}
        time.sleep(0.1)
