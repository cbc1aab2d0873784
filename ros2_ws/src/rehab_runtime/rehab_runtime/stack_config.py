"""The stack's YAML parameter file: one ROS 2 parameter file for every way of running it.

It is a normal ROS 2 parameter file (``<node>: ros__parameters: ...``) so
launch_ros can hand it to separate nodes unchanged; two sections describe the
graph itself:

* ``rehab_container.ros__parameters.components``: the components to load, as
  ``plugin`` or ``plugin:node_name`` (plugin = entry point name in group
  ``rehab_runtime.components``) or ``module:Class:node_name``; a node name may carry a
  namespace (``exo_assist:exo/exo_assist``: node ``exo_assist`` in ``/exo``, its section
  ``exo_assist``). ``remappings``: a list of ``node_name:from:=to``.
* ``lifecycle_manager.ros__parameters``: ``node_names`` (bring-up order),
  ``autostart``, ``bond_timeout`` ...
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rehab_core.errors import ConfigError

CONTAINER = "rehab_container"
MANAGER = "lifecycle_manager"


@dataclass(frozen=True)
class ComponentSpec:
    plugin: str
    name: str
    parameters: dict[str, Any]
    remappings: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    namespace: str = ""  # "" = the container's own


def load_stack(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The parameter file as a dict (a dict is deep-copied so callers can override freely)."""
    if isinstance(source, dict):
        return copy.deepcopy(source)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"parameter file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of node names")
    return data


def node_params(stack: dict[str, Any], name: str) -> dict[str, Any]:
    section = stack.get(name) or stack.get(f"/{name}") or {}
    params = dict((stack.get("/**") or {}).get("ros__parameters", {}))
    params.update(section.get("ros__parameters", {}) if isinstance(section, dict) else {})
    return params


def set_param(stack: dict[str, Any], node: str, key: str, value: Any) -> None:
    stack.setdefault(node, {}).setdefault("ros__parameters", {})[key] = value


def components(stack: dict[str, Any]) -> list[ComponentSpec]:
    params = node_params(stack, CONTAINER)
    entries = params.get("components") or []
    if not entries:
        raise ConfigError(f"{CONTAINER}.ros__parameters.components lists no component")
    remaps: dict[str, list[tuple[str, str]]] = {}
    for rule in params.get("remappings") or []:
        try:
            node, mapping = str(rule).split(":", 1)
            src, dst = mapping.split(":=", 1)
        except ValueError as err:
            raise ConfigError(f"remapping {rule!r} is not 'node:from:=to'") from err
        remaps.setdefault(node, []).append((src, dst))
    specs = []
    for entry in entries:
        parts = str(entry).split(":")
        if len(parts) == 3:  # "module:Class:node_name" (a class that is no entry point)
            plugin, name = f"{parts[0]}:{parts[1]}", parts[2]
        else:
            plugin, _, name = str(entry).partition(":")
        namespace, _, name = (name or plugin).rpartition("/")
        specs.append(ComponentSpec(plugin, name, node_params(stack, name),
                                   tuple(remaps.get(name, ())),
                                   f"/{namespace.strip('/')}" if namespace else ""))
    return specs


def manager_params(stack: dict[str, Any]) -> dict[str, Any]:
    return node_params(stack, MANAGER)


def bring_up_order(stack: dict[str, Any], loaded: Iterable[str]) -> list[str]:
    """``loaded`` node names in the manager's ``node_names`` order, the unlisted ones after."""
    loaded = list(loaded)
    order = [n for n in manager_params(stack).get("node_names", []) if n in loaded]
    return order + [n for n in loaded if n not in order]


def remove_components(stack: dict[str, Any], names: Iterable[str]) -> None:
    """Drop components (and the manager's entries for them) from the stack, in place."""
    drop = set(names)
    kept = [c for c in node_params(stack, CONTAINER).get("components") or []
            if str(c).split(":")[-1] not in drop]
    set_param(stack, CONTAINER, "components", kept)
    manager = node_params(stack, MANAGER)
    if "node_names" in manager:
        set_param(stack, MANAGER, "node_names", [n for n in manager["node_names"] if n not in drop])


#: sections a stack file may hold besides its components' (other nodes share the file)
OTHER_SECTIONS = {"/**", CONTAINER, MANAGER}


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest candidate, or ''."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_sections(stack: dict[str, Any], known: Iterable[str]) -> None:
    """Refuse a node section no component of the stack or registered plugin answers to.

    A misspelt section (``pose_estimater:``) would otherwise configure nothing
    and the node would silently run on its defaults.
    """
    names = set(known) | OTHER_SECTIONS
    for section in stack:
        if str(section).lstrip("/") not in names and section not in names:
            raise ConfigError(f"unknown node section {section!r}{did_you_mean(section, names)}; "
                              f"known: {sorted(n for n in names if n != '/**')}")


def parse_overrides(items: list[str]) -> list[tuple[str, str, Any]]:
    """``node.param=value`` strings (value parsed as YAML) -> (node, param, value)."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        node, dot, param = key.partition(".")
        if not sep or not dot or not node or not param:
            raise ConfigError(f"--set expects node.param=value, got {item!r}")
        out.append((node, param, yaml.safe_load(raw) if raw else ""))
    return out
