"""The perception stack: camera/video/bag -> skeletons, actions, repetitions, recordings.

    ros2 launch rehab_bringup stack.launch.py input:=/dev/video0
    ros2 launch rehab_bringup stack.launch.py input:=clip.mp4 use_container:=false
    ros2 launch rehab_bringup stack.launch.py --show-args

Parameters: rehab_bringup's config/stack.yaml (``params_file:=`` another one).
"""

from rehab_bringup.launch_common import stack_description


def generate_launch_description():
    return stack_description(params_file="stack.yaml")
