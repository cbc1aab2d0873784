"""A squat goal on side-view squat footage from the corpus (not training material of the
first model, a person and camera the old clips never showed) counts through the real
RunExercise action server (``rehab session``) with the shipped exercise model.

The clip (``squat/atharva_lowerbody_squat.mp4``, lower body only, side view) shows two
complete squats after a partial one at the very start; its knee angle was checked
frame by frame (two returns to a straight knee after a bend below 100 degrees).
"""

from __future__ import annotations

import json

import pytest
from coach_testutil import REPO_ROOT

from rehab_cli.main import main as rehab

CLIP = "squat/atharva_lowerbody_squat.mp4"
MODEL = REPO_ROOT / "models" / "exercise_stgcn"


@pytest.fixture(scope="module")
def side_squat_skeletons(shared_dir, tmp_path_factory):
    video = shared_dir / "corpus" / "media" / CLIP
    if not video.is_file():
        pytest.skip(f"corpus clip not found: {video} (the corpus lives in ../shared/corpus)")
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_store import save_skeletons

    path = tmp_path_factory.mktemp("side_squat") / "side_squat.npz"
    save_skeletons(path, extract_skeletons(video))
    return path


def test_side_view_squat_goal_counts_its_repetitions(side_squat_skeletons, tmp_path):
    assert (MODEL / "labels.txt").is_file(), f"the shipped exercise model is missing: {MODEL}"
    out = tmp_path / "out"
    assert rehab(["session", "--exercise", "squat", "--repetitions", "2", "--input",
                  str(side_squat_skeletons), "--out", str(out), "--quiet"]) == 0
    (goal,) = json.loads((out / "session.json").read_text())["goals"]
    assert goal["success"] and goal["reason"] == "completed", goal
    assert goal["repetitions_done"] == 2 and len(goal["quality"]) == 2
    # each repetition's verdict and the classifier's word over it, in the JSON and the report
    counted = [v for v in goal["verdicts"] if v["verdict"].startswith("counted")]
    assert len(counted) == 2 and all(0.0 <= v["confidence"] <= 1.0 for v in counted)
    report = (out / "report.md").read_text()
    assert "(what the classifier saw)" in report
    assert report.count("| counted") == 2  # counted, or counted_unconfirmed
