"""rehab bench on a labelled bag of real footage: event accuracy beside throughput and latency.

The bag is squat2.mp4 (hand-counted: 6 squats in 6.5-19.0 s) at 10 fps
(every third frame, original stamps), so BlazePose keeps up at the recorded
rate even on a loaded 2-core CI machine; the labels sidecar is converted
from test/data/repetitions_truth.yaml.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

from rehab_bench.benchmark import BenchConfig, run_benchmark
from rehab_core.evaluation import find_labels, labels_from_repetition_truth, save_labels
from rehab_core.io.bag import write_image_bag
from rehab_core.io.video import VideoSource

REPO = Path(__file__).resolve().parents[2]
STACK = {
    "rehab_container": {"ros__parameters": {
        "components": ["image_source", "pose_estimator", "skeleton_tracker",
                       "action_classifier", "repetition_counter"],
        "remappings": ["action_classifier:skeletons:=tracked_skeletons",
                       "repetition_counter:skeletons:=tracked_skeletons"]}},
    "pose_estimator": {"ros__parameters": {"estimator": "blazepose"}},
    "action_classifier": {"ros__parameters": {
        "model_dir": str(REPO / "models" / "exercise_stgcn")}},
}


@pytest.fixture(scope="module")
def labelled_bag(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def frames():
        for frame in VideoSource(shared_dir / "media" / "exercise" / "squat2.mp4"):
            if frame.index % 3 == 0:
                small = cv2.resize(frame.image, (480, 270), interpolation=cv2.INTER_AREA)
                yield frame.__class__(small, frame.stamp_ns, frame.index // 3, "bgr8", "camera")

    bag = tmp_path_factory.mktemp("labelled") / "squat2_10fps"
    write_image_bag(bag, frames())
    labels = labels_from_repetition_truth(REPO / "test" / "data" / "repetitions_truth.yaml",
                                          "squat2.mp4")
    save_labels(labels, bag / "labels.yaml")
    return bag


def test_bench_scores_repetitions_and_labels_of_a_labelled_bag(labelled_bag: Path,
                                                                tmp_path: Path):
    assert find_labels(labelled_bag) == labelled_bag / "labels.yaml"
    out = tmp_path / "bench"
    cfg = BenchConfig(labelled_bag, out, STACK, rates=[], runs=1, search_steps=1,
                      domain_id=150 + os.getpid() % 50, progress=False)
    run_benchmark(cfg)
    saved = json.loads((out / "bench.json").read_text())
    assert saved["bag"]["recorded_fps"] == pytest.approx(10.0, rel=0.02)
    events = saved["event_accuracy"]
    first = events["first_run"]
    assert first["frames"] == saved["bag"]["frames"]
    reps = first["repetitions"]
    assert reps["truth_total"] == 6
    # what the stack counted, scored by bag time; the counter's own tests bound its error
    assert reps["counted_total"] == sum(s["counted"] for s in reps["segments"])
    assert abs(reps["segments"][0]["error"]) <= 2, reps
    exercise = first["exercise"]
    assert 0.0 <= exercise["accuracy"] <= 1.0 and exercise["frames_scored"] > 100
    assert exercise["per_label"]["squat"]["frames"] > 0
    assert first["reach"] is None  # not labelled: not scored, not zero-filled
    headline = events["runs"][0]
    assert headline["repetitions_truth"] == 6
    assert headline["label_accuracy"] == pytest.approx(exercise["accuracy"])
    report = (out / "report.md").read_text()
    assert "## Event accuracy" in report and "| squat |" in report
