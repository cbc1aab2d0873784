"""The shipped bringup stack (launch/config/stack.yaml) end to end through ``run_graph``,
and every output of every frame equal to itself rebuilt from its ROS message (what a
component in another process receives)."""

from __future__ import annotations

import json
from pathlib import Path

from rehab_perception.results import FrameResult
from rehab_perception.run_graph import run_graph
from rehab_runtime import codecs
from rehab_testing.compare import same
from rehab_testing.wire import as_received, on_the_wire

REPO = Path(__file__).resolve().parents[4]


def _run_shipped_stack(tmp_path, clip, bundle, domain_id) -> tuple[object, list[FrameResult]]:
    from rehab_runtime import stack_config

    stack = stack_config.load_stack(REPO / "launch" / "config" / "stack.yaml")
    stack_config.set_param(stack, "action_classifier", "model_dir", str(bundle))
    stack_config.set_param(stack, "recorder", "output_dir", str(tmp_path / "rec"))
    results: list[FrameResult] = []
    run = run_graph(stack, str(clip), results.append, domain_id=domain_id, timeout_s=120)
    for name in ("pose_estimator", "skeleton_tracker", "action_classifier"):
        assert run.components[name]["processed"] == run.frames, (name, run.components[name])
    assert all(c["dropped"] == 0 for c in run.components.values()), run.components
    return run, results


def assert_same_over_dds(results: list[FrameResult]) -> int:
    """Every output of every frame equals itself rebuilt from its message (float32 aside)."""
    checked = 0
    for r in results:
        outputs = [(codecs.SKELETONS, r.skeletons), (codecs.DETECTIONS, r.detections),
                   (codecs.ACTION, r.action)]
        with_3d = r.skeletons and [k for k in r.skeletons.skeletons if k.keypoints_3d is not None]
        if with_3d:  # and the camera-frame topic for viewers carries the same 3-D
            back = as_received(codecs.SKELETONS_3D, r.skeletons).skeletons
            assert same([k.keypoints_3d for k in back], [k.keypoints_3d for k in with_3d], 1e-6)
        outputs += [(codecs.REPETITION, p) for p in r.repetitions]
        outputs += [(codecs.REACH, p) for p in r.reach]
        for codec, p in outputs:
            if p is not None:
                assert same(as_received(codec, p), on_the_wire(p), 1e-6), (codec.name, p)
                checked += 1
    return checked


def test_run_graph_on_the_shipped_stack_yaml(tmp_path, synthetic_clip, tiny_stgcn_bundle,
                                              domain_id):
    """The bringup file itself runs end to end: every stage sees every frame, none dropped."""
    run, results = _run_shipped_stack(tmp_path, synthetic_clip, tiny_stgcn_bundle, domain_id)
    assert run.frames == len(results) == 12
    assert not any(r.action for r in results)  # nobody in the clip: no window to classify
    assert assert_same_over_dds(results) == len(results)  # the skeletons of every frame
    json.dumps([r.to_dict() for r in results])  # what predictions.jsonl rows are made of


def test_shipped_stack_classifies_a_person(tmp_path, person_clip, tiny_stgcn_bundle,
                                           domain_id):
    _run, results = _run_shipped_stack(tmp_path, person_clip, tiny_stgcn_bundle, domain_id)
    actions = [r for r in results if r.action is not None]
    assert len(actions) >= 2  # window 8, stride 4 over 16 frames (untrained: labels are noise)
    for r in actions:
        assert r.action.stamp_ns == r.stamp_ns
        assert set(r.action.prediction.scores) == {"squat", "jumping_jacks"}
        assert r.to_dict()["action"]["label"] in {"squat", "jumping_jacks", "unknown"}
    assert assert_same_over_dds(results) >= len(results) + len(actions)
    # the default pose model gives its own 3-D (space "model"): the equality covers it
    assert any(k.keypoints_3d is not None and k.space_3d == "model"
               for r in results if r.skeletons for k in r.skeletons.skeletons)
