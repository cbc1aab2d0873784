"""Held-out-source evaluation of the exercise classifier and of counting, per clip.

Per held-out real clip: the classifier's windows (window accuracy), its
dominant label (video accuracy), and where the clip's repetitions are known,
the count a ``RunExercise`` goal would report (the exercise's own key signal,
each repetition vetoed only when the classifier confidently names another
exercise, ``repetition/verdict.py``) and the one ``rehab run`` would report
without a goal. On ``unknown`` clips (other movements) it measures the
repetitions ``rehab run`` would wrongly count (``count_eval.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from rehab_core.coaching.session_types import REJECT_CONFIDENCE
from rehab_core.datasets.corpus import MEDIA_SOURCE, CorpusClip
from rehab_core.errors import ConfigError
from rehab_core.recognition.motion_check import (
    checked_label,
    clip_companions,
    clip_signals,
    companion_signals,
    judged,
    key_signals,
)
from rehab_core.recognition.recent_frames import LOOKBACK_S
from rehab_core.recognition.rep_evidence import ended_within, evidence_span, rescued_label
from rehab_core.recognition.stance import clip_verdicts, family_member
from rehab_core.repetition.verdict import UNKNOWN
from rehab_core.training.count_eval import add_counts, count_repetitions
from rehab_core.training.live_smoothing import LiveSmoothing, hold_labels, smooth_probs
from rehab_core.training.recognition_data import RecognitionData, eval_windows
from rehab_core.training.trainer import predict_proba


def window_labels(probs: np.ndarray, labels: Sequence[str], threshold: float) -> list[str]:
    """Per-window label: the top class, or ``unknown`` under ``threshold``."""
    top = probs.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
    return [labels[i] if probs[k, i] >= threshold else UNKNOWN for k, i in enumerate(top)]


def rescue_windows(probs: np.ndarray, labels: Sequence[str], labels_w: list[str],
                   clip: CorpusClip, starts_s: np.ndarray,
                   span_s: float) -> tuple[list[str], list[float]]:
    """``labels_w`` with each ``unknown`` window relabelled as the likeliest exercise that
    completed a repetition over its evidence span, the live classifier's rule
    (``rep_evidence.py``),
    and every window's confidence (a rescued window's: its exercise's own score)."""
    ends: dict[str, list[float]] = {}

    def ends_of(name: str) -> list[float]:
        if name not in ends:
            ends[name] = [r.end_t for r in count_repetitions(clip, name)]
        return ends[name]

    out, conf = list(labels_w), [float(p.max()) for p in probs]
    for k, label in enumerate(labels_w):
        if label != UNKNOWN:
            continue
        since, until = evidence_span(float(starts_s[k]), float(starts_s[k]) + span_s)
        name = rescued_label(probs[k], labels, lambda n, since=since, until=until:
                             ended_within(ends_of(n), since, until))
        if name is not None:
            out[k], conf[k] = name, float(probs[k][labels.index(name)])
    return out, conf


def label_windows(probs: np.ndarray, labels: Sequence[str], threshold: float,
                  evidence_clip: CorpusClip | None = None, starts_s: np.ndarray | None = None,
                  span_s: float = 0.0, stance_clip: CorpusClip | None = None,
                  motion_clip: CorpusClip | None = None) -> tuple[list[str], list[float]]:
    """Per-window labels and confidences (``window_labels``); with ``evidence_clip`` the
    repetition evidence rule relabels doubtful windows over that clip (``rescue_windows``);
    with ``stance_clip`` the stance picks the squat family's member (``stance_windows``);
    with ``motion_clip`` an exercise whose key joint did not move is ``unknown``
    (``motion_windows``): the live order, ``recognition/window_rules.py``."""
    labels_w = window_labels(probs, labels, threshold)
    conf = [float(p.max()) for p in probs]
    if evidence_clip is not None:
        labels_w, conf = rescue_windows(probs, labels, labels_w, evidence_clip, starts_s, span_s)
    if stance_clip is not None:
        labels_w = stance_windows(probs, labels, labels_w, stance_clip, starts_s, span_s)
    if motion_clip is not None:
        checked = motion_windows(labels, labels_w, motion_clip, starts_s, span_s)
        refused = [k for k, (a, b) in enumerate(zip(labels_w, checked))
                   if a != b and b == UNKNOWN]
        for k in refused:  # unknown's own score, as live; a sibling keeps the family's
            conf[k] = float(probs[k][labels.index(UNKNOWN)]) if UNKNOWN in labels else conf[k]
        labels_w = checked
    return labels_w, conf


def motion_windows(labels: Sequence[str], labels_w: list[str], clip: CorpusClip,
                   starts_s: np.ndarray, span_s: float) -> list[str]:
    """``labels_w`` with each counted exercise whose key signal did not cover its minimum
    repetition range over the look-back before the window's end ``unknown`` (the 3-D feet
    pick jumping jacks or arm raise), the live classifier's rule
    (``recognition/motion_check.py``)."""
    signals = key_signals(labels)
    if clip.keypoints is None or not signals:
        return labels_w
    values = clip_signals(clip.keypoints, clip.world, sorted({s for s, _ in signals.values()}))
    companions = companion_signals(labels)
    extra, has_3d = clip_companions(clip.world, sorted({c.signal for c in companions.values()}))
    t = np.asarray(clip.stamps_ns, np.float64) * 1e-9
    out = []
    for k, label in enumerate(labels_w):
        end = float(starts_s[k]) + span_s
        recent = (t >= end - LOOKBACK_S) & (t <= end)
        in_3d = recent & has_3d if has_3d is not None else None  # None: no 3-D to judge
        out.append(checked_label(
            label, signals, lambda name, m=recent: values[name][m], companions,
            lambda name, m=in_3d: None if m is None else judged(extra[name][m])))
    return out


def stance_windows(probs: np.ndarray, labels: Sequence[str], labels_w: list[str],
                   clip: CorpusClip, starts_s: np.ndarray, span_s: float) -> list[str]:
    """``labels_w`` with each squat-family window's member chosen by the stance over the
    clip's 3-D up to the window's end, the live classifier's rule (``recognition/stance.py``);
    a relabelled window keeps its confidence (the network's for the family)."""
    ends = [float(s) + span_s for s in starts_s]
    verdicts = clip_verdicts(clip.world, clip.stamps_ns, ends)
    return [family_member(lab, probs[k], labels, verdicts[k]) for k, lab in enumerate(labels_w)]


def window_fields(labels_w: list[str], labels: Sequence[str], truth: str) -> dict:
    """A clip's per-window labels as stored: their indices, how many are right, the dominant."""
    return {"window_correct": int(sum(lab == truth for lab in labels_w)),
            "pred_windows": [labels.index(lab) for lab in labels_w],
            "dominant": Counter(labels_w).most_common(1)[0][0] if labels_w else UNKNOWN}


def evaluate_clip(model, clip: CorpusClip, data: RecognitionData, threshold: float = 0.5,
                  reject_confidence: float = REJECT_CONFIDENCE, evidence: bool = False,
                  stance: bool = False, motion_check: bool = False) -> dict:
    """Everything measured on one held-out clip (JSON-ready); ``evidence``: with the
    repetition evidence rule (``rescue_windows``); ``stance``, ``motion_check``: with
    those rules."""
    labels = list(data.labels)
    x, starts = eval_windows(clip, data)
    probs = predict_proba(model, x) if len(x) else np.zeros((0, len(labels)), np.float32)
    labels_w, confidences = label_windows(probs, labels, threshold, clip if evidence else None,
                                          starts * 1e-9, data.window / data.fps,
                                          clip if stance else None,
                                          clip if motion_check else None)
    out = {
        "clip": clip.name, "source": clip.source, "label": clip.label, "view": clip.view,
        "windows": len(x), **window_fields(labels_w, labels, clip.label),
        "window_confidence": [round(c, 3) for c in confidences],
        # every class's probability: other thresholds and aggregations recomputed offline
        "window_probs": np.round(probs, 3).tolist(),
        "window_start_s": [round(float(t), 3) for t in starts * 1e-9],
        "minutes": float((clip.stamps_ns[-1] - clip.stamps_ns[0]) * 1e-9 / 60.0)
        if len(clip.stamps_ns) > 1 else 0.0,
    }
    add_counts(out, clip, data.window / data.fps, starts * 1e-9, labels_w,
               out["window_confidence"], reject_confidence)
    return out


def recount(row: dict, clip: CorpusClip, data: RecognitionData,
            threshold: float | None = None, evidence: bool = False, stance: bool = False,
            motion_check: bool = False, smoothing: LiveSmoothing | None = None) -> dict:
    """``row`` (a ``clips.jsonl`` line) with its counts measured again from its stored
    window labels: a counter change scored without retraining. With ``threshold`` (or
    ``evidence``, ``stance``, ``motion_check``, ``smoothing``: the live classifier's, before
    and after the rules) the windows are labelled again from their stored probabilities
    (``unknown`` under the threshold, default 0.5; ``label_windows``)."""
    labels = list(data.labels)
    out = dict(row)
    if threshold is not None or evidence or stance or motion_check or smoothing is not None:
        if "window_probs" not in row:
            raise ConfigError(f"{row['clip']}: this run kept no window probabilities "
                              "(rerun the evaluation to label its windows again)")
        probs = np.asarray(row["window_probs"], np.float32).reshape(-1, len(labels))
        starts = np.asarray(row["window_start_s"], np.float64)
        if smoothing is not None:
            probs = smooth_probs(probs, starts, smoothing)
        labels_w, conf = label_windows(probs, labels, 0.5 if threshold is None else threshold,
                                       clip if evidence else None, starts,
                                       data.window / data.fps, clip if stance else None,
                                       clip if motion_check else None)
        if smoothing is not None:
            labels_w, conf = hold_labels(labels_w, conf, probs, labels, starts, smoothing)
        out.update(window_fields(labels_w, labels, clip.label))
        out["window_confidence"] = [round(c, 3) for c in conf]
    labels_w = [labels[i] for i in out["pred_windows"]]
    add_counts(out, clip, data.window / data.fps,
               np.asarray(row["window_start_s"], np.float64), labels_w,
               out["window_confidence"])
    return out


def mix_row(row: dict, other: dict | None, weight: float) -> dict:
    """``row`` with its window probabilities (1 - weight) x its own + weight x ``other``'s:
    the same clip's windows scored by another run's held-out models (``fallback_weight``)."""
    if other is None or other["window_start_s"] != row["window_start_s"]:
        raise ConfigError(f"{row['clip']}: the two runs did not score the same windows")
    if "window_probs" not in row or "window_probs" not in other:
        raise ConfigError(f"{row['clip']}: a run kept no window probabilities")
    a = np.asarray(row["window_probs"], np.float64)
    b = np.asarray(other["window_probs"], np.float64)
    return {**row, "window_probs": np.round((1.0 - weight) * a + weight * b, 3).tolist()}


#: the headline figures, also given for the corpus alone (without the first clip set)
HEADLINE = ("clips", "window_accuracy", "video_accuracy", "count_clips", "count_exact",
            "count_within_1", "unguided_count_exact", "unguided_count_within_1",
            "other_clips", "other_dominant_unknown", "other_false_reps_per_min",
            "other_unguided_reps_per_min")


def summarize_clips(results: list[dict], labels: Sequence[str]) -> dict:
    """The figures the issue asks for, pooled over held-out clips; ``corpus``: the
    headline figures over the corpus's clips alone (the issue's targets)."""
    out = _summarize(results, labels)
    corpus = [r for r in results if r["source"] != MEDIA_SOURCE]
    if corpus and len(corpus) < len(results):
        whole = _summarize(corpus, labels)
        out["corpus"] = {k: whole[k] for k in HEADLINE}
    return out


def _summarize(results: list[dict], labels: Sequence[str]) -> dict:
    n_lab = len(labels)
    cm_w = np.zeros((n_lab, n_lab), np.int64)
    cm_v = np.zeros((n_lab, n_lab), np.int64)
    for r in results:
        t = labels.index(r["label"])
        for p in r["pred_windows"]:
            cm_w[t, p] += 1
        cm_v[t, labels.index(r["dominant"])] += 1
    per_class = {}
    for i, name in enumerate(labels):
        clips = [r for r in results if r["label"] == name]
        if not clips and cm_v[:, i].sum() == 0:
            continue
        per_class[name] = {
            "clips": len(clips), "sources": len({r["source"] for r in clips}),
            "video_recall": _ratio(cm_v[i, i], cm_v[i].sum()),
            "video_precision": _ratio(cm_v[i, i], cm_v[:, i].sum()),
            "window_recall": _ratio(cm_w[i, i], cm_w[i].sum()),
            "window_precision": _ratio(cm_w[i, i], cm_w[:, i].sum()),
        }
    counted = [r["count"] for r in results if "count" in r]
    errors = [c["goal"] - c["true"] for c in counted]
    unguided = [c["unguided"] - c["true"] for c in counted if "unguided" in c]
    others = [r for r in results if r["label"] == UNKNOWN]
    false_total = sum(sum(r["false_reps"].values()) for r in others)
    unguided_total = sum(sum(r.get("unguided_reps", {}).values()) for r in others)
    minutes = sum(r["minutes"] for r in others)
    return {
        "clips": len(results),
        "window_accuracy": _ratio(np.trace(cm_w), cm_w.sum()),
        "video_accuracy": _ratio(np.trace(cm_v), cm_v.sum()),
        "per_class": per_class,
        "count_clips": len(counted),
        "count_exact": _ratio(sum(e == 0 for e in errors), len(errors)),
        "count_within_1": _ratio(sum(abs(e) <= 1 for e in errors), len(errors)),
        "counter_exact_without_classifier": _ratio(
            sum(c["counter"] == c["true"] for c in counted), len(counted)),
        "unguided_count_exact": _ratio(sum(e == 0 for e in unguided), len(unguided)),
        "unguided_count_within_1": _ratio(sum(abs(e) <= 1 for e in unguided), len(unguided)),
        "other_clips": len(others),
        "other_dominant_unknown": _ratio(sum(r["dominant"] == UNKNOWN for r in others),
                                         len(others)),
        "other_false_reps_per_min": false_total / minutes if minutes > 0 else None,
        "other_unguided_reps_per_min": unguided_total / minutes if minutes > 0 else None,
        "confusion_windows": cm_w.tolist(),
        "confusion_videos": cm_v.tolist(),
        "labels": list(labels),
    }


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None
