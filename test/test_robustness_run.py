"""``rehab run`` / ``rehab up`` against bad input, faults and signals (issue 12, findings 4-7).

Each test reproduces one finding through the real command (subprocess, the
real graph, real files) and asserts what must now happen: no dead executor
thread, no hang, no lost outputs, one clear error for a bad bring-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from robust_inputs import (
    REHAB,
    REPO_ROOT,
    STACK,
    RawImage,
    all_finite,
    cut_in_half,
    jpeg_bag,
    make_video,
    raw_image_bag,
    skeleton_bag,
    strict_json,
    strict_jsonl,
)

TEST_DIR = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": f"{TEST_DIR}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(REHAB), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env=ENV)


def _stack(tmp_path: Path, edit) -> Path:
    stack = yaml.safe_load(STACK.read_text())
    edit(stack)
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack))
    return path


def _components(stack: dict, names: list[str]) -> None:
    stack["rehab_container"]["ros__parameters"]["components"] = names


def _outputs(out: Path) -> tuple[dict, list]:
    """summary.json and predictions.jsonl, parsed strictly (no NaN / Infinity)."""
    summary = strict_json((out / "summary.json").read_text())
    rows = strict_jsonl(out / "predictions.jsonl")
    assert len(rows) == summary["frames"]
    return summary, rows


# -- finding 4: no input or bug kills a thread or hangs the run -----------------------------


def test_a_raising_stage_is_counted_and_the_run_completes(tmp_path):
    """Before: an exception in a callback killed the executor thread and `rehab run` hung."""
    video = make_video(tmp_path / "clip.mp4", 30)
    params = _stack(tmp_path, lambda s: (
        _components(s, ["image_source", "faulty_components:RaisingStage:raising", "recorder"]),
        s.update(raising={"ros__parameters": {"fail_every": 3}})))
    done = _run("run", str(video), "--out", str(tmp_path / "out"), "--params", str(params),
                "--quiet", "--stall-timeout", "30", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, _rows = _outputs(tmp_path / "out")
    assert summary["frames"] == 30
    raising = summary["components"]["raising"]
    # every frame accounted for: 20 handled, 10 dropped with the callback's reason
    assert raising["processed"] == 20
    assert raising["drops"]["processing error"] >= 10  # plus the raising timer's calls
    assert any("raising" in e and "processing error" in e for e in summary["errors"])


def test_a_stuck_stage_is_ended_by_the_watchdog(tmp_path):
    """Before: a callback that never returned left `rehab run` hanging with no summary."""
    video = make_video(tmp_path / "clip.mp4", 60)
    params = _stack(tmp_path, lambda s: (
        _components(s, ["image_source", "faulty_components:StuckStage:stuck", "recorder"]),
        s.update(stuck={"ros__parameters": {"stick_at": 5}})))
    started = time.monotonic()
    done = _run("run", str(video), "--out", str(tmp_path / "out"), "--params", str(params),
                "--quiet", "--stall-timeout", "3", timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "no progress for 3 s" in done.stderr
    assert time.monotonic() - started < 90
    summary, _rows = _outputs(tmp_path / "out")
    assert summary["frames"] == 4  # the four frames before the stuck one
    assert any("watchdog" in e for e in summary["errors"])


def test_nan_and_inf_skeletons_never_reach_json(tmp_path):
    """Before: NaN / inf keypoints crashed a callback or were written as NaN / Infinity."""
    rng = np.random.default_rng(3)
    rows, boxes, scores = [], [], []
    for i in range(40):
        kp = np.column_stack([rng.uniform(100, 500, 17), rng.uniform(50, 400, 17),
                              rng.uniform(0.5, 1.0, 17)])
        if i % 3 == 0:
            kp[rng.integers(0, 17, 4), rng.integers(0, 3, 4)] = [np.nan, np.inf, -np.inf, np.nan]
        rows.append(kp)
        boxes.append((np.nan, 0.0, np.inf, 10.0) if i % 5 == 0 else (0.0, 0.0, 10.0, 10.0))
        scores.append(float("nan") if i % 7 == 0 else 0.9)
    bag = tmp_path / "nan_skeletons"
    skeleton_bag(bag, rows, [(i + 1) * 33_333_333 for i in range(40)], boxes, scores)
    out = tmp_path / "out"
    done = _run("run", str(bag), "--out", str(out), "--quiet", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, predictions = _outputs(out)
    assert summary["frames"] == 40
    recorded = strict_jsonl(out / "recording" / "outputs.jsonl")
    assert len(recorded) == 40
    for row in [*predictions, *recorded, summary]:
        assert all_finite(row)
    first = predictions[0]["skeletons"][0]["keypoints"]  # frame 0 had 4 bad values
    assert sum(kp == [0.0, 0.0, 0.0] for kp in first) >= 1


def test_a_corrupt_jpeg_in_the_middle_of_a_bag_drops_only_that_frame(tmp_path):
    """Before: the stream silently ended at the corrupt frame ("1 frames dropped", exit 0)."""
    bag = tmp_path / "jpeg"
    jpeg_bag(bag, 12, corrupt=[4])
    out = tmp_path / "out"
    done = _run("run", str(bag), "--out", str(out), "--quiet", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, rows = _outputs(out)
    assert summary["frames"] == 11  # the 7 frames after the corrupt one are there too
    assert rows[-1]["t"] == pytest.approx(1.2)
    assert summary["components"]["image_source"]["drops"] == {"bad frame": 1}
    assert any("image_source: 1 frames dropped: bad frame" in e for e in summary["errors"])


def test_unknown_and_short_images_are_dropped_with_a_reason(tmp_path):
    """An unknown encoding and a frame shorter than step x height: dropped, counted, run goes on."""
    good = np.full((120, 160, 3), 90, np.uint8).tobytes()
    images = [RawImage((i + 1) * 10**8, "bgr8", 160, 120, 480, good) for i in range(8)]
    images[2] = RawImage(3 * 10**8, "bayer_xyz9", 160, 120, 160, good)
    images[5] = RawImage(6 * 10**8, "bgr8", 160, 120, 480, good[:1000])
    bag = tmp_path / "bad_images"
    raw_image_bag(bag, images)
    out = tmp_path / "out"
    done = _run("run", str(bag), "--out", str(out), "--quiet", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, _rows = _outputs(out)
    source = summary["components"]["image_source"]
    assert summary["frames"] == 6 and source["dropped"] == 2


# -- finding 5: SIGINT / SIGTERM keep every output ------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_run_with_all_outputs(tmp_path, sig):
    """Before: SIGTERM left no summary, a bag without metadata.yaml and an unplayable video."""
    video = make_video(tmp_path / "long.mp4", 4000)
    out = tmp_path / "out"
    proc = subprocess.Popen([str(REHAB), "run", str(video), "--out", str(out), "--quiet"],
                            cwd=REPO_ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        jsonl = out / "predictions.jsonl"
        while time.monotonic() < deadline and proc.poll() is None:
            if jsonl.is_file() and jsonl.read_text().count("\n") >= 20:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(sig)
        _stdout, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"{sig.name}: exited {took:.2f} s after the signal")
    assert took < 5.0
    assert proc.returncode == 128 + sig, stderr[-2000:]
    summary, rows = _outputs(out)
    assert summary["interrupted"] is True and 20 <= summary["frames"] < 4000
    bag = out / "recording" / "outputs_bag"
    assert (bag / "metadata.yaml").is_file()
    info = _run("bag", "info", str(bag), timeout=60)
    assert info.returncode == 0, info.stderr
    capture = cv2.VideoCapture(str(out / "annotated.mp4"))
    played = 0
    while capture.read()[0]:
        played += 1
    assert played == len(rows)


# -- finding 6: a failed bring-up fails loudly ---------------------------------------------


@pytest.mark.parametrize(("node", "param", "value"), [
    ("pose_estimator", "estimator", "nonexistent"),
    ("action_classifier", "model_dir", "models/nonexistent_model"),
], ids=["unknown_estimator", "missing_model_dir"])
def test_a_stage_that_fails_to_configure_stops_the_run(tmp_path, node, param, value):
    """Before: the video played on with no pose stage / no classifier, exit 0."""
    video = make_video(tmp_path / "clip.mp4", 10)
    params = _stack(tmp_path, lambda s: s[node]["ros__parameters"].update({param: value}))
    done = _run("run", str(video), "--out", str(tmp_path / "out"), "--params", str(params),
                timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("rehab run: error:")]
    assert len(errors) == 1 and node in errors[0] and "nonexistent" in errors[0], errors


def test_an_optional_stage_may_fail_and_the_summary_says_so(tmp_path):
    video = make_video(tmp_path / "clip.mp4", 10)

    def edit(s):
        s["pose_estimator"]["ros__parameters"]["estimator"] = "nonexistent"
        s["rehab_container"]["ros__parameters"]["optional_components"] = ["pose_estimator"]

    done = _run("run", str(video), "--out", str(tmp_path / "out"), "--params",
                str(_stack(tmp_path, edit)), "--quiet", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, _rows = _outputs(tmp_path / "out")
    assert summary["frames"] == 10
    assert "nonexistent" in summary["skipped_components"]["pose_estimator"]
    assert any("pose_estimator: skipped" in e for e in summary["errors"])


def test_up_with_a_missing_input_exits_at_once():
    """Before: `rehab up --exit-at-end --input missing.mp4` never exited."""
    started = time.monotonic()
    done = _run("up", "--input", "missing.mp4", "--exit-at-end", timeout=60)
    assert done.returncode == 2
    assert "input not found: missing.mp4" in done.stderr
    assert time.monotonic() - started < 30


# -- finding 7: parameters validated, typos caught, damage reported ---------------------------


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s["skeleton_tracker"]["ros__parameters"].update(diagnostics_period=0),
     "'diagnostics_period'=0.0 is below its minimum 0.05"),
    (lambda s: s.update(pose_estimater=s.pop("pose_estimator")),
     "unknown node section 'pose_estimater'; did you mean 'pose_estimator'?"),
    (lambda s: s["skeleton_tracker"]["ros__parameters"].update(max_mises=3),
     "skeleton_tracker: unknown parameter 'max_mises'; did you mean 'max_misses'?"),
], ids=["diagnostics_period_0", "misspelt_section", "misspelt_parameter"])
def test_bad_parameters_are_refused_with_a_clear_error(tmp_path, edit, message):
    video = make_video(tmp_path / "clip.mp4", 5)
    done = _run("run", str(video), "--out", str(tmp_path / "out"), "--params",
                str(_stack(tmp_path, edit)), timeout=120)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr[-2000:]


def test_a_video_cut_in_half_is_reported(tmp_path):
    """Before: a truncated file reported `errors: []`."""
    whole = make_video(tmp_path / "whole.avi", 90, fourcc="MJPG")
    half = cut_in_half(whole, tmp_path / "half.avi")
    out = tmp_path / "out"
    done = _run("run", str(half), "--out", str(out), "--quiet", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, _rows = _outputs(out)
    assert 0 < summary["frames"] < 90
    assert any("input ended early" in e and "of 90 announced" in e for e in summary["errors"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_a_session_with_its_outputs(tmp_path, sig):
    """`rehab session` on Ctrl-C / SIGTERM: the goal is cancelled, session.json says so."""
    video = make_video(tmp_path / "long.mp4", 4000)
    out = tmp_path / "out"
    proc = subprocess.Popen([str(REHAB), "session", "--exercise", "squat", "--repetitions", "5",
                             "--person-lost-timeout", "600", "--input", str(video),
                             "--out", str(out)], cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []  # progress lines end in "\r", not "\n": read characters
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stdout.read(1), "")),
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        recorded = out / "recording" / "outputs.jsonl"
        while time.monotonic() < deadline and not (
                "[1/1]" in "".join(seen) and recorded.is_file()
                and recorded.read_text().count("\n") >= 10):
            assert proc.poll() is None, f"the session ended early: {''.join(seen)[-3000:]}"
            time.sleep(0.1)
        sent = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"session {sig.name}: exited {took:.2f} s after the signal")
    assert took < 5.0
    assert proc.returncode == 128 + sig
    session = strict_json((out / "session.json").read_text())
    assert session["interrupted"] is True
    assert session["goals"][0]["reason"] == "interrupted"
    assert (out / "report.md").is_file()
    bag = out / "recording" / "outputs_bag"
    assert (bag / "metadata.yaml").is_file()
