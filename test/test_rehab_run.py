"""``rehab run`` end to end: the real graph in-process, the output contract on disk."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rehab_core.reporting.run_outputs import RunRecorder, frame_record

REPO_ROOT = Path(__file__).resolve().parents[1]
REHAB = REPO_ROOT / ".venv" / "bin" / "rehab"
SAMPLE = REPO_ROOT / "models" / "samples" / "squat_skeletons"
SUMMARY_KEYS = {"frames", "input_fps", "processed_fps", "actions", "repetitions", "reaches",
                "errors"}
FRAME_KEYS = {"frame", "t", "skeletons", "detections", "action", "reach"}


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(REHAB), "run", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT)


def _check_contract(out: Path) -> tuple[dict, list[dict]]:
    summary = json.loads((out / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == summary["frames"] > 0
    assert [r["frame"] for r in rows] == list(range(len(rows)))
    for row in rows:
        assert row.keys() >= FRAME_KEYS
        for skeleton in row["skeletons"]:
            assert {"layout", "keypoints", "track_id"} <= skeleton.keys()
            assert all(len(kp) == 3 for kp in skeleton["keypoints"])
    for action in summary["actions"]:
        assert {"label", "start_s", "end_s", "confidence"} <= action.keys()
    return summary, rows


def test_recorder_builds_segments_repetitions_and_reaches(tmp_path):
    recorder = RunRecorder(tmp_path, "synthetic", input_fps=10.0)
    squat = {"label": "squat", "confidence": 0.9}
    for i in range(40):
        row = {"frame": i, "t": i / 10, "skeletons": [], "detections": []}
        if i == 20:
            row["repetitions"] = [{"exercise": "squat", "count": 1}]
        if i in (5, 12):
            row["reach"] = [{"side": "left", "phase": 1 if i == 5 else 3, "object": "toy",
                             "confidence": 0.8}]
        recorder.add(frame_record(row, squat if i >= 10 else None))
    summary = recorder.close(wall_s=2.0)
    assert summary["frames"] == 40 and summary["processed_fps"] == 20.0
    assert summary["actions"] == [
        {"label": "squat", "start_s": 1.0, "end_s": 3.9, "confidence": 0.9}
    ]
    assert summary["repetitions"] == {"squat": 1}
    assert summary["reaches"] == [{"side": "left", "onset_s": 0.5, "offset_s": 1.2}]
    _check_contract(tmp_path)


def test_summary_names_an_unrecognised_movement_in_words(tmp_path, capsys):
    """Repetitions the generic counter found while no exercise was named are stored as
    ``unknown`` (so the evaluation can leave them out); a user read "repetitions of
    unknown: 1" as an exercise called unknown."""
    from rehab_cli.commands.run import _print_summary

    _print_summary({"frames": 3, "processed_fps": 9.0, "input_fps": 25.0, "actions": [],
                    "repetitions": {"unknown": 1, "squat": 2}, "reaches": [], "errors": []},
                   tmp_path)
    out = capsys.readouterr().out
    assert "repetitions of a movement not recognised as an exercise: 1" in out
    assert "repetitions of squat: 2" in out
    assert '"repetitions": {"unknown": 1, "squat": 2}' in out  # the machine line is unchanged


def test_run_on_the_shipped_skeleton_sample(tmp_path):
    """The sample bag (real motion, no pixels) goes through tracker, ST-GCN and counter."""
    if not (REPO_ROOT / "models/exercise_stgcn/labels.txt").exists():
        pytest.fail("the shipped exercise model is missing from models/exercise_stgcn")
    done = _run(str(SAMPLE), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    summary, _rows = _check_contract(tmp_path)
    assert summary["frames"] == 596
    assert summary["input_kind"] == "skeleton_bag"
    labels = [a["label"] for a in summary["actions"]]
    assert "squat" in labels, summary["actions"]
    longest = max(summary["actions"], key=lambda a: a["end_s"] - a["start_s"])
    assert longest["label"] == "squat"
    # hand-counted truth for this clip (test/data/repetitions_truth.yaml: squat2) is 6
    assert abs(summary["repetitions"].get("squat", 0) - 6) <= 1, summary["repetitions"]
    assert not (tmp_path / "annotated.mp4").exists()


def test_run_on_a_skeleton_file_keeps_its_3d(shared_dir, tmp_path):
    """A skeleton file our extraction wrote (10 s of squat.mp4, BlazePose with its world
    landmarks) replays from the tracker on, its 3-D through the graph as live."""
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_bag import SkeletonBagSource
    from rehab_core.io.skeleton_store import save_skeletons

    seq = extract_skeletons(shared_dir / "media" / "exercise" / "squat.mp4", max_frames=240)
    path = save_skeletons(tmp_path / "squat.npz", seq)
    out = tmp_path / "out"
    done = _run(str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    summary, _rows = _check_contract(out)
    assert summary["frames"] == 240 and summary["input_kind"] == "skeleton_file"
    assert [a["label"] for a in summary["actions"]] == ["squat"], summary["actions"]
    assert summary["repetitions"] == {"squat": 2}  # truth: 2 reps end before 10 s
    tracked = [s for f in SkeletonBagSource(out / "recording" / "outputs_bag",
                                            topic="/tracked_skeletons") for s in f.skeletons]
    assert tracked and all(s.keypoints_3d is not None and s.space_3d == "model"
                           for s in tracked)
    assert not (out / "annotated.mp4").exists()


def test_the_end_of_the_input_closes_the_last_repetition(shared_dir, tmp_path):
    """A corpus clip cut at the lockout of its one deadlift (2 s, checked count 1): the
    counter's cycle is still open at the last frame, and the end of the input closes it,
    as a goal's input_ended does (before, ``rehab run`` reported no repetition)."""
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_store import save_skeletons

    clip = shared_dir / "corpus" / "media" / "deadlift" / "jeffchen_deadlift_good.mp4"
    path = save_skeletons(tmp_path / "deadlift.npz", extract_skeletons(clip))
    out = tmp_path / "out"
    done = _run(str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    summary, rows = _check_contract(out)
    assert not any(r.get("repetitions") for r in rows)  # none while the frames came
    assert summary["repetitions"] == {"deadlift": 1}, (summary["actions"], summary["errors"])
    event = summary["repetition_events"][0]
    assert event["end_ns"] <= rows[-1]["t"] * 1e9 + 1e5  # t is written to 0.1 ms


@pytest.mark.slow
def test_run_on_a_real_video(shared_dir, tmp_path):
    # a clip whose person is in view from the first frame (squat2 opens without one)
    video = shared_dir / "media" / "exercise" / "pushup_v961k.mp4"
    done = _run(str(video), "--out", str(tmp_path), "--max-frames", "90")
    assert done.returncode == 0, done.stderr[-3000:]
    summary, rows = _check_contract(tmp_path)
    assert summary["frames"] == 90
    assert summary["input_fps"] == pytest.approx(29.97, abs=0.01)
    seen = [r for r in rows if r["skeletons"]]
    assert len(seen) >= 0.8 * len(rows), "the person is visible in nearly every frame"
    assert all(s["layout"] == "coco17" for r in seen for s in r["skeletons"])
    assert (tmp_path / "annotated.mp4").stat().st_size > 10_000
