"""rehab bench: fixed-rate replay through the real in-process stack (real rclpy, own domain)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rehab_bench.benchmark import BenchConfig, run_benchmark
from rehab_bench.player import GraphPlayer
from rehab_bench.provenance import sha256_path
from rehab_bench.replay import load_bag_frames
from rehab_core.errors import ConfigError, InputSourceError
from rehab_testing.replay import graph_domain_id, moving_disc_bag, pose_tracker_stack

STACK = pose_tracker_stack()


@pytest.fixture(scope="module")
def tiny_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 frames 160x120 of a moving disc, stamped at 30 fps."""
    return moving_disc_bag(tmp_path_factory.mktemp("bench") / "tiny_bag", 30, 30.0, 4)


def test_frames_are_loaded_into_memory_with_the_recorded_rate(tiny_bag: Path):
    frames, fps = load_bag_frames(tiny_bag)
    assert len(frames) == 30 and frames[0].image.shape == (120, 160, 3)
    assert fps == pytest.approx(30.0, rel=1e-3)


def test_missing_bag_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InputSourceError):
        load_bag_frames(tmp_path / "nope")


def test_player_drops_frames_when_the_rate_is_far_above_the_graph(tiny_bag: Path):
    frames, _ = load_bag_frames(tiny_bag)
    with GraphPlayer(STACK, domain_id=graph_domain_id("player")) as player:
        assert player.required == ["/skeletons", "/tracked_skeletons"]
        service_ms = player.warm_up(frames)
        assert service_ms > 0
        slow = player.play(frames, 10.0, count=10)
        fast = player.play(frames, 2000.0)  # 0.5 ms between ticks, far below one frame's cost
    assert slow.sent == 10 and slow.dropped_fraction <= 0.1
    assert all(v > 0 for v in slow.latencies_ms())
    assert len(slow.stage_ms["pose_estimator"]) == slow.delivered
    assert fast.sent == 30 and fast.dropped_fraction > 0.5
    assert fast.drop_counts()["busy"] == 30 - fast.delivered
    assert fast.wall_s < 5.0  # the source never waited for the graph


def test_a_stack_without_image_source_is_refused():
    stack = {"rehab_container": {"ros__parameters": {"components": ["skeleton_tracker"]}}}
    with pytest.raises(ConfigError, match="image_source"):
        GraphPlayer(stack, domain_id=graph_domain_id("bad"))


def test_run_benchmark_writes_json_report_and_plots(tiny_bag: Path, tmp_path: Path):
    out = tmp_path / "bench"
    cfg = BenchConfig(tiny_bag, out, STACK, rates=[15.0, 1000.0], runs=2, search_steps=3,
                      domain_id=graph_domain_id("bench"), progress=False)
    result = run_benchmark(cfg)
    saved = json.loads((out / "bench.json").read_text())
    assert saved["throughput_fps"] == pytest.approx(result["throughput_fps"])
    for key in ("throughput_fps", "latency_ms", "dropped_fraction", "cpu_percent", "rss_mb",
                "stages", "machine", "backends", "models", "bag", "sweep"):
        assert key in saved, key
    assert saved["throughput_fps"] > 0
    assert 0.0 <= saved["dropped_fraction"] <= 1.0
    lat = saved["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert saved["stages"]["pose_estimator"]["p50"] > 0
    assert saved["rss_mb"] > 0 and saved["cpu_percent"] > 0
    assert saved["machine"]["cores_logical"] >= 1
    assert saved["bag"]["sha256"] == sha256_path(tiny_bag) and saved["bag"]["frames"] == 30
    by_rate = {row["rate_hz"]: row for row in saved["sweep"]}
    assert by_rate[1000.0]["dropped_fraction"] > 0.5  # far above what the graph can do
    assert saved["throughput_fps"] < 1000.0
    report = (out / "report.md").read_text()
    assert "peak sustainable throughput" in report and "pose_estimator" in report
    for name in ("latency_over_time.png", "stage_latency_hist.png", "rate_sweep.png"):
        assert (out / name).stat().st_size > 1000, name


def test_model_files_named_in_the_params_are_hashed(tmp_path: Path):
    from rehab_bench.provenance import model_hashes

    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    stack = {"rehab_container": {"ros__parameters": {"components": ["image_source",
                                                                    "pose_estimator"]}},
             "pose_estimator": {"ros__parameters": {"model_path": str(model)}},
             "image_source": {"ros__parameters": {"model_dir": str(tmp_path / "gone")}}}
    hashes = model_hashes(stack)
    assert hashes["pose_estimator.model_path"]["sha256"] == sha256_path(model)
    assert hashes["image_source.model_dir"]["missing"] is True


def test_cli_rejects_bad_rates_with_a_clear_error(tiny_bag: Path, tmp_path: Path, capsys):
    from rehab_cli.main import main

    assert main(["bench", str(tiny_bag), "--out", str(tmp_path / "o"), "--rates", "5,x"]) == 2
    assert "--rates" in capsys.readouterr().err
    assert main(["bench", str(tiny_bag), "--out", str(tmp_path / "o"), "--rates", "0"]) == 2


def test_compare_runs_the_same_bag_through_separate_processes(tiny_bag: Path, tmp_path: Path):
    out = tmp_path / "cmp"
    cfg = BenchConfig(tiny_bag, out, STACK, rates=[10.0], runs=1, search_steps=2,
                      domain_id=graph_domain_id("compare"), progress=False, compare=True)
    result = run_benchmark(cfg)
    proc = result["compare"]["processes"]
    assert proc["throughput_fps"] > 0 and 0.0 <= proc["dropped_fraction"] <= 1.0
    assert proc["latency_ms"]["p50"] > 0
    assert proc["rss_mb"] > result["compare"]["container"]["rss_mb"] * 0.5
    assert "separate processes" in (out / "report.md").read_text()
