"""One source frame's outputs from every stage, as plain data (for callbacks and JSON lines).

``FrameResult`` is what ``graph.run_graph`` hands to its callback and what the
recorder writes: the lead's ``rehab run`` turns it into predictions.jsonl rows
with ``to_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rehab_runtime import codecs
from rehab_runtime.assembler import AssembledFrame

#: payload kind (codec name) -> the FrameResult field that holds it
KIND_FIELDS = {"skeletons": "skeletons", "detections": "detections", "action": "action",
               "repetition": "repetitions", "reach": "reach"}


def _skeleton_dict(s: Any) -> dict[str, Any]:
    out = {
        "layout": s.layout,
        "track_id": int(s.track_id),
        "score": round(float(s.score), 4),
        "box": [round(float(v), 2) for v in s.box],
        "keypoints": [[round(float(v), 2) for v in row] for row in s.keypoints],
    }
    if getattr(s, "keypoints_3d", None) is not None:  # (X, Y, Z m, score), mm precision
        out["keypoints_3d"] = [[round(float(v), 4) for v in row] for row in s.keypoints_3d]
        out["space_3d"] = s.space_3d
    return out


def _detection_dict(d: Any) -> dict[str, Any]:
    return {
        "label": d.label,
        "class_id": int(d.class_id),
        "score": round(float(d.score), 4),
        "box": [round(float(v), 2) for v in d.box],
        "track_id": int(d.track_id),
    }


@dataclass
class FrameResult:
    """Everything the stack produced for the source frame stamped ``stamp_ns``.

    ``skeletons`` are the tracked ones when a tracker runs (else the raw
    pose output); ``action`` is set only on frames where the window slid.
    """

    stamp_ns: int
    index: int
    width: int = 0
    height: int = 0
    skeletons: codecs.SkeletonsPayload | None = None
    detections: codecs.DetectionsPayload | None = None
    action: codecs.ActionPayload | None = None
    repetitions: list[codecs.RepetitionPayload] = field(default_factory=list)
    reach: list[codecs.ReachPayload] = field(default_factory=list)

    @classmethod
    def from_frame(cls, got: AssembledFrame, index: int = -1) -> FrameResult:
        """One frame's assembled outputs (``rehab_runtime.assembler``) as a FrameResult: the
        list fields keep every payload in arrival order, the others the latest."""
        result = cls(got.stamp_ns, index)
        for kind, attr in KIND_FIELDS.items():
            if isinstance(getattr(result, attr), list):
                setattr(result, attr, list(got.payloads.get(kind, [])))
            else:
                setattr(result, attr, got.last(kind))
        return result

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frame": self.index, "stamp_ns": self.stamp_ns,
                               "t": round(self.stamp_ns * 1e-9, 6)}
        if self.skeletons is not None:
            out["main_track_id"] = self.skeletons.main_track_id
            out["skeletons"] = [_skeleton_dict(s) for s in self.skeletons.skeletons]
        if self.detections is not None:
            out["detections"] = [_detection_dict(d) for d in self.detections.detections]
        if self.action is not None:
            pred = self.action.prediction
            out["action"] = {
                "label": pred.label,
                "confidence": round(float(pred.confidence), 4),
                "scores": {name: round(float(s), 4) for name, s in pred.scores.items()},
                "window_start_ns": int(pred.window_start_ns),
                "window_end_ns": int(pred.window_end_ns),
                "model": pred.model,
            }
        if self.repetitions:
            out["repetitions"] = [repetition_record(r) for r in self.repetitions]
        if self.reach:
            out["reach"] = [
                {"side": r.state.side, "phase": r.state.phase.number,
                 "object": r.state.object_label, "confidence": round(r.state.confidence, 4)}
                for r in self.reach
            ]
        return out


def repetition_record(r: codecs.RepetitionPayload) -> dict[str, Any]:
    """One repetition as ``predictions.jsonl`` and ``summary.json`` write it."""
    return {"exercise": r.exercise, "count": r.count, "track_id": r.track_id,
            "start_ns": r.start_ns, "end_ns": r.end_ns, "quality": r.quality.to_dict()}
