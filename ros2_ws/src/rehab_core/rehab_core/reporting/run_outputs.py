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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rehab_core import jsonsafe
from rehab_core.repetition.families import merge_segments, supersedes

#: actions shorter than this are merged into their neighbours' gap (flicker)
MIN_SEGMENT_S = 0.5
REACH_PHASES = ("NO_REACH", "ONSET", "REACH", "OFFSET")


def _round(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def _reach_record(states: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Per-side reach states -> one object: the most active side first, all sides kept."""
    if not states:
        return None
    named = [{**s, "phase": REACH_PHASES[int(s["phase"])] if isinstance(s["phase"], int)
              else s["phase"]} for s in states]
    best = max(named, key=lambda s: _PHASE_PRIORITY[s["phase"]])
    return {**best, "sides": named}


_PHASE_PRIORITY = {"NO_REACH": 0, "REACH": 1, "OFFSET": 2, "ONSET": 3}


def frame_record(result: dict[str, Any], current_action: dict[str, Any] | None) -> dict[str, Any]:
    """A graph frame result (``FrameResult.to_dict()``) -> one predictions.jsonl object.

    ``action`` is the classifier's current verdict (the last window's), so
    every frame says what is being recognised at that moment.
    """
    record = {
        "frame": int(result["frame"]),
        "t": _round(result["t"], 4),
        "skeletons": [
            {"layout": s["layout"], "keypoints": s["keypoints"], "track_id": s["track_id"],
             "score": s.get("score", 0.0), "box": s.get("box", [])}
            for s in result.get("skeletons", [])
        ],
        "detections": [
            {"label": d["label"], "score": d["score"], "box": d["box"]}
            for d in result.get("detections", [])
        ],
        "action": current_action,
        "reach": _reach_record(result.get("reach")),
    }
    if result.get("repetitions"):
        record["repetitions"] = result["repetitions"]
    return record


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
        # line-buffered: a killed run keeps every frame written before the kill
        self._jsonl: TextIO = (self.out_dir / "predictions.jsonl").open("w", buffering=1)
        self.frames = 0
        self.errors: list[str] = []
        self._segments: list[_Segment] = []
        self._repetition_events: list[dict[str, Any]] = []
        self._superseded: list[dict[str, Any]] = []
        self._open_reach: dict[str, float] = {}
        self._reaches: list[dict[str, Any]] = []
        self._last_t = 0.0

    def add(self, record: dict[str, Any]) -> None:
        """Write one predictions.jsonl object (see ``frame_record``) and update the summary."""
        record = jsonsafe.finite(record)  # strict JSON: NaN / inf become null
        self.frames += 1
        self._last_t = max(self._last_t, record["t"] or 0.0)
        self._jsonl.write(json.dumps(record, allow_nan=False) + "\n")
        self._track_action(record)
        for event in record.get("repetitions", []):
            self._add_repetition(event)
        self._track_reach(record)

    def add_repetitions(self, events: list[dict[str, Any]]) -> None:
        """Repetitions that came after the last frame (the counter closing the one in
        progress at the end of the input): in the summary, not in predictions.jsonl."""
        for event in events:
            self._add_repetition(jsonsafe.finite(event))

    def _add_repetition(self, event: dict[str, Any]) -> None:
        """Keep ``event``; an earlier one it overlaps and ``supersedes`` is dropped.

        The unguided counter re-emits a bout's repetitions when its label
        changes within one confusion family, or when a first label names what
        the generic counter counted as ``unknown`` (``repetition.bout_counter``).
        """
        def overlaps(e: dict[str, Any]) -> bool:
            if None in (e.get("start_ns"), e.get("end_ns"),
                        event.get("start_ns"), event.get("end_ns")):
                return False
            return e["start_ns"] < event["end_ns"] and event["start_ns"] < e["end_ns"]

        old = [e for e in self._repetition_events
               if supersedes(event["exercise"], e["exercise"]) and overlaps(e)]
        self._superseded.extend(old)
        self._repetition_events = [e for e in self._repetition_events if e not in old]
        self._repetition_events.append(event)

    def repetitions(self) -> dict[str, int]:
        """{exercise: count} from the repetitions still standing (highest count per exercise)."""
        counts: Counter[str] = Counter()
        for event in self._repetition_events:
            counts[event["exercise"]] = max(counts[event["exercise"]], int(event["count"]))
        return dict(counts)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def _track_action(self, record: dict[str, Any]) -> None:
        action = record["action"]
        t = record["t"]
        label = action.get("label") if action else None
        if not label or label == "unknown":
            return
        confidence = float(action.get("confidence") or 0.0)
        last = self._segments[-1] if self._segments else None
        gap = 1.0 / self.input_fps if self.input_fps > 0 else 0.1
        if last and last.label == label and t - last.end_s <= max(MIN_SEGMENT_S, 3 * gap):
            last.end_s = t
            last.confidences.append(confidence)
        else:
            self._segments.append(_Segment(label, t, t, [confidence]))

    def _track_reach(self, record: dict[str, Any]) -> None:
        reach = record["reach"]
        if not reach:
            return
        t = record["t"]
        for state in reach["sides"]:
            side, phase = state.get("side", ""), state["phase"]
            if phase == "ONSET" and side not in self._open_reach:
                self._open_reach[side] = t
            elif phase in ("OFFSET", "NO_REACH") and side in self._open_reach:
                onset = self._open_reach.pop(side)
                offset = t if phase == "OFFSET" else None
                self._reaches.append({"side": side, "onset_s": _round(onset, 3),
                                      "offset_s": None if offset is None else _round(offset, 3)})

    def actions(self) -> list[dict[str, Any]]:
        """Exercise bouts: segments without flickers, one confusion family's run merged."""
        return merge_segments(self.segments())

    def segments(self) -> list[dict[str, Any]]:
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
            "repetitions": self.repetitions(),
            "repetition_events": self._repetition_events,
            "superseded_repetitions": self._superseded,
            "reaches": self._reaches,
            "errors": self.errors,
        }
        if extras:
            summary.update(extras)
        text = json.dumps(jsonsafe.finite(summary), indent=2, allow_nan=False,
                          default=_json_default)
        (self.out_dir / "summary.json").write_text(text + "\n")
        return summary


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
