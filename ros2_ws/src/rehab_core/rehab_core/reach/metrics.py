"""Reach metrics: per-frame classification and keyframe (onset/offset) timing.

Keyframe error is what matters for a rehabilitation device (when to assist),
so besides per-frame accuracy we match predicted to true keyframes within a
tolerance and report the mean absolute frame error, missed and false counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rehab_core.reach.babynet import CLASSES, NOR, R


def frame_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, precision/recall of R and NoR, and the 4x4 confusion matrix (rows = true)."""
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    k = len(CLASSES)
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    out: dict = {"accuracy": float(np.mean(y_true == y_pred)) if y_true.size else 0.0,
                 "frames": int(y_true.size), "confusion": cm.tolist()}
    for cls, name in ((R, "R"), (NOR, "NoR")):
        tp = cm[cls, cls]
        out[f"precision_{name}"] = float(tp / max(cm[:, cls].sum(), 1))
        out[f"recall_{name}"] = float(tp / max(cm[cls].sum(), 1))
    return out


def match_keyframes(true: Sequence[int], pred: Sequence[int], tolerance: int = 5) -> dict:
    """Greedy one-to-one matching (closest pairs first) within ``tolerance`` frames."""
    pairs = sorted(
        (abs(t - p), i, j) for i, t in enumerate(true) for j, p in enumerate(pred)
        if abs(t - p) <= tolerance
    )
    used_t: set[int] = set()
    used_p: set[int] = set()
    errors: list[int] = []
    for err, i, j in pairs:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            errors.append(err)
    return {"matched": len(errors), "missed": len(true) - len(errors),
            "false": len(pred) - len(errors), "errors": errors}


def merge_keyframe_results(results: Sequence[dict]) -> dict:
    """Sum matches over sequences/sides; mean_abs_error is over matched keyframes."""
    errors = [e for r in results for e in r["errors"]]
    total_true = sum(r["matched"] + r["missed"] for r in results)
    return {
        "true": total_true,
        "matched": len(errors),
        "missed": sum(r["missed"] for r in results),
        "false": sum(r["false"] for r in results),
        "mean_abs_error_frames": float(np.mean(errors)) if errors else float("nan"),
        "exact_rate": float(np.mean(np.asarray(errors) == 0)) if errors else 0.0,
    }
