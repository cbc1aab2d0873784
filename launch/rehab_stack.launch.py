"""The perception stack on a real ROS 2 install: composed or as separate processes.

    ros2 launch launch/rehab_stack.launch.py input:=/path/clip.mp4 use_container:=true
    ros2 launch launch/rehab_stack.launch.py params_file:=launch/config/coach.yaml  # + coach

Everything it starts is also startable here without launch (``rehab up``,
``component_container``, ``<role>_node``) with the same parameter file, so the
tests exercise the same graph. The component list, remappings and manager
order come from the parameter file (``rehab_perception.stack_config``), not
from this file.

Isolation (docs/security.md): every process gets ``ROS_DOMAIN_ID``
(``domain_id``: the environment's, else 42, never the default 0) and
``ROS_AUTOMATIC_DISCOVERY_RANGE`` (``discovery_range``: the environment's,
else LOCALHOST). ``exo:=simulator`` or ``exo:=adapter`` adds the exoskeleton
pair (``exo_assist`` and its controller) in the private namespace ``/exo``,
with only ``reach_state`` and ``emergency_stop`` remapped to the public ones.
"""

from __future__ import annotations

from pathlib import Path

from launch.actions import (
    DeclareLaunchArgument,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

PACKAGE = "rehab_perception"
DEFAULT_PARAMS = str(Path(__file__).resolve().parent / "config" / "stack.yaml")

ARGUMENTS = {
    "params_file": (DEFAULT_PARAMS, "stack parameter file (components, manager, every node)"),
    "use_container": ("true", "true: one process, zero-copy hand-off; false: one process each"),
    "input": ("0", "video file, camera index or rosbag2 for image_source"),
    "pose_model": ("", "pose_estimator.model_path ('' keeps the file's value)"),
    "detector_model": ("", "object_detector.model_path ('' keeps the file's value)"),
    "action_model_dir": ("", "action_classifier.model_dir ('' keeps the file's value)"),
    "backend": ("", "inference backend for every model stage ('' keeps the file's value)"),
    "exo": ("none", "exoskeleton pair in /exo: none, simulator or adapter (ros2_control)"),
}
EXO_REMAPS = [("reach_state", "/reach_state"), ("emergency_stop", "/emergency_stop")]


def _overrides(context) -> dict[str, dict[str, str]]:
    """Launch arguments -> per-node parameter overrides (empty arguments are left out)."""
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    per_node = {
        "image_source": {"input": value["input"]},
        "pose_estimator": {"model_path": value["pose_model"], "backend": value["backend"]},
        "object_detector": {"model_path": value["detector_model"], "backend": value["backend"]},
        "action_classifier": {"model_dir": value["action_model_dir"]},
    }
    return {node: {k: v for k, v in params.items() if v} for node, params in per_node.items()}


def _package_of(plugin: str) -> str:
    """The ROS package whose ``<plugin>_node`` runs a component (coach components live in
    rehab_coach): the top-level module of its registered entry point."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="rehab_perception.components") if ep.name == plugin]
    return found[0].value.split(".")[0] if found else PACKAGE


def _separate_processes(context):
    from rehab_perception import stack_config

    params_file = LaunchConfiguration("params_file").perform(context)
    overrides = _overrides(context)
    return [
        Node(
            package=_package_of(spec.plugin),
            executable=f"{spec.plugin}_node",
            name=spec.name,
            parameters=[params_file, overrides.get(spec.name, {})],
            remappings=list(spec.remappings),
            respawn=True,  # the lifecycle manager brings a respawned node back to active
            respawn_delay=1.0,
            output="screen",
        )
        for spec in stack_config.components(stack_config.load_stack(params_file))
    ]


def _container(context):
    params_file = LaunchConfiguration("params_file").perform(context)
    sets = [f"{node}.{key}={value}" for node, params in _overrides(context).items()
            for key, value in params.items()]
    return [Node(
        package=PACKAGE,
        executable="component_container",
        # no name=: launch_ros passes it as __node:=..., which renames every node in the process
        arguments=["--params", params_file, *(a for s in sets for a in ("--set", s))],
        output="screen",
    )]


def _exo(context):
    """exo_assist and its controller, alone in /exo (private namespace, two remaps)."""
    choice = LaunchConfiguration("exo").perform(context)
    controllers = {"simulator": "exo_simulator_node", "adapter": "joint_trajectory_adapter"}
    if choice == "none":
        return []
    if choice not in controllers:
        raise ValueError(f"exo:={choice!r}: use none, simulator or adapter")
    return [Node(package="rehab_coach", executable=exe, namespace="exo",
                 remappings=EXO_REMAPS, parameters=[{"autostart": True}], output="screen")
            for exe in ("exo_assist_node", controllers[choice])]


def generate_launch_description() -> LaunchDescription:
    use_container = LaunchConfiguration("use_container")
    return LaunchDescription([
        DeclareLaunchArgument("domain_id", default_value=EnvironmentVariable(
            "ROS_DOMAIN_ID", default_value="42"), description="ROS_DOMAIN_ID of every process"),
        DeclareLaunchArgument("discovery_range", default_value=EnvironmentVariable(
            "ROS_AUTOMATIC_DISCOVERY_RANGE", default_value="LOCALHOST"),
            description="ROS_AUTOMATIC_DISCOVERY_RANGE (LOCALHOST: no discovery off this host)"),
        SetEnvironmentVariable("ROS_DOMAIN_ID", LaunchConfiguration("domain_id")),
        SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE",
                               LaunchConfiguration("discovery_range")),
        *(DeclareLaunchArgument(name, default_value=default, description=doc)
          for name, (default, doc) in ARGUMENTS.items()),
        OpaqueFunction(function=_exo),
        OpaqueFunction(function=_container, condition=IfCondition(use_container)),
        OpaqueFunction(function=_separate_processes, condition=UnlessCondition(use_container)),
        Node(
            package=PACKAGE,
            executable="lifecycle_manager",
            name="lifecycle_manager",
            parameters=[LaunchConfiguration("params_file")],
            output="screen",
            # end_of_input: shutdown (or Ctrl-C) ends the manager: then end the whole launch
            on_exit=Shutdown(reason="lifecycle_manager exited"),
        ),
    ])
