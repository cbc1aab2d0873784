"""Event accuracy of a replay: what the stack said per frame, scored against the bag's labels.

Why: a clinic chooses a configuration on repetition counts, the recognised
exercise and reach onsets as much as on fps. A labelled bag (a sidecar
labels file, see ``rehab_core.evaluation``) makes the recorded-rate runs of
``rehab bench`` also report those figures. The runs are played at the bag's
own rate, so bag time and played time advance together; an event's time is
its frame's bag time minus how long before that frame (in stamps) it happened.
"""

from __future__ import annotations

from typing import Any

from rehab_bench.replay import RunResult
from rehab_core.evaluation import EventLabels, FrameOutputs, score_events
from rehab_core.types import Frame


def frame_outputs(run: RunResult, frames: list[Frame]) -> list[FrameOutputs]:
    """Per played frame (bag order): label shown, repetitions ended, reach phase per side.

    The classifier publishes on its stride, not every frame, so the label
    shown carries forward until the next prediction (what a display shows).
    """
    t0 = frames[0].stamp_ns
    out: list[FrameOutputs] = []
    label: str | None = None
    for record in sorted(run.frames, key=lambda r: r.tick_s):
        t_s = (frames[record.index].stamp_ns - t0) * 1e-9
        said = record.outputs or {}
        for action in said.get("action", []):
            label = str(action.prediction.label)
        ends = [t_s - (rep.stamp_ns - rep.end_ns) * 1e-9 for rep in said.get("repetition", [])]
        reach = {}
        for state in (p.state for p in said.get("reach", [])):
            reach[str(state.side)] = state.phase.value.lower()  # core ReachPhase: "no_reach"...
        out.append(FrameOutputs(index=record.index, t_s=t_s, label=label,
                                repetition_ends_s=ends, reach=reach,
                                dropped=record.status != "ok"))
    return out


def score_runs(labels: EventLabels, runs: list[RunResult], frames: list[Frame],
               fps: float) -> dict[str, Any]:
    """Scores of every recorded-rate run; the first in full, the others' headline figures."""
    scored = [score_events(labels, frame_outputs(run, frames), fps) for run in runs]
    return {"labels": str(labels.source) if labels.source else None,
            "first_run": scored[0],
            "runs": [headline(s) for s in scored]}


def headline(score: dict[str, Any]) -> dict[str, Any]:
    """The figures a clinic reads first, from one run's score."""
    reps, exercise, reach = score.get("repetitions"), score.get("exercise"), score.get("reach")
    return {
        "repetition_abs_error": None if reps is None else reps["total_abs_error"],
        "repetitions_counted": None if reps is None else reps["counted_total"],
        "repetitions_truth": None if reps is None else reps["truth_total"],
        "label_accuracy": None if exercise is None else exercise["accuracy"],
        "onset_mean_abs_error_frames":
            None if reach is None else reach["onsets"]["mean_abs_error_frames"],
        "offset_mean_abs_error_frames":
            None if reach is None else reach["offsets"]["mean_abs_error_frames"],
        "false_triggers_per_min": None if reach is None else reach["false_triggers_per_min"],
    }
