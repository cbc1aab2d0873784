"""DDS settings the stack needs for camera-sized messages between processes."""

from __future__ import annotations

import os
from pathlib import Path

PROFILE = Path(__file__).with_name("fastdds_large_data.xml")
_ENV_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


def use_large_data_profile() -> None:
    """Point Fast DDS at our shared-memory profile unless the user chose a profile or RMW.

    Must run before ``rclpy.init`` (the participant reads it once).
    """
    rmw = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    if rmw != "rmw_fastrtps_cpp" or any(os.environ.get(v) for v in _ENV_VARS):
        return
    if os.environ.get("FASTDDS_BUILTIN_TRANSPORTS"):
        return
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)  # Fast DDS 3 (Kilted on)
    if os.environ.get("ROS_DISTRO", "") in ("humble", "iron", "jazzy"):  # Fast DDS 2.x
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
