"""Full goal lifecycle on real footage: cached BlazePose skeletons of squat.mp4 replayed
through the shipped exercise model into the RunExercise server by ``rehab session``."""

from __future__ import annotations

import json

import pytest
import yaml
from coach_testutil import REPO_ROOT

from rehab_cli.main import main as rehab

SKELETONS = REPO_ROOT / ".cache" / "skeletons" / "squat.npz"
MODEL = REPO_ROOT / "models" / "exercise_stgcn"
TRUTH = yaml.safe_load((REPO_ROOT / "test/data/repetitions_truth.yaml").read_text())["videos"]


@pytest.fixture(scope="module")
def squat_skeletons(shared_dir):
    """squat.mp4's skeletons from our pose pipeline (extracted once into .cache/; a cache
    from before skeleton files kept the 3-D is extracted again, so the replay takes the
    live stack's fused/3-D paths)."""
    from rehab_core.io.skeleton_store import load_skeletons, save_skeletons

    assert (MODEL / "labels.txt").is_file(), f"the shipped exercise model is missing: {MODEL}"
    if not SKELETONS.is_file() or load_skeletons(SKELETONS).keypoints_3d is None:
        from rehab_core.datasets.extract import extract_skeletons

        seq = extract_skeletons(shared_dir / "media" / "exercise" / "squat.mp4")
        save_skeletons(SKELETONS, seq)
    assert load_skeletons(SKELETONS).space_3d == "model"
    return SKELETONS


def test_squat_goal_counts_the_clip_and_jacks_count_nothing(squat_skeletons, tmp_path):
    truth = TRUTH["squat.mp4"]["repetitions"]
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({"goals": [
        {"exercise": "squat", "repetitions": truth},
        {"exercise": "jumping_jacks", "repetitions": 3, "time_limit_s": 4.0},
    ]}))
    out = tmp_path / "out"
    assert rehab(["session", "--plan", str(plan), "--input", str(squat_skeletons),
                  "--out", str(out), "--speed", "10", "--quiet"]) == 0
    goals = json.loads((out / "session.json").read_text())["goals"]
    squat, jacks = goals
    assert squat["exercise"] == "squat" and squat["success"], squat
    assert squat["repetitions_done"] == truth and squat["reason"] == "completed"
    assert len(squat["quality"]) == truth and squat["mean_confidence"] > 0.5
    # the rest of the clip is still squats: jumping jacks must not count them
    assert jacks["repetitions_done"] == 0 and not jacks["success"]
    assert jacks["reason"] in ("timeout", "input_ended", "person_lost")
    assert (out / "session.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "| 1 | squat |" in report and "session.png" in report
    html = (out / "report.html").read_text()
    assert "<svg" in html and "jumping_jacks" in html and "<script" not in html


def test_unknown_exercise_goal_is_refused_before_the_input_runs(squat_skeletons, tmp_path,
                                                                capsys):
    """It used to run the whole input and record the goal as rejected (exit 0): a typo in
    a goal is now one clear error with the exercises the model knows (exit 2)."""
    out = tmp_path / "out"
    assert rehab(["session", "--exercise", "yoga", "--repetitions", "2", "--input",
                  str(squat_skeletons), "--out", str(out), "--quiet"]) == 2
    assert "unknown exercise 'yoga'" in capsys.readouterr().err
    assert not out.exists()
