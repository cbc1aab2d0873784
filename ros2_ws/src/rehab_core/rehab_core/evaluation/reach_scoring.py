"""Scoring predicted reach phases against labelled reaches: keyframes and per-frame overlap.

Why apart from ``event_scoring``: infant reaches are matched as keyframes
(onset/offset within a tolerance, one to one) and per frame, a different job
from counting repetitions; it reads only a played frame's time, drop flag and
phases (:class:`PlayedFrame`), so it needs nothing else of the scorer.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Protocol

from rehab_core.evaluation.event_labels import EPS, SIDES, Reach

#: default reach keyframe tolerance: at 30 fps 0.5 s, i.e. hand-labelling error (~0.2 s) plus
#: the detector's confirmation lag, still shorter than one infant reach, so neighbours don't merge
DEFAULT_TOLERANCE_FRAMES = 15


class PlayedFrame(Protocol):
    """What reach scoring reads of a played frame (``event_scoring.FrameOutputs`` has it)."""

    t_s: float
    reach: dict[str, str]
    dropped: bool


def ratio(num: int, den: int) -> float | None:
    """``num / den``, None when there is nothing to divide by."""
    return num / den if den else None


def score_reach(reaches: list[Reach], frames: Sequence[PlayedFrame], fps: float,
                 window: tuple[float, float], played_s: float,
                 tol_on: float, tol_off: float) -> dict:
    played = [r for r in reaches if window[0] <= r.onset_s <= window[1]]
    per_side: dict[str, dict] = {}
    for side in SIDES:
        mine = [r for r in played if r.side == side]
        pred_on, pred_off = _edges(frames, side)
        true_off = [r.offset_s for r in mine if r.offset_s is not None
                    and window[0] <= r.offset_s <= window[1]]
        per_side[side] = {
            "onsets": _match([r.onset_s for r in mine], pred_on, fps, tol_on),
            "offsets": _match(true_off, pred_off, fps, tol_off),
            "frames": _frame_pr(mine, frames, side, fps),
        }
    onsets = _merge([s["onsets"] for s in per_side.values()])
    false = onsets["false"]
    return {
        "onset_tolerance_frames": tol_on,
        "offset_tolerance_frames": tol_off,
        "not_played": len(reaches) - len(played),
        "onsets": onsets,
        "offsets": _merge([s["offsets"] for s in per_side.values()]),
        "false_triggers": false,
        "false_triggers_per_min": false / (played_s / 60.0),
        "frames": _merge_pr([s["frames"] for s in per_side.values()]),
        "per_side": per_side,
    }


def _edges(frames: Sequence[PlayedFrame], side: str) -> tuple[list[float], list[float]]:
    """Times where the side's phase becomes onset / offset (dropped frames skipped)."""
    onsets, offsets, prev = [], [], "no_reach"
    for f in frames:
        if f.dropped:
            continue
        phase = str(f.reach.get(side, "no_reach")).lower()
        if phase != prev and phase == "onset":
            onsets.append(f.t_s)
        elif phase != prev and phase == "offset":
            offsets.append(f.t_s)
        prev = phase
    return onsets, offsets


def _match(truth: list[float], pred: list[float], fps: float, tol: float) -> dict:
    """Greedy one-to-one matching, closest pairs first, within ``tol`` frames."""
    pairs = sorted(((p - t) * fps, i, j) for i, t in enumerate(truth)
                   for j, p in enumerate(pred) if abs(p - t) * fps <= tol + EPS)
    pairs.sort(key=lambda e: (abs(e[0]), e[1], e[2]))
    used_t: set[int] = set()
    used_p: set[int] = set()
    errors: list[float] = []
    for err, i, j in pairs:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            errors.append(err)
    return _summary(len(truth), len(pred), errors)


def _summary(n_true: int, n_pred: int, errors: list[float]) -> dict:
    abs_err = [abs(e) for e in errors]
    return {
        "truth": n_true,
        "predicted": n_pred,
        "matched": len(errors),
        "missed": n_true - len(errors),
        "false": n_pred - len(errors),
        "errors_frames": errors,
        "mean_abs_error_frames": statistics.fmean(abs_err) if abs_err else None,
        "median_abs_error_frames": statistics.median(abs_err) if abs_err else None,
    }


def _merge(parts: list[dict]) -> dict:
    errors = [e for p in parts for e in p["errors_frames"]]
    return _summary(sum(p["truth"] for p in parts), sum(p["predicted"] for p in parts), errors)


def _frame_pr(reaches: list[Reach], frames: Sequence[PlayedFrame], side: str, fps: float) -> dict:
    half = 0.5 / fps
    spans = [(r.onset_s - half, (r.offset_s if r.offset_s is not None else r.onset_s) + half)
             for r in reaches]
    tp = fp = fn = 0
    for f in frames:
        if f.dropped:
            continue
        truth = any(a <= f.t_s <= b for a, b in spans)
        pred = str(f.reach.get(side, "no_reach")).lower() != "no_reach"
        tp += truth and pred
        fp += pred and not truth
        fn += truth and not pred
    return _pr(tp, fp, fn)


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {"tp": tp, "fp": fp, "fn": fn, "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn)}


def _merge_pr(parts: list[dict]) -> dict:
    return _pr(*(sum(p[k] for p in parts) for k in ("tp", "fp", "fn")))
