"""A session's outputs from its goals' RunExercise results: session.json, report.md,
report.html and session.png.

Why from the results: the report must say what a client of the action server
got, so every figure here (count, durations, confidence, quality, timeline,
ignored repetitions) comes from the ``RunExercise`` result, converted to the
core ``SessionResult`` by ``rehab_runtime.conversions``; nothing reads the
server's state. No image is stored (privacy).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rehab_core import jsonsafe
from rehab_core.coaching import PlanGoal, SessionResult
from rehab_core.repetition.config import is_hold
from rehab_core.reporting.session_html import session_report_html


def not_started(goal: PlanGoal, reason: str) -> dict[str, Any]:
    """The record of a goal that never ran (input over, interrupted, rejected)."""
    return {"exercise": goal.exercise, "repetitions_target": goal.repetitions,
            "success": False, "repetitions_done": 0, "reason": reason, "started": False}


def goal_record(goal: PlanGoal, result: SessionResult, reason: str) -> dict[str, Any]:
    """One goal's entry of session.json (plus its ``timeline``, for the plot only)."""
    r = result.to_dict()
    return {
        "exercise": goal.exercise, "repetitions_target": goal.repetitions,
        "time_limit_s": goal.time_limit_s, "started": True,
        "success": result.success, "repetitions_done": result.repetitions_done,
        "reason": reason,
        "repetition_durations_s": [round(float(d), 3) for d in result.repetition_durations_s],
        "mean_confidence": round(float(result.mean_confidence), 4),
        "quality": r["quality"], "started_t": result.started_t, "ended_t": result.ended_t,
        "timeline": r["timeline"], "counted_end_t": result.counted_end_t,
        "ignored": r["ignored"], "verdicts": r["verdicts"],
    }


def write_outputs(out: Path, input_: str, model: str, records: Sequence[dict[str, Any]],
                  interrupted: bool = False) -> None:
    summary = {"input": str(input_), "model": str(model), "interrupted": interrupted,
               "goals": [{k: v for k, v in r.items() if k != "timeline"} for r in records]}
    (out / "session.json").write_text(jsonsafe.dumps(summary, indent=2))
    plot = _plot(out / "session.png", records)
    lines = ["# Exercise session", "", f"Input: `{input_}`  ", f"Model: `{model}`", "",
             "| # | exercise | target | done | success | reason | mean confidence |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, r in enumerate(records, 1):
        unit = " s" if is_hold(r["exercise"]) else ""  # a plank's target is seconds held
        lines.append(f"| {i} | {r['exercise']} | {r['repetitions_target']}{unit} | "
                     f"{r['repetitions_done']}{unit} | {'yes' if r['success'] else 'no'} | "
                     f"{r['reason']} | {r.get('mean_confidence', 0):.2f} |")
    for i, r in enumerate(records, 1):
        if r.get("quality"):
            lines += ["", f"## Goal {i}: {r['exercise']} (per repetition)", "",
                      "| rep | duration s | ROM deg | key joint | tempo s | DTW to reference |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for k, q in enumerate(r["quality"], 1):
                lines.append(f"| {k} | {_fmt(q['duration_s'])} | {_fmt(q['range_of_motion_deg'])}"
                             f" | {q['key_joint']} | {_fmt(q['tempo_s'])} | "
                             f"{_fmt(q['reference_distance'])} |")
    for i, r in enumerate(records, 1):
        lines += _verdict_lines(i, r)
    if plot:
        lines += ["", "![repetitions and confidence over time](session.png)"]
    lines += ["", "No images were stored: only skeleton-derived numbers."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "report.html").write_text(session_report_html(
        list(records), "Exercise session", f"input: {input_}, model: {model}"))


def _verdict_lines(i: int, r: dict[str, Any]) -> list[str]:
    """Every repetition the counter found, and what the classifier said over it: a goal
    counts a repetition unless the classifier confidently names another exercise, so a
    therapist sees here when it named a sibling (a squat in a lunge goal) and it counted."""
    if not r.get("verdicts"):
        return []
    lines = ["", f"## Goal {i}: {r['exercise']} (what the classifier saw)", "",
             "counted: the classifier named the exercise; counted_unconfirmed: it never "
             "named it, nor confidently another (or only a look-alike, e.g. a squat in a "
             "lunge goal); rejected_other_exercise: it confidently named another.", "",
             "| end s | verdict | exercise named | confidence | predictions |",
             "| --- | --- | --- | --- | --- |"]
    t0 = r.get("started_t") or 0.0
    for v in r["verdicts"]:
        named = (v["label"], f"{v['confidence']:.2f}") \
            if v["verdict"] != "counted_unconfirmed" else ("-", "-")
        lines.append(f"| {v['end_t'] - t0:.1f} | {v['verdict']} | {named[0]} | {named[1]} | "
                     f"{v['votes']} |")
    return lines


def _fmt(v: Any) -> str:
    return "-" if v is None or v == -1.0 else f"{v:.2f}"


def _plot(path: Path, records: Sequence[dict[str, Any]]) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = [r for r in records if r.get("timeline")]
    if not started:
        return False
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for r in started:
        t = [s["t"] for s in r["timeline"]]
        ax1.step(t, [s["repetitions"] for s in r["timeline"]], where="post",
                 label=r["exercise"])
        ax2.plot(t, [s["confidence"] for s in r["timeline"]], label=r["exercise"])
        for end_t in r["counted_end_t"]:
            ax1.axvline(end_t, color="grey", lw=0.5)
    ax1.set_ylabel("repetitions")
    ax1.legend(loc="upper left")
    ax2.set_ylabel("classifier confidence")
    ax2.set_xlabel("input time (s)")
    ax2.set_ylim(0, 1.05)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
