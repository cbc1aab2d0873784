"""Strict JSON for everything the stack writes: non-finite numbers never reach a file.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no strict
JSON reader accepts (``json.loads(..., parse_constant=raise)``, JavaScript,
jq). A model or a hostile publisher can produce them, so every writer of
JSONL / summaries goes through ``dumps``: NaN and +-inf become ``null`` (the
value is unknown), numpy scalars and arrays become plain numbers and lists.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, np.generic):
        return finite(value.item())
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``finite(value)``, strict (``allow_nan=False``)."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses NaN / Infinity (what tests and strict readers do)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"non-finite number {name} in JSON")

    return json.loads(text, parse_constant=refuse)
