"""package.xml tells the truth, and the code runs on the oldest distro we ship (Humble).

1. For every package in ros2_ws/src: each ROS package its Python code imports
   (rclpy, std_msgs, ..., rehab_interfaces, rehab_core) is declared in
   package.xml (<depend>/<exec_depend>), and every declared ROS package or
   mapped rosdep key is used. rosdep installs from these declarations in the
   Docker images, so a missing one is a crash on Jetson/Jazzy that the PyPI
   dev set-up (everything installed) never shows.
2. rehab_interfaces: the message packages its .msg/.action files use are
   declared, and nothing else.
3. No rclpy API newer than Humble is used outside a fallback
   (try/except ImportError/AttributeError/TypeError or a hasattr check).
"""

from __future__ import annotations

import ast
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "ros2_ws" / "src"
PACKAGES = sorted(p.parent for p in SRC.glob("*/package.xml"))
PYTHON_PACKAGES = [p for p in PACKAGES if (p / "setup.py").is_file()]
RUN_DEPS = ("depend", "exec_depend", "build_export_depend")
# rosdep keys of Python libraries -> the module they provide
ROSDEP_MODULES = {"python3-numpy": "numpy", "python3-opencv": "cv2", "python3-yaml": "yaml",
                  "python3-scipy": "scipy", "python3-psutil": "psutil"}
# ROS packages that may not be installed here but would be ROS dependencies if imported
KNOWN_ROS = {"launch", "launch_ros", "cv_bridge", "tf2_ros", "message_filters", "rosbag2_py",
             "image_transport", "ament_index_python", "rcl_interfaces", "rosgraph_msgs"}


def ros_package_names() -> set[str]:
    """Every ROS package in the ament index of this environment, plus ours and KNOWN_ROS."""
    prefixes = [sys.prefix, *os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)]
    names = set(KNOWN_ROS) | {p.name for p in PACKAGES}
    for prefix in filter(None, prefixes):
        index = Path(prefix) / "share" / "ament_index" / "resource_index" / "packages"
        if index.is_dir():
            names |= {p.name for p in index.iterdir()}
    return names


def declared(package: Path, tags: tuple[str, ...] = RUN_DEPS) -> set[str]:
    root = ET.parse(package / "package.xml").getroot()
    return {el.text.strip() for tag in tags for el in root.iter(tag) if el.text}


def _names_a_package(node: ast.AST) -> bool:
    """launch_ros ``Node(package="name")``, or ``SOMETHING_PACKAGE = "name"`` (a launch
    helper's constant for ``Node(package=...)``)."""
    if isinstance(node, ast.keyword):
        return node.arg == "package" and isinstance(node.value, ast.Constant)
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
        and any(isinstance(t, ast.Name) and t.id.endswith("PACKAGE") for t in node.targets)


def _packages_named(node: ast.AST) -> set[str]:
    """``SOMETHING_PACKAGES = ("a", "b")``: the packages a launch helper starts nodes of."""
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) \
            and any(isinstance(t, ast.Name) and t.id.endswith("PACKAGES") for t in node.targets):
        return {e.value for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def imported_modules(package: Path) -> set[str]:
    """Top-level modules imported anywhere in the package's own code (tests excluded)."""
    modules = set()
    for path in (package / package.name).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
            elif _names_a_package(node):  # Node(package="..."), or PACKAGE = "..." for it
                modules.add(node.value.value)
            else:
                modules |= _packages_named(node)
    return modules


def test_the_ament_index_of_this_environment_is_found():
    # without it, rclpy and the message packages would not count as ROS packages
    # and the two checks below would pass for the wrong reason
    assert {"rclpy", "std_msgs", "sensor_msgs", "lifecycle_msgs"} <= ros_package_names()


@pytest.mark.parametrize("package", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_imported_ros_packages_are_declared(package: Path):
    ros = ros_package_names()
    used = (imported_modules(package) & ros) - {package.name}
    missing = sorted(used - declared(package))
    assert not missing, (f"{package.name}/package.xml lacks "
                         + " ".join(f"<exec_depend>{m}</exec_depend>" for m in missing))


@pytest.mark.parametrize("package", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_declared_dependencies_are_used(package: Path):
    ros = ros_package_names()
    used = imported_modules(package)
    unused = []
    for dep in sorted(declared(package)):
        module = ROSDEP_MODULES.get(dep, dep)
        if (dep in ros or dep in ROSDEP_MODULES) and module not in used:
            unused.append(dep)
    assert not unused, f"{package.name}/package.xml declares unused {unused}"


def test_interface_package_declares_exactly_what_its_definitions_use():
    package = SRC / "rehab_interfaces"
    files = [*package.glob("msg/*.msg"), *package.glob("action/*.action"),
             *package.glob("srv/*.srv")]
    assert files
    used = set()
    for path in files:
        for line in path.read_text().splitlines():
            field = line.split("#")[0].strip().split()
            if field and "/" in field[0]:
                used.add(field[0].split("/")[0])
    used.discard("rehab_interfaces")
    deps = declared(package, ("depend", "build_depend"))
    assert used <= deps, f"undeclared: {sorted(used - deps)}"
    assert deps <= used, f"declared but unused: {sorted(deps - used)}"
    assert "rosidl_default_generators" in declared(package, ("buildtool_depend",))
    assert "rosidl_default_runtime" in declared(package, ("exec_depend",))


def test_core_never_depends_on_ros():
    deps = declared(SRC / "rehab_core", (*RUN_DEPS, "build_depend"))
    assert not deps & (ros_package_names() - {"rehab_core"})
    assert "rclpy" not in imported_modules(SRC / "rehab_core")


# -- rclpy APIs newer than Humble ------------------------------------------------------

# module or name -> (first distro, what to use on Humble)
NEWER_MODULES = {
    "rclpy.event_handler": ("Iron", "rclpy.qos_event"),
    "rclpy.type_support": ("Iron", "the message class itself"),
    "rclpy.service_introspection": ("Iron", "nothing (no introspection on Humble)"),
    "rclpy.clock_type": ("Iron", "rclpy.clock.ClockType"),
    "rclpy.parameter_client": ("Iron", "the rcl_interfaces parameter services"),
    "rclpy.experimental": ("Jazzy", "rclpy.executors"),
}
NEWER_NAMES = {("rclpy.executors", "EventsExecutor"): ("Jazzy", "MultiThreadedExecutor")}
NEWER_METHODS = {"count_clients": ("Jazzy", "get_client_names_and_types_by_node"),
                 "count_services": ("Jazzy", "get_service_names_and_types_by_node")}
NEWER_KEYWORDS = {("create_timer", "autostart"): ("Jazzy", "cancel() right after creating it")}
FALLBACK_ERRORS = {"ImportError", "ModuleNotFoundError", "AttributeError", "TypeError",
                   "Exception"}


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside try/except of an import/attribute error, or under an `if hasattr(...)`."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                names = ast.unparse(handler.type) if handler.type else "Exception"
                if set(re.findall(r"\w+", names)) & FALLBACK_ERRORS:
                    return True
        if isinstance(parent, ast.If) and re.search(r"hasattr|getattr|distro|version",
                                                    ast.unparse(parent.test)):
            return True
        node = parent
    return False


def newer_api_uses(tree: ast.AST) -> list[tuple[int, str, str, str]]:
    """(line, API, first distro, Humble alternative) for every unguarded post-Humble use."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        hits = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in NEWER_MODULES:
                hits.append((node.module, *NEWER_MODULES[node.module]))
            for alias in node.names:
                if (node.module, alias.name) in NEWER_NAMES:
                    hits.append((f"{node.module}.{alias.name}",
                                 *NEWER_NAMES[(node.module, alias.name)]))
                if f"{node.module}.{alias.name}" in NEWER_MODULES:
                    hits.append((f"{node.module}.{alias.name}",
                                 *NEWER_MODULES[f"{node.module}.{alias.name}"]))
        elif isinstance(node, ast.Import):
            hits += [(a.name, *NEWER_MODULES[a.name]) for a in node.names
                     if a.name in NEWER_MODULES]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in NEWER_METHODS:
                hits.append((method, *NEWER_METHODS[method]))
            for kw in node.keywords:
                if (method, kw.arg) in NEWER_KEYWORDS:
                    hits.append((f"{method}({kw.arg}=)", *NEWER_KEYWORDS[(method, kw.arg)]))
        elif isinstance(node, ast.withitem):
            call = node.context_expr
            if isinstance(call, ast.Call) and ast.unparse(call.func) == "rclpy.init":
                hits.append(("with rclpy.init(...)", "Jazzy",
                             "rclpy.init() + try/finally rclpy.try_shutdown()"))
        found += [(getattr(node, "lineno", 0), *hit) for hit in hits
                  if not _guarded(node, parents)]
    return found


def test_newer_api_detector_finds_unguarded_and_accepts_guarded_uses():
    bad = ast.parse("from rclpy.event_handler import X\nwith rclpy.init():\n    pass\n"
                    "node.create_timer(1.0, cb, autostart=False)\n")
    assert [hit[1] for hit in newer_api_uses(bad)] == [
        "rclpy.event_handler", "with rclpy.init(...)", "create_timer(autostart=)"]
    good = ast.parse("try:\n    from rclpy.event_handler import X\nexcept ImportError:\n"
                     "    from rclpy.qos_event import X\n"
                     "if hasattr(node, 'count_clients'):\n    node.count_clients('a')\n")
    assert newer_api_uses(good) == []


@pytest.mark.parametrize("package", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_no_rclpy_api_newer_than_humble_without_fallback(package: Path):
    problems = []
    for path in sorted((package / package.name).rglob("*.py")):
        for line, api, since, instead in newer_api_uses(ast.parse(path.read_text())):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {api} needs ROS 2 {since}; "
                            f"on Humble use {instead} (or guard it)")
    assert not problems, "\n".join(problems)
