"""Kept for old commands: the launch files live in the rehab_bringup package now.

    ros2 launch rehab_bringup stack.launch.py input:=/dev/video0      # preferred
    ros2 launch launch/rehab_stack.launch.py input:=/dev/video0       # the same, by path

It includes rehab_bringup's stack.launch.py with the same arguments (see
``--show-args``); launch/config/*.yaml link to rehab_bringup/config/.
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    stack = os.path.join(get_package_share_directory("rehab_bringup"), "launch",
                         "stack.launch.py")
    return LaunchDescription([IncludeLaunchDescription(PythonLaunchDescriptionSource(stack))])
