"""What a benchmark ran on, written next to its figures: the machine, and the sha256 of
every model file and of the bag (so two bench.json files say whether they are comparable).
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

from rehab_runtime import stack_config

#: parameter names whose values are model files or folders (hashed into bench.json)
_MODEL_KEYS = ("model_path", "model_dir", "labels_path")


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative names and contents, sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def model_hashes(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``node.param`` -> path and sha256 of every model file named in the stack's parameters."""
    out: dict[str, dict[str, Any]] = {}
    for spec in stack_config.components(stack):
        for key in _MODEL_KEYS:
            value = spec.parameters.get(key)
            if not isinstance(value, str) or not value:
                continue
            path = Path(value)
            entry: dict[str, Any] = {"path": str(path)}
            entry.update({"sha256": sha256_path(path)} if path.exists() else {"missing": True})
            out[f"{spec.name}.{key}"] = entry
    return out


def machine_info() -> dict[str, Any]:
    import psutil

    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "ros_distro": os.environ.get("ROS_DISTRO", ""),
        "rmw": os.environ.get("RMW_IMPLEMENTATION", "default"),
    }
