"""Deep equality of payloads (dataclasses holding arrays), optionally to float32 precision.

Why: a payload handed over in the container and the same payload rebuilt from
its message in another process must be equal; messages carry float32, so a
payload made in float64 comes back equal only to that precision.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def same(a: object, b: object, tol: float = 0.0) -> bool:
    """``a == b`` field by field (NaN equals NaN); floats within ``tol`` (relative/absolute)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name), tol) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None or np.shape(a) != np.shape(b):
            return False
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)) if tol else \
            bool(np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f"))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(
            same(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            same(a[k], b[k], tol) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol) if tol else a == b
    return a == b
