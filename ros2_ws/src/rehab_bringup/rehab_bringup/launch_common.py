"""The one launch description every use case shares (each launch file only picks defaults).

Composed (``use_container:=true``: one ``component_container`` process,
zero-copy hand-off) or separate processes (one ``<plugin>_node`` each,
respawned by launch and brought back to active by the lifecycle manager).
The component list, remappings and manager order come from the parameter
file (``rehab_runtime.stack_config``), so ``rehab up --params FILE``
starts the same graph without launch.

Isolation (docs/security.md): every process gets ``ROS_DOMAIN_ID``
(``domain_id``: the environment's, else 42, never the default 0) and
``ROS_AUTOMATIC_DISCOVERY_RANGE`` (``discovery_range``: the environment's,
else LOCALHOST). ``exo:=simulator`` or ``exo:=adapter`` adds the exoskeleton
pair (``exo_assist`` and its controller) in the private namespace ``/exo``,
with only ``reach_state`` and ``emergency_stop`` remapped to the public ones:
composed, both are loaded into the graph's container (reach states on the
in-process bus) and the lifecycle manager brings them up first; separate, they
are two more processes that bring themselves up (``autostart``).
When the lifecycle manager exits (Ctrl-C, or ``end_of_input: shutdown`` in
the parameter file) the whole launch ends.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from ament_index_python.packages import get_package_share_directory
from launch.actions import (
    DeclareLaunchArgument,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

PACKAGE = "rehab_perception"  # the stages' executables
RUNTIME_PACKAGE = "rehab_runtime"  # component_container, lifecycle_manager
#: packages whose components and executables these launch files start (package.xml
#: depends on each); which one runs a given component is read from its entry point
COMPONENT_PACKAGES = (PACKAGE, "rehab_coach", "rehab_assist")
EXO_REMAPS = [("reach_state", "/reach_state"), ("emergency_stop", "/emergency_stop")]
#: the exoskeleton pair: component (plugin) -> its executable, for each ``exo:=`` choice
EXO_ASSIST = {"exo_assist": "exo_assist_node"}
EXO_CONTROLLERS = {"simulator": {"exo_simulator": "exo_simulator_node"},
                   "adapter": {"joint_trajectory_adapter": "joint_trajectory_adapter"}}

ARGUMENTS = {  # name: (default, description); None = required
    "params_file": ("stack.yaml", "stack parameter file (components, manager, every node); "
                    "a bare name is one of rehab_bringup's config/ files"),
    "use_container": ("true", "true: one process, zero-copy hand-off; false: one process each"),
    "input": ("0", "video file, camera index, stream URL (rtsp://...) or rosbag2 for image_source"),
    "pose_model": ("", "pose_estimator.model_path ('' keeps the file's value)"),
    "detector_model": ("", "object_detector.model_path ('' keeps the file's value)"),
    "action_model_dir": ("", "action_classifier.model_dir ('' keeps the file's value)"),
    "backend": ("", "inference backend for every model stage ('' keeps the file's value)"),
    "exo": ("none", "exoskeleton pair in /exo: none, simulator or adapter (ros2_control)"),
}


def config_file(name: str) -> str:
    """A bare file name -> rehab_bringup's installed config/NAME; paths pass through."""
    if os.sep in name:
        return os.path.abspath(name)
    return os.path.join(get_package_share_directory("rehab_bringup"), "config", name)


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
    rehab_coach, exoskeleton ones in rehab_assist): the top-level module of its registered
    entry point."""
    found = [ep for ep in entry_points(group="rehab_runtime.components") if ep.name == plugin]
    return found[0].value.split(".")[0] if found else PACKAGE


def _params_file(context) -> str:
    return config_file(LaunchConfiguration("params_file").perform(context))


def _graph(context):
    """The components (container or one process each) and the lifecycle manager."""
    from rehab_runtime import stack_config

    params_file = _params_file(context)
    overrides = _overrides(context)
    managed: dict[str, list[str]] = {}
    if _composed(context):
        sets = [f"{node}.{key}={value}" for node, params in overrides.items()
                for key, value in params.items()]
        exo = [f"{plugin}:exo/{plugin}" for plugin in _exo_plugins(context)]
        remaps = [f"{plugin}:{src}:={dst}" for plugin in _exo_plugins(context)
                  for src, dst in EXO_REMAPS]
        if exo:  # consumers first: the pair comes up before the stack, goes down after it
            names = stack_config.manager_params(stack_config.load_stack(params_file))
            managed = {"node_names": [e.split(":")[1] for e in exo[::-1]]
                       + list(names.get("node_names", []))}
        components = [Node(
            package=RUNTIME_PACKAGE,
            executable="component_container",
            # no name=: launch_ros passes it as __node:=..., renaming every node in the process
            arguments=["--params", params_file, *(a for s in sets for a in ("--set", s)),
                       *(a for e in exo for a in ("--component", e)),
                       *(a for r in remaps for a in ("--remap", r))],
            output="screen",
        )]
    else:
        components = [
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
    manager = Node(
        package=RUNTIME_PACKAGE,
        executable="lifecycle_manager",
        name="lifecycle_manager",
        parameters=[params_file, *([managed] if managed else [])],
        output="screen",
        on_exit=Shutdown(reason="lifecycle_manager exited"),
    )
    return [*components, manager]


def _composed(context) -> bool:
    return LaunchConfiguration("use_container").perform(context).lower() in ("true", "1", "yes")


def _exo_plugins(context) -> dict[str, str]:
    """The exoskeleton pair for ``exo:=...``, component -> executable (none for none)."""
    choice = LaunchConfiguration("exo").perform(context)
    if choice == "none":
        return {}
    if choice not in EXO_CONTROLLERS:
        raise ValueError(f"exo:={choice!r}: use none, simulator or adapter")
    return {**EXO_ASSIST, **EXO_CONTROLLERS[choice]}


def _exo(context):
    """Separate processes: exo_assist and its controller, alone in /exo (private namespace,
    two remaps), each bringing itself up. Composed, ``_graph`` loads them instead."""
    if _composed(context):
        return []
    return [Node(package=COMPONENT_PACKAGES[2], executable=exe, namespace="exo",
                 remappings=EXO_REMAPS, parameters=[{"autostart": True}], output="screen")
            for exe in _exo_plugins(context).values()]


def stack_description(**defaults: str | None) -> LaunchDescription:
    """The launch description with some argument defaults changed (None = required)."""
    unknown = set(defaults) - set(ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown launch arguments {sorted(unknown)}")

    def declare(name: str, default: str | None, doc: str) -> DeclareLaunchArgument:
        if default is None:
            return DeclareLaunchArgument(name, description=f"{doc} (required)")
        return DeclareLaunchArgument(name, default_value=default, description=doc)

    return LaunchDescription([
        DeclareLaunchArgument("domain_id", default_value=EnvironmentVariable(
            "ROS_DOMAIN_ID", default_value="42"), description="ROS_DOMAIN_ID of every process"),
        DeclareLaunchArgument("discovery_range", default_value=EnvironmentVariable(
            "ROS_AUTOMATIC_DISCOVERY_RANGE", default_value="LOCALHOST"),
            description="ROS_AUTOMATIC_DISCOVERY_RANGE (LOCALHOST: no discovery off this host)"),
        SetEnvironmentVariable("ROS_DOMAIN_ID", LaunchConfiguration("domain_id")),
        SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE",
                               LaunchConfiguration("discovery_range")),
        *(declare(name, defaults.get(name, default), doc)
          for name, (default, doc) in ARGUMENTS.items()),
        OpaqueFunction(function=_exo),
        OpaqueFunction(function=_graph),
    ])

