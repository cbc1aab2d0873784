"""rehab bench --compare (ultralytics loop, monitor QoS) and --soak, on real graphs and models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from rehab_bench.benchmark import (
    BenchConfig,
    compare_ratios,
    compare_ultralytics,
    run_benchmark,
)
from rehab_bench.player import GraphPlayer
from rehab_bench.qos import matching_qos
from rehab_bench.replay import load_bag_frames
from rehab_bench.soak import summarize_soak
from rehab_bench.ultralytics_loop import UltralyticsLoopPlayer, ultralytics_model_for
from rehab_testing.replay import graph_domain_id, moving_disc_bag, pose_tracker_stack

STACK = pose_tracker_stack()


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 frames 160x120 of a moving disc at 20 fps."""
    return moving_disc_bag(tmp_path_factory.mktemp("soak") / "bag", 20, 20.0, 5)


@pytest.fixture(scope="module")
def yolo_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same random-init YOLO11n-pose as ONNX (our stack) and .pt (ultralytics)."""
    from rehab_core.export.yolo import export_random_yolo_pair

    return export_random_yolo_pair(tmp_path_factory.mktemp("yolo") / "pose-160.onnx",
                                   imgsz=160)


def test_monitor_requests_the_weakest_policy_its_publishers_offer():
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)
    assert matching_qos([qos_profile_sensor_data]).reliability == ReliabilityPolicy.BEST_EFFORT
    mixed = matching_qos([reliable, qos_profile_sensor_data], depth=3)
    assert mixed.reliability == ReliabilityPolicy.BEST_EFFORT and mixed.depth == 3
    assert mixed.durability == DurabilityPolicy.VOLATILE
    both = matching_qos([reliable, reliable])
    assert both.reliability == ReliabilityPolicy.RELIABLE
    assert both.durability == DurabilityPolicy.TRANSIENT_LOCAL


def test_ultralytics_model_defaults_to_the_stacks_yolo_pose_and_its_pt(yolo_pair):
    onnx, pt = yolo_pair
    assert ultralytics_model_for({"estimator": "yolo_pose", "model_path": str(onnx)}) == (pt, "")
    model, why = ultralytics_model_for({"estimator": "blazepose"})
    assert model is None and "--ultralytics-model" in why


def test_ultralytics_loop_replays_the_bag_with_the_same_drop_rule(bag: Path, yolo_pair):
    frames, _ = load_bag_frames(bag)
    _, pt = yolo_pair
    with UltralyticsLoopPlayer(pt, imgsz=160) as player:
        assert player.warm_up(frames, 3) > 0
        slow = player.play(frames, 5.0, count=5)
        flood = player.play(frames, 5000.0)
    assert slow.sent == 5 and slow.delivered >= 4 and all(v > 0 for v in slow.latencies_ms())
    assert flood.sent == 20 and flood.drop_counts()["busy"] == 20 - flood.delivered > 0


def test_compare_reports_the_ultralytics_loop_and_the_ratio(bag: Path, yolo_pair, tmp_path):
    from tqdm import tqdm

    onnx, pt = yolo_pair
    stack = {**STACK, "pose_estimator": {"ros__parameters": {
        "estimator": "yolo_pose", "model_path": str(onnx)}}}
    frames, fps = load_bag_frames(bag)
    cfg = BenchConfig(bag, tmp_path, stack, rates=[], runs=1, search_steps=2, progress=False)
    with tqdm(disable=True) as bar:
        row = compare_ultralytics(cfg, stack, (160, 160), frames, fps, bar)
    assert row["model"]["path"] == str(pt) and row["model"]["runtime"] == "torch"
    assert row["throughput_fps"] > 0 and row["latency_ms"]["p50"] > 0
    ratios = compare_ratios(2.0 * row["throughput_fps"], {"ultralytics": row})
    assert ratios["ultralytics"] == {"container_over": 2.0, "target": 1.5, "met": True}
    assert compare_ratios(10.0, {"processes": {"throughput_fps": 0.0}})["processes"]["met"] is None


def test_a_stage_that_fell_over_is_restarted_and_counted(bag: Path):
    frames, _ = load_bag_frames(bag)
    with GraphPlayer(STACK, domain_id=graph_domain_id("restart")) as player:
        tracker = player.container.nodes["skeleton_tracker"]
        tracker.trigger_deactivate()
        tracker.trigger_cleanup()
        assert tracker.state_label() == "unconfigured"
        assert player.restart_failed() == ["skeleton_tracker"]
        assert tracker.state_label() == "active" and player.restart_failed() == []
        run = player.play(frames, 10.0, count=5)
    assert run.delivered >= 4


def test_soak_loops_the_bag_and_reports_memory_latency_and_restarts(bag: Path, tmp_path: Path):
    out = tmp_path / "soak"
    cfg = BenchConfig(bag, out, STACK, rates=[10.0], runs=1, search_steps=1,
                      domain_id=graph_domain_id("soak"), progress=False, soak_minutes=3.0 / 60,
                      soak_window_s=1.0)
    result = run_benchmark(cfg)
    soak = json.loads((out / "bench.json").read_text())["soak"]
    assert soak == json.loads(json.dumps(result["soak"]))
    assert len(soak["windows"]) == 3
    assert sum(w["sent"] for w in soak["windows"]) == 3 * 20  # 1 s at 20 fps, three times
    assert soak["restart_count"] == 0 and soak["rss_end_mb"] > 0
    assert soak["rss_slope_mb_per_min"] is not None
    assert (out / "soak.png").stat().st_size > 1000
    assert "## Soak" in (out / "report.md").read_text()


def test_soak_summary_flags_growing_memory_and_latency_drift():
    windows = [{"end_s": 30.0 * (i + 1), "sent": 450, "dropped_fraction": 0.0,
                "latency_p50_ms": 20.0 + i, "latency_p95_ms": 30.0 + i,
                "rss_mb": 500.0 + 10.0 * i, "cpu_percent": 90.0,
                "stage_errors": {"pose_estimator": 1}} for i in range(6)]
    soak = summarize_soak(windows, [], 15.0, 180.0)
    assert soak["rss_slope_mb_per_min"] == pytest.approx(20.0)  # 10 MB per 30 s window
    assert soak["memory_flat"] is False and soak["rss_growth_mb"] == pytest.approx(40.0)
    assert soak["latency_p50_drift_ms_per_min"] == pytest.approx(2.0)
    assert soak["stage_errors"] == {"pose_estimator": 6}
