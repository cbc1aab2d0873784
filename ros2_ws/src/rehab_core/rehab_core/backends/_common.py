"""Checks every backend shares: model file present, feeds match the input specs."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np

from rehab_core.backends.base import TensorSpec
from rehab_core.errors import BackendUnavailableError, ModelLoadError, ShapeMismatchError


def import_runtime(module: str, pip_package: str, backend: str) -> ModuleType:
    """Import a runtime module or raise ``BackendUnavailableError`` naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendUnavailableError(
            f"{backend} backend needs the '{module}' module: pip install {pip_package} ({err})"
        ) from err


def require_model_file(model_path: str | Path) -> Path:
    """The model path as a Path, or ``ModelLoadError`` when missing or empty."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"model file is empty: {path}")
    return path


def check_feeds(specs: list[TensorSpec], feeds: dict[str, np.ndarray]) -> None:
    """Raise ``ShapeMismatchError`` unless ``feeds`` has every input with a fitting shape/dtype."""
    names = {s.name for s in specs}
    missing = names - set(feeds)
    unknown = set(feeds) - names
    if missing or unknown:
        raise ShapeMismatchError(
            f"inputs expected {sorted(names)}, got {sorted(feeds)}"
            + (f" (missing {sorted(missing)})" if missing else "")
            + (f" (unknown {sorted(unknown)})" if unknown else "")
        )
    for spec in specs:
        array = feeds[spec.name]
        if not isinstance(array, np.ndarray):
            raise ShapeMismatchError(f"input {spec.name!r} must be a numpy array")
        if not spec.is_compatible(array):
            raise ShapeMismatchError(
                f"input {spec.name!r}: expected shape {spec.shape}, got {tuple(array.shape)}"
            )
        if array.dtype != spec.dtype:
            raise ShapeMismatchError(
                f"input {spec.name!r}: expected dtype {np.dtype(spec.dtype)}, got {array.dtype}"
            )
