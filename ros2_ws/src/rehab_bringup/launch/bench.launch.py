"""The replay benchmark's graph (config/bench.yaml: pose + tracker + ST-GCN) over a bag
or video, to watch with the ROS tools while it runs (``ros2 topic hz /skeletons``).

    ros2 launch rehab_bringup bench.launch.py input:=bags/clip_640
    ros2 launch rehab_bringup bench.launch.py input:=bags/clip_640 use_container:=false

The figures themselves come from ``rehab bench BAG --params launch/config/bench.yaml``
(docs/benchmarking.md), which replays the same graph in-process.
"""

from rehab_bringup.launch_common import stack_description


def generate_launch_description():
    return stack_description(params_file="bench.yaml", input=None)
