"""A plank goal on real footage, through the real RunExercise action server (``rehab session``)
with the shipped exercise model: its target is seconds held.

A plank goal could never succeed: the plank's counter times the hold and emits no
repetition, so the goal ran to its time limit and failed. Now each whole second held
is one unit of the goal, and a confident other exercise over it (push-ups: also a
straight, horizontal body) vetoes it.
"""

from __future__ import annotations

import json

import pytest
from coach_testutil import REPO_ROOT

from rehab_cli.main import main as rehab

MODEL = REPO_ROOT / "models" / "exercise_stgcn"


@pytest.fixture(scope="module")
def skeletons(shared_dir, tmp_path_factory):
    """BlazePose skeletons (with 3-D) of two clips of the first clip set: a plank held for
    about 7 s (``plank_v1370k.mp4``) and side-view push-ups (``pushup_v961k.mp4``)."""
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_store import save_skeletons

    out = {}
    folder = tmp_path_factory.mktemp("plank_hold")
    for name in ("plank_v1370k", "pushup_v961k"):
        video = shared_dir / "media" / "exercise" / f"{name}.mp4"
        if not video.is_file():
            pytest.skip(f"clip not found: {video} (../shared/media)")
        out[name] = save_skeletons(folder / f"{name}.npz", extract_skeletons(video))
    return out


def _goal(skeleton_file, tmp_path, seconds: int) -> tuple[dict, str]:
    assert (MODEL / "labels.txt").is_file(), f"the shipped exercise model is missing: {MODEL}"
    out = tmp_path / "out"
    assert rehab(["session", "--exercise", "plank", "--repetitions", str(seconds), "--input",
                  str(skeleton_file), "--out", str(out), "--quiet"]) == 0
    (goal,) = json.loads((out / "session.json").read_text())["goals"]
    return goal, (out / "report.md").read_text()


def test_a_plank_held_5_s_completes_its_goal(skeletons, tmp_path):
    goal, report = _goal(skeletons["plank_v1370k"], tmp_path, 5)
    assert goal["success"] and goal["reason"] == "completed", goal
    assert goal["repetitions_done"] == 5
    assert [v["verdict"] for v in goal["verdicts"]] == ["counted"] * 5  # named plank each time
    assert "| 1 | plank | 5 s | 5 s | yes | completed |" in report


def test_push_ups_do_not_count_as_a_plank_held(skeletons, tmp_path):
    """About 13 s of push-ups: every second the classifier names is vetoed as push_up. The
    first seconds, before it has seen a full window of them (the set's start position is
    a plank), count only as unconfirmed, as the first repetitions of any set may."""
    goal, _report = _goal(skeletons["pushup_v961k"], tmp_path, 5)
    assert not goal["success"] and goal["repetitions_done"] <= 2, goal
    verdicts = goal["verdicts"]
    rejected = [v for v in verdicts if v["verdict"] == "rejected_other_exercise"]
    assert len(rejected) >= 10 and {v["label"] for v in rejected} == {"push_up"}, verdicts
    assert all(v["verdict"] == "counted_unconfirmed" for v in verdicts if v not in rejected)
