"""``rehab bench``: replay a bag through the stack at several rates and report (ros2_benchmark).

Three kinds of measurement, each repeated ``runs`` times on a fresh stage state:

* the bag's recorded rate (the latency figures of ``bench.json`` come from it);
* fixed rates (the rate sweep);
* a bisection for the peak sustainable rate: the highest rate at which fewer
  than ``max_drop`` (5 %) of the frames are dropped, averaged over the runs.

Results go to ``OUT/bench.json`` (figures, machine, backends, model and bag
hashes), ``OUT/report.md`` and PNG plots.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rehab_bench.player import GraphPlayer
from rehab_bench.provenance import machine_info, model_hashes, sha256_path
from rehab_bench.replay import RunResult, load_bag_frames
from rehab_core.errors import ConfigError
from rehab_runtime import stack_config


@dataclass
class BenchConfig:
    bag: Path
    out: Path
    params: str | Path | dict[str, Any]
    rates: list[float] = field(default_factory=lambda: [5.0, 10.0, 15.0, 30.0])
    runs: int = 3
    duration_s: float | None = None  # None: play the bag once per run
    topic: str | None = None
    search_steps: int = 6
    max_drop: float = 0.05
    domain_id: int | None = None
    progress: bool = True
    #: also measure the stack as separate processes (DDS between stages) and an ultralytics loop
    compare: bool = False
    #: pose model for the ultralytics loop (default: the stack's YOLO-pose model)
    ultralytics_model: Path | None = None
    #: minutes of continuous replay at the recorded rate after the sweep (0: no soak)
    soak_minutes: float = 0.0
    soak_window_s: float = 30.0
    #: labels sidecar for event accuracy (default: the one found next to the bag)
    labels: Path | None = None
    #: (node, param, value) applied over ``params`` (``--set node.param=value``)
    overrides: list[tuple[str, str, Any]] = field(default_factory=list)


def _pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    a = np.asarray(values, float)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max()), "mean": float(a.mean())}


def summarize(rate: float, runs: list[RunResult]) -> dict[str, Any]:
    """Pooled figures of several runs at one rate."""
    latencies = [v for r in runs for v in r.latencies_ms()]
    stages = list(dict.fromkeys(s for r in runs for s in r.stage_ms))  # graph order
    drops = {"busy": 0, "incomplete": 0}
    for r in runs:
        for k, v in r.drop_counts().items():
            drops[k] += v
    return {
        "rate_hz": rate,
        "runs": len(runs),
        "sent": sum(r.sent for r in runs),
        "delivered": sum(r.delivered for r in runs),
        "dropped_fraction": float(np.mean([r.dropped_fraction for r in runs])),
        "dropped_fraction_per_run": [round(r.dropped_fraction, 4) for r in runs],
        "drops": drops,
        "observed_fps": float(np.mean([r.observed_fps for r in runs])),
        "latency_ms": _pct(latencies),
        "stages_ms": {s: _pct([v for r in runs for v in r.stage_ms.get(s, [])]) for s in stages},
        "stage_drops": {s: {k: sum(r.stage_drops.get(s, {}).get(k, 0) for r in runs)
                            for k in {k for r in runs for k in r.stage_drops.get(s, {})}}
                        for s in stages},
        "cpu_percent": float(np.mean([r.cpu_percent for r in runs])),
        "rss_mb": float(max(r.rss_mb for r in runs)),
    }


class _Bench:
    def __init__(self, cfg: BenchConfig, player: GraphPlayer, frames: list, bar: Any) -> None:
        self.cfg, self.player, self.frames, self.bar = cfg, player, frames, bar
        self.runs: dict[float, list[RunResult]] = {}
        #: rate whose runs keep every output payload (event accuracy), if any
        self.capture_at: float | None = None

    def count(self, rate: float) -> int:
        if self.cfg.duration_s:
            return max(2, round(self.cfg.duration_s * rate))
        return len(self.frames)

    def measure(self, rate: float) -> dict[str, Any]:
        rate = round(float(rate), 3)
        if rate not in self.runs:
            results = []
            for _ in range(self.cfg.runs):
                self.bar.set_postfix_str(f"{rate:g} fps")
                extra = {"capture": True} if rate == self.capture_at else {}
                results.append(self.player.play(self.frames, rate, self.count(rate),
                                                on_tick=lambda: self.bar.update(1), **extra))
            self.runs[rate] = results
        return summarize(rate, self.runs[rate])

    def sustainable(self, rate: float) -> bool:
        return self.measure(rate)["dropped_fraction"] < self.cfg.max_drop

    def peak(self, service_ms: float) -> tuple[float, bool]:
        """Highest sustainable rate (bisection); second item False if even the top held."""
        tried = sorted(self.runs)
        ok = [r for r in tried if self.sustainable(r)]
        bad = [r for r in tried if not self.sustainable(r)]
        lo = max(ok, default=0.0)
        hi = min((r for r in bad if r > lo), default=None)
        if hi is None:
            hi = max(2.0 * lo, 2000.0 / max(service_ms, 1e-3), 1.0)  # 2x the no-load rate
            if self.sustainable(hi):
                return hi, False
        estimate = 0.9 * 1000.0 / max(service_ms, 1e-3)  # a frame's cost bounds the rate
        if lo < estimate < hi:  # start there: halving from the top wastes most steps
            if self.sustainable(estimate):
                lo = estimate
            else:
                hi = estimate
        for _ in range(self.cfg.search_steps):
            if hi - lo <= 0.02 * hi:
                break
            mid = (lo * hi) ** 0.5 if lo > 0 else hi / 2  # geometric: rates span decades
            if self.sustainable(mid):
                lo = mid
            else:
                hi = mid
        return lo, True


def run_benchmark(cfg: BenchConfig) -> dict[str, Any]:
    """Run every measurement and write bench.json, report.md and the plots; returns bench.json."""
    from tqdm import tqdm

    from rehab_bench import report

    if cfg.runs < 1:
        raise ConfigError(f"--runs must be >= 1, got {cfg.runs}")
    if any(r <= 0 for r in cfg.rates):
        raise ConfigError(f"--rates must be > 0, got {cfg.rates}")
    cfg.out.mkdir(parents=True, exist_ok=True)
    if cfg.compare:
        # before this process's first DDS participant: Fast DDS reads the profile once per
        # process, and the component processes use it (shared memory for large images)
        from rehab_runtime.dds import use_large_data_profile

        use_large_data_profile()
    frames, recorded_fps = load_bag_frames(cfg.bag, cfg.topic)
    labels = _load_labels(cfg)
    stack = stack_config.load_stack(cfg.params)
    for node, key, value in cfg.overrides:
        stack_config.set_param(stack, node, key, value)
    has_recorder = any(s.name == "recorder" for s in stack_config.components(stack))
    if has_recorder:
        stack_config.set_param(stack, "recorder", "output_dir", str(cfg.out / "recording"))
    recorded = recorded_fps if recorded_fps > 0 else 30.0
    with tqdm(unit="frame", desc="rehab bench", disable=not cfg.progress,
              dynamic_ncols=True) as bar:
        with GraphPlayer(stack, domain_id=cfg.domain_id) as player:
            service_ms = player.warm_up(frames)
            bench = _Bench(cfg, player, frames, bar)
            if labels is not None:
                bench.capture_at = round(float(recorded), 3)
            at_recorded = bench.measure(recorded)
            events = None
            if labels is not None:
                from rehab_bench.events import score_runs

                events = score_runs(labels, bench.runs[bench.capture_at], frames, recorded)
                for run in bench.runs[bench.capture_at]:  # payloads are not needed any more
                    for record in run.frames:
                        record.outputs = None
            for rate in sorted({round(float(r), 3) for r in cfg.rates}):
                bench.measure(rate)
            peak, bounded = bench.peak(service_ms)
            peak_summary = bench.measure(peak) if peak > 0 else None
            backends = player.backends()
            stages = player.stages
            required = player.required
            topics = {t: player.kinds[t] for t in required}
            pose_input = player.pose_input_size()
            soak_result = None
            if cfg.soak_minutes > 0:
                from rehab_bench.soak import run_soak

                soak_result = run_soak(player, frames, recorded, cfg.soak_minutes * 60.0,
                                       cfg.soak_window_s, bar)
        compare = None
        if cfg.compare:
            if has_recorder:
                stack_config.set_param(stack, "recorder", "output_dir",
                                       str(cfg.out / "recording_processes"))
            compare = {"processes": compare_processes(cfg, stack, topics, frames, recorded, bar),
                       "ultralytics": compare_ultralytics(cfg, stack, pose_input, frames,
                                                           recorded, bar)}
    result = {
        "bag": {"path": str(cfg.bag), "sha256": sha256_path(Path(cfg.bag)),
                "frames": len(frames), "recorded_fps": recorded_fps,
                "size": [int(frames[0].width), int(frames[0].height)]},
        "throughput_fps": round(peak, 3),
        "throughput_bounded": bounded,
        "throughput_observed_fps": peak_summary["observed_fps"] if peak_summary else 0.0,
        "latency_ms": at_recorded["latency_ms"],
        "dropped_fraction": at_recorded["dropped_fraction"],
        "cpu_percent": at_recorded["cpu_percent"],
        "rss_mb": max(s["rss_mb"] for s in (summarize(r, v) for r, v in bench.runs.items())),
        "stages": at_recorded["stages_ms"],
        "stage_drops": at_recorded["stage_drops"],
        "service_time_ms": service_ms,
        "at_recorded_rate": at_recorded,
        "sweep": [summarize(r, bench.runs[r]) for r in sorted(bench.runs)],
        "method": {"runs": cfg.runs, "duration_s": cfg.duration_s, "max_drop": cfg.max_drop,
                   "search_steps": cfg.search_steps, "required_topics": required,
                   "stages": stages, "drop_rule": "busy at tick, or a required output missing",
                   "latency": "hand-off to the graph -> last output with the frame's stamp"},
        "machine": machine_info(),
        "backends": backends,
        "models": model_hashes(stack),
        "params": str(cfg.params) if not isinstance(cfg.params, dict) else "<dict>",
        "overrides": [f"{n}.{k}={v}" for n, k, v in cfg.overrides],
    }
    if soak_result is not None:
        result["soak"] = soak_result
    if events is not None:
        result["event_accuracy"] = events
    if compare is not None:
        result["compare"] = {
            "container": {"throughput_fps": result["throughput_fps"],
                          "latency_ms": result["latency_ms"],
                          "dropped_fraction": result["dropped_fraction"],
                          "cpu_percent": result["cpu_percent"], "rss_mb": result["rss_mb"]},
            **compare,
            "ratios": compare_ratios(result["throughput_fps"], compare),
        }
    (cfg.out / "bench.json").write_text(json.dumps(result, indent=2, default=float))
    report.write_plots(cfg.out, bench.runs, recorded, stages)
    if soak_result is not None:
        report.write_soak_plot(cfg.out, soak_result)
    report.write_report(cfg.out, result)
    return result


def compare_processes(cfg: BenchConfig, stack: dict[str, Any], topics: dict[str, str],
                       frames: list, recorded: float, bar: Any) -> dict[str, Any]:
    """Recorded-rate figures and peak sustainable rate of the stack as separate processes."""
    from rehab_bench.processes import ProcessGraphPlayer

    domain = cfg.domain_id if cfg.domain_id is not None else int(
        os.environ.get("ROS_DOMAIN_ID", "0") or 0)
    with ProcessGraphPlayer(stack, topics, domain_id=domain) as player:
        figures = _measure_alternative(cfg, player, frames, recorded, bar)
        monitor_qos = player.monitor_qos
    return {**figures, "monitor_qos": monitor_qos,
            "note": "cpu_percent and rss_mb include every component process"}


def _measure_alternative(cfg: BenchConfig, player: Any, frames: list, recorded: float,
                         bar: Any) -> dict[str, Any]:
    """Recorded-rate figures and peak sustainable rate of one side-by-side alternative."""
    service_ms = player.warm_up(frames)
    bench = _Bench(cfg, player, frames, bar)
    at_recorded = bench.measure(recorded)
    peak, bounded = bench.peak(service_ms)
    return {
        "throughput_fps": round(peak, 3),
        "throughput_bounded": bounded,
        "latency_ms": at_recorded["latency_ms"],
        "dropped_fraction": at_recorded["dropped_fraction"],
        "cpu_percent": at_recorded["cpu_percent"],
        "rss_mb": at_recorded["rss_mb"],
        "service_time_ms": service_ms,
        "sweep": [summarize(r, bench.runs[r]) for r in sorted(bench.runs)],
    }


#: the issue's targets for container peak throughput over each alternative
RATIO_TARGETS = {"processes": 2.0, "ultralytics": 1.5}


def _load_labels(cfg: BenchConfig) -> Any:
    """The bag's event labels (explicit file, else the sidecar next to the bag), or None."""
    from rehab_core.evaluation import find_labels, load_labels

    path = cfg.labels or find_labels(cfg.bag)
    return load_labels(path) if path is not None else None


def compare_ratios(container_fps: float, compare: dict[str, Any]) -> dict[str, Any]:
    """Container peak fps over each alternative's, with the target; None where it did not run."""
    out: dict[str, Any] = {}
    for name, target in RATIO_TARGETS.items():
        other = compare.get(name) or {}
        fps = other.get("throughput_fps")
        ratio = container_fps / fps if fps else None
        out[name] = {"container_over": None if ratio is None else round(ratio, 3),
                     "target": target, "met": None if ratio is None else ratio >= target}
    return out


def compare_ultralytics(cfg: BenchConfig, stack: dict[str, Any],
                         pose_input: tuple[int, int] | None, frames: list, recorded: float,
                         bar: Any) -> dict[str, Any]:
    """Recorded-rate figures and peak rate of a plain ultralytics predict loop (or why not run)."""
    from rehab_bench.ultralytics_loop import UltralyticsLoopPlayer, ultralytics_model_for

    pose = stack_config.node_params(stack, "pose_estimator")
    model, why_not = (cfg.ultralytics_model, "") if cfg.ultralytics_model else \
        ultralytics_model_for(pose)
    if model is None:
        return {"skipped": why_not}
    imgsz = max(pose_input) if pose_input else 640
    with UltralyticsLoopPlayer(model, imgsz=imgsz) as player:
        figures = _measure_alternative(cfg, player, frames, recorded, bar)
        runtime = player.runtime
    return {
        "model": {"path": str(model), "sha256": sha256_path(Path(model)), "runtime": runtime,
                  "imgsz": imgsz},
        **figures,
        "note": "pose only (ultralytics pre-processing, inference, NMS); our container also "
                "runs the tracker and classifier behind the pose model",
    }
