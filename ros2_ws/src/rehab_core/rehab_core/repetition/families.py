"""Exercises the classifier confuses, and bouts: the one place both the goal and ``rehab run`` use.

The families are measured, not guessed: they are the held-out confusions in
``models/exercise_stgcn/loso/confusion_videos.json`` (same moving joints). In
a ``RunExercise`` goal a sibling label never vetoes a repetition (``verdict``);
without a goal a contiguous bout whose labels all fall in one family is one
exercise, named by its confidence-weighted majority (``BoutTracker``,
``merge_segments``), so a squat the classifier calls "deadlift" for its first
seconds is still one squat set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

UNKNOWN = "unknown"
FAMILIES = (
    frozenset({"squat", "lunge", "deadlift", "sit_to_stand"}),
    frozenset({"jumping_jacks", "arm_raise"}),
)


def siblings(a: str, b: str) -> bool:
    """True when two different exercises are in one confusable family (``FAMILIES``)."""
    return a != b and any(a in f and b in f for f in FAMILIES)


def supersedes(new: str, old: str) -> bool:
    """A repetition counted as ``new`` replaces an overlapping earlier one counted as ``old``:
    a relabel within a family, or a label for what the generic counter (``unknown``) counted."""
    return new != UNKNOWN and (old == UNKNOWN or siblings(new, old))


def family_of(label: str) -> frozenset[str]:
    """The family holding ``label`` (itself alone when it is in none)."""
    for f in FAMILIES:
        if label in f:
            return f
    return frozenset({label})


def same_bout(a: str, b: str) -> bool:
    """Two consecutive labels belong to one bout: equal or siblings."""
    return a == b or siblings(a, b)


@dataclass
class Bout:
    """One exercise bout: its start, the labels seen over it and their weights."""

    start_s: float
    end_s: float
    weights: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def family(self) -> frozenset[str]:
        return family_of(next(iter(self.weights))) if self.weights else frozenset()

    @property
    def label(self) -> str:
        """Confidence-weighted majority (ties: the first label seen)."""
        return max(self.weights, key=self.weights.__getitem__) if self.weights else UNKNOWN


class BoutTracker:
    """Groups a stream of (time, label, confidence) into bouts.

    A new bout starts when a label outside the current bout's family arrives,
    or when only ``unknown`` (or nothing) was said for at least ``split_gap_s``
    (a short unknown flicker inside a set does not split it). Each label adds
    its confidence times the time since the previous label to its weight.
    """

    def __init__(self, split_gap_s: float = 2.0) -> None:
        if not split_gap_s > 0:
            raise ValueError(f"split_gap_s must be > 0, got {split_gap_s}")
        self.split_gap_s = split_gap_s
        self.bouts: list[Bout] = []
        self._last_t: float | None = None
        self._last_known_t: float | None = None

    @property
    def current(self) -> Bout | None:
        return self.bouts[-1] if self.bouts else None

    def update(self, t: float, label: str, confidence: float) -> tuple[Bout | None, bool]:
        """Feed one prediction; returns (current bout, True when it is a new bout)."""
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        if not label or label == UNKNOWN:
            return self.current, False
        bout = self.current
        gap = self._last_known_t is not None and t - self._last_known_t >= self.split_gap_s
        self._last_known_t = t
        new = bout is None or gap or label not in bout.family
        if new:
            bout = Bout(t, t)
            self.bouts.append(bout)
        bout.end_s = t
        bout.weights[label] += float(confidence) * (dt if dt > 0 and not new else 1e-3)
        return bout, new


def merge_segments(segments: Sequence[dict], split_gap_s: float = 2.0) -> list[dict]:
    """Label segments ({label, start_s, end_s, confidence}) -> bouts, same fields.

    Consecutive segments of one family, less than ``split_gap_s`` apart, are
    one bout labelled by the duration x confidence majority; its confidence is
    the duration-weighted mean of its segments of that label.
    """
    out: list[dict] = []
    groups: list[list[dict]] = []
    for seg in segments:
        last = groups[-1][-1] if groups else None
        if (last is not None and same_bout_family(groups[-1], seg["label"])
                and seg["start_s"] - last["end_s"] < split_gap_s):
            groups[-1].append(seg)
        else:
            groups.append([seg])
    for group in groups:
        weight: dict[str, float] = defaultdict(float)
        for seg in group:
            weight[seg["label"]] += _dur(seg) * float(seg["confidence"])
        label = max(weight, key=weight.__getitem__)
        mine = [s for s in group if s["label"] == label]
        total = sum(_dur(s) for s in mine)
        conf = (sum(_dur(s) * s["confidence"] for s in mine) / total if total > 0
                else sum(s["confidence"] for s in mine) / len(mine))
        merged = {"label": label, "start_s": group[0]["start_s"], "end_s": group[-1]["end_s"],
                  "confidence": round(float(conf), 3)}
        if len(group) > 1:
            merged["parts"] = [dict(s) for s in group]
        out.append(merged)
    return out


def same_bout_family(group: Iterable[dict], label: str) -> bool:
    return all(same_bout(s["label"], label) for s in group)


def _dur(seg: dict) -> float:
    return max(1e-3, float(seg["end_s"]) - float(seg["start_s"]))
