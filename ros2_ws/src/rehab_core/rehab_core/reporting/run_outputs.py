"""What ``rehab run`` writes: ``predictions.jsonl`` per frame and ``summary.json``.

The field names are a contract other tools read (see the README):

summary.json: frames, input_fps, processed_fps, actions [{label, start_s,
end_s, confidence}], repetitions {label: count}, reaches [{side, onset_s,
offset_s}], errors [str], plus informational extras.

predictions.jsonl: one object per input frame: frame, t, skeletons [{layout,
keypoints [[x, y, score]...], track_id}], detections [{label, score, box}],
action (object or null), reach (object or null).

Frames are written as they complete (streaming), never buffered to the end.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rehab_core.types import Detection, Skeleton

#: actions shorter than this are merged into their neighbours' gap (flicker)
MIN_SEGMENT_S = 0.5
REACH_PHASES = ("NO_REACH", "ONSET", "REACH", "OFFSET")


def _round(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def skeleton_record(skeleton: Skeleton) -> dict[str, Any]:
    return {
        "layout": skeleton.layout,
        "keypoints": [[_round(x), _round(y), _round(s, 3)] for x, y, s in skeleton.keypoints],
        "track_id": int(skeleton.track_id),
        "score": _round(skeleton.score, 3),
        "box": [_round(v) for v in skeleton.box],
    }


def detection_record(detection: Detection) -> dict[str, Any]:
    return {
        "label": detection.label,
        "score": _round(detection.score, 3),
        "box": [_round(v) for v in detection.box],
    }


@dataclass
class FrameResult:
    """Everything the graph produced for one source frame."""

    index: int
    t: float
    skeletons: list[Skeleton] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    action: dict[str, Any] | None = None
    reach: dict[str, Any] | None = None
    repetitions: list[dict[str, Any]] = field(default_factory=list)
    dropped: str | None = None


@dataclass
class _Segment:
    label: str
    start_s: float
    end_s: float
    confidences: list[float]


class RunRecorder:
    """Streams predictions.jsonl and builds summary.json from frame results."""

    def __init__(self, out_dir: str | Path, input_name: str, input_fps: float) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.input_name = input_name
        self.input_fps = float(input_fps)
        self._jsonl: TextIO = (self.out_dir / "predictions.jsonl").open("w")
        self.frames = 0
        self.errors: list[str] = []
        self._segments: list[_Segment] = []
        self._repetitions: Counter[str] = Counter()
        self._repetition_events: list[dict[str, Any]] = []
        self._open_reach: dict[str, float] = {}
        self._reaches: list[dict[str, Any]] = []
        self._last_t = 0.0

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self._last_t = max(self._last_t, result.t)
        if result.dropped:
            self.errors.append(f"frame {result.index}: dropped: {result.dropped}")
        record = {
            "frame": result.index,
            "t": _round(result.t, 4),
            "skeletons": [skeleton_record(s) for s in result.skeletons],
            "detections": [detection_record(d) for d in result.detections],
            "action": result.action,
            "reach": result.reach,
        }
        if result.repetitions:
            record["repetitions"] = result.repetitions
        self._jsonl.write(json.dumps(record, allow_nan=False) + "\n")
        self._track_action(result)
        for event in result.repetitions:
            self._repetitions[event["exercise"]] = max(
                self._repetitions[event["exercise"]], int(event["count"])
            )
            self._repetition_events.append(event)
        self._track_reach(result)

    def _track_action(self, result: FrameResult) -> None:
        action = result.action
        label = action.get("label") if action else None
        if not label or label == "unknown":
            return
        confidence = float(action.get("confidence", 0.0))
        last = self._segments[-1] if self._segments else None
        gap = 1.0 / self.input_fps if self.input_fps > 0 else 0.1
        if last and last.label == label and result.t - last.end_s <= max(MIN_SEGMENT_S, 3 * gap):
            last.end_s = result.t
            last.confidences.append(confidence)
        else:
            self._segments.append(_Segment(label, result.t, result.t, [confidence]))

    def _track_reach(self, result: FrameResult) -> None:
        reach = result.reach
        if not reach:
            return
        side = reach.get("side", "")
        phase = reach.get("phase")
        if phase == "ONSET" and side not in self._open_reach:
            self._open_reach[side] = result.t
        elif phase in ("OFFSET", "NO_REACH") and side in self._open_reach:
            onset = self._open_reach.pop(side)
            offset = result.t if phase == "OFFSET" else None
            self._reaches.append({"side": side, "onset_s": _round(onset, 3),
                                  "offset_s": None if offset is None else _round(offset, 3)})

    def actions(self) -> list[dict[str, Any]]:
        """Recognised exercise segments, short flickers dropped."""
        out = []
        for seg in self._segments:
            if seg.end_s - seg.start_s < MIN_SEGMENT_S and len(self._segments) > 1:
                continue
            if out and out[-1]["label"] == seg.label:
                out[-1]["end_s"] = _round(seg.end_s, 3)
                continue
            out.append({
                "label": seg.label,
                "start_s": _round(seg.start_s, 3),
                "end_s": _round(seg.end_s, 3),
                "confidence": _round(sum(seg.confidences) / len(seg.confidences), 3),
            })
        return out

    def close(self, wall_s: float, extras: dict[str, Any] | None = None) -> dict[str, Any]:
        """Finish the JSONL and write summary.json; returns the summary."""
        self._jsonl.close()
        for side, onset in self._open_reach.items():
            self._reaches.append({"side": side, "onset_s": _round(onset, 3), "offset_s": None})
        self._open_reach.clear()
        summary: dict[str, Any] = {
            "input": self.input_name,
            "frames": self.frames,
            "input_fps": _round(self.input_fps),
            "processed_fps": _round(self.frames / wall_s) if wall_s > 0 else 0.0,
            "duration_s": _round(self._last_t, 3),
            "actions": self.actions(),
            "repetitions": dict(self._repetitions),
            "repetition_events": self._repetition_events,
            "reaches": self._reaches,
            "errors": self.errors,
        }
        if extras:
            summary.update(extras)
        text = json.dumps(summary, indent=2, allow_nan=False, default=_json_default)
        (self.out_dir / "summary.json").write_text(text + "\n")
        return summary


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
