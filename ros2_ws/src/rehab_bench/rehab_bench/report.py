"""Plots and the Markdown report of ``rehab bench`` (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rehab_bench.replay import RunResult

PLOTS = ("latency_over_time.png", "stage_latency_hist.png", "rate_sweep.png")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(out: Path, runs: dict[float, list[RunResult]], recorded: float,
                stages: list[str]) -> list[Path]:
    """Latency over time and per-stage histograms (recorded rate), and the rate sweep."""
    plt = _pyplot()
    at_rate = runs[round(float(recorded), 3)]
    paths = [out / name for name in PLOTS]

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, run in enumerate(at_rate):
        ok = [(r.tick_s, r.latency_ms) for r in run.frames if r.status == "ok"]
        dropped = [r.tick_s for r in run.frames if r.status != "ok"]
        if ok:
            ax.plot(*zip(*ok), ".-", ms=3, lw=0.8, label=f"run {i + 1}")
        if dropped:
            ax.plot(dropped, [0] * len(dropped), "rx", ms=5,
                    label="dropped" if i == 0 else None)
    ax.set(xlabel="time since run start (s)", ylabel="end-to-end latency (ms)",
           title=f"End-to-end latency at the recorded rate ({recorded:.1f} fps)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    cols = max(1, len(stages))
    fig, axes = plt.subplots(1, cols, figsize=(3.2 * cols, 3), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        values = [v for run in at_rate for v in run.stage_ms.get(stage, [])]
        if values:
            ax.hist(values, bins=30, color="tab:blue")
        ax.set(title=stage, xlabel="ms")
    fig.suptitle(f"Per-stage processing time at {recorded:.1f} fps")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)

    import numpy as np

    rates = sorted(runs)
    drop = [100 * np.mean([r.dropped_fraction for r in runs[x]]) for x in rates]
    fps = [np.mean([r.observed_fps for r in runs[x]]) for x in rates]
    p95 = []
    for x in rates:
        lat = [v for r in runs[x] for v in r.latencies_ms()]
        p95.append(float(np.percentile(lat, 95)) if lat else float("nan"))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(rates, rates, "k--", lw=0.8, label="target")
    a1.plot(rates, fps, "o-", label="delivered")
    a1.set(xlabel="target rate (fps)", ylabel="fps", title="Throughput")
    a1.legend()
    a2.plot(rates, drop, "o-", color="tab:red", label="dropped %")
    a2.axhline(5, color="tab:red", ls=":", lw=0.8)
    a2.set(xlabel="target rate (fps)", ylabel="dropped (%)", title="Drops and p95 latency")
    a3 = a2.twinx()
    a3.plot(rates, p95, "s-", color="tab:green", label="p95 latency")
    a3.set_ylabel("p95 latency (ms)")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=100)
    plt.close(fig)
    return paths


def _f(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def write_report(out: Path, result: dict[str, Any]) -> Path:
    """report.md: headline figures, per-stage table, sweep table, machine and hashes."""
    lat = result["latency_ms"]
    bag = result["bag"]
    machine = result["machine"]
    bound = "" if result["throughput_bounded"] else " (lower bound: the highest rate tried held)"
    lines = [
        "# rehab bench report",
        "",
        f"Bag `{bag['path']}`: {bag['frames']} frames {bag['size'][0]}x{bag['size'][1]}, "
        f"recorded at {bag['recorded_fps']:.2f} fps (sha256 `{bag['sha256'][:16]}…`).",
        "",
        "Method (ros2_benchmark): frames are decoded into memory first, then played at a "
        "fixed rate by a timer that never waits for the graph; a frame is dropped when the "
        "graph is still busy at its tick or a per-frame output never arrives. Latency is "
        "hand-off -> last output with the frame's stamp.",
        "",
        "## Headline",
        "",
        f"* peak sustainable throughput (< {100 * result['method']['max_drop']:.0f} % drops): "
        f"**{result['throughput_fps']:.1f} fps**{bound}",
        f"* at the recorded rate: latency p50 {_f(lat['p50'])} / p95 {_f(lat['p95'])} / "
        f"p99 {_f(lat['p99'])} / max {_f(lat['max'])} ms; dropped "
        f"{100 * result['dropped_fraction']:.1f} %",
        f"* process CPU {result['cpu_percent']:.0f} % (100 % = one core), RSS "
        f"{result['rss_mb']:.0f} MB",
        "",
        "## Stages at the recorded rate (own processing time, ms)",
        "",
        "| stage | p50 | p95 | p99 | max | drops |",
        "|---|---|---|---|---|---|",
    ]
    for stage, s in result["stages"].items():
        drops = sum(result["stage_drops"].get(stage, {}).values())
        lines.append(f"| {stage} | {_f(s['p50'], 2)} | {_f(s['p95'], 2)} | {_f(s['p99'], 2)} "
                     f"| {_f(s['max'], 2)} | {drops} |")
    lines += ["", "## Rate sweep", "",
              "| target fps | delivered fps | dropped % | busy | incomplete | p50 ms | p95 ms |",
              "|---|---|---|---|---|---|---|"]
    for row in result["sweep"]:
        lines.append(
            f"| {row['rate_hz']:g} | {row['observed_fps']:.1f} "
            f"| {100 * row['dropped_fraction']:.1f} | {row['drops']['busy']} "
            f"| {row['drops']['incomplete']} | {_f(row['latency_ms']['p50'])} "
            f"| {_f(row['latency_ms']['p95'])} |")
    lines += _compare_lines(result.get("compare"))
    lines += _soak_lines(result.get("soak"))
    lines += _event_lines(result.get("event_accuracy"))
    lines += ["", "## Machine, backends, models", "",
              f"* CPU: {machine['cpu_model']} ({machine['cores_logical']} logical cores), "
              f"{machine['memory_gb']} GB; {machine['platform']}; ROS {machine['ros_distro']}",
              f"* backends: {result['backends'] or 'none'}"]
    for name, model in result["models"].items():
        digest = model.get("sha256", "missing")
        lines.append(f"* {name}: `{model['path']}` sha256 `{digest}`")
    if "soak" in result:
        lines += ["", "![soak](soak.png)"]
    lines += ["", "![latency over time](latency_over_time.png)", "",
              "![per-stage latency](stage_latency_hist.png)", "", "![rate sweep](rate_sweep.png)",
              ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


_DEPLOYMENTS = {"container": "our container (one process)",
                "processes": "our components as separate processes (DDS)",
                "ultralytics": "plain ultralytics predict loop"}


def _compare_lines(compare: dict[str, Any] | None) -> list[str]:
    if not compare:
        return []
    lines = ["", "## Side by side (same bag, same frames, same drop rule)", "",
             "| deployment | peak fps | container / this | target | p50 ms | p95 ms "
             "| dropped % | CPU % | RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    ratios = compare.get("ratios", {})
    notes = []
    for name, label in _DEPLOYMENTS.items():
        row = compare.get(name)
        if row is None:
            continue
        if "skipped" in row:
            notes.append(f"* {label}: not run: {row['skipped']}")
            continue
        ratio = ratios.get(name, {})
        lat = row["latency_ms"]
        met = ratio.get("met")
        target = "" if not ratio else \
            f"≥ {ratio['target']:g}× ({'met' if met else 'MISSED' if met is False else 'n/a'})"
        mine = "1.00" if name == "container" else _f(ratio.get("container_over"), 2)
        lines.append(
            f"| {label} | {row['throughput_fps']:.1f} | {mine} | {target} | {_f(lat['p50'])} "
            f"| {_f(lat['p95'])} | {100 * row['dropped_fraction']:.1f} "
            f"| {row['cpu_percent']:.0f} | {row['rss_mb']:.0f} |")
        if row.get("note"):
            notes.append(f"* {label}: {row['note']}")
        if row.get("model"):
            m = row["model"]
            notes.append(f"* ultralytics model `{m['path']}` ({m['runtime']}, imgsz {m['imgsz']})")
    return lines + (["", *notes] if notes else [])


def _soak_lines(soak: dict[str, Any] | None) -> list[str]:
    if not soak:
        return []
    flat = soak["memory_flat"]
    first_last = soak["latency_p95_first_last_ms"] or [None, None]
    lines = ["", f"## Soak: {soak['minutes']:g} min at {soak['rate_hz']:.1f} fps, "
             f"{len(soak['windows'])} windows", "",
             f"* RSS {soak['rss_start_mb']:.0f} -> {soak['rss_end_mb']:.0f} MB after the first "
             f"window (growth {soak['rss_growth_mb']:+.1f} MB, slope "
             f"{_f(soak['rss_slope_mb_per_min'], 2)} MB/min: "
             f"{'flat' if flat else 'GROWING' if flat is False else 'n/a'})",
             f"* latency p50 drift {_f(soak['latency_p50_drift_ms_per_min'], 2)} ms/min; p95 "
             f"first window {_f(first_last[0])} ms, last {_f(first_last[1])} ms",
             f"* dropped {100 * soak['dropped_fraction']:.1f} %; component restarts "
             f"{soak['restart_count']}; stage errors {soak['stage_errors'] or 'none'}"]
    for r in soak["restarts"]:
        lines.append(f"  * after window {r['after_window']} ({r['at_s']} s): "
                     f"{', '.join(r['stages'])}")
    return lines


def write_soak_plot(out: Path, soak: dict[str, Any]) -> Path:
    """RSS and latency per soak window over time."""
    plt = _pyplot()
    w = soak["windows"]
    t = [x["end_s"] / 60.0 for x in w]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(t, [x["rss_mb"] for x in w], "o-")
    a1.set(xlabel="minutes", ylabel="RSS (MB)", title="Memory over the soak")
    for key, style in (("latency_p50_ms", "o-"), ("latency_p95_ms", "s-")):
        pts = [(tt, x[key]) for tt, x in zip(t, w) if x[key] is not None]
        if pts:
            a2.plot(*zip(*pts), style, label=key.split("_")[1])
    a2.set(xlabel="minutes", ylabel="latency (ms)", title="Latency per window")
    a2.legend()
    fig.tight_layout()
    path = out / "soak.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _event_lines(events: dict[str, Any] | None) -> list[str]:
    """Repetition, label and reach accuracy of the recorded-rate runs (labelled bags)."""
    if not events:
        return []
    first = events["first_run"]
    lines = ["", "## Event accuracy at the recorded rate (labelled bag)", "",
             f"Labels `{events['labels']}`; {first['frames']} frames played, "
             f"{first['dropped']} dropped. Per run:", "",
             "| run | reps counted / truth | abs error | label accuracy | onset err (frames) "
             "| offset err (frames) | false triggers/min |",
             "|---|---|---|---|---|---|---|"]
    for i, h in enumerate(events["runs"]):
        reps = "n/a" if h["repetitions_truth"] is None else \
            f"{h['repetitions_counted']} / {h['repetitions_truth']}"
        lines.append(
            f"| {i + 1} | {reps} | {_f(h['repetition_abs_error'], 0)} "
            f"| {_f(h['label_accuracy'], 3)} | {_f(h['onset_mean_abs_error_frames'])} "
            f"| {_f(h['offset_mean_abs_error_frames'])} | {_f(h['false_triggers_per_min'], 2)} |")
    reps = first.get("repetitions")
    if reps:
        lines += ["", "| segment | start s | end s | truth | counted | error |",
                  "|---|---|---|---|---|---|"]
        for seg in reps["segments"]:
            lines.append(f"| {seg['label']} | {seg['start_s']:.1f} | {seg['end_s']:.1f} "
                         f"| {seg['truth']} | {seg['counted']} | {seg['error']:+d} |")
    exercise = first.get("exercise")
    if exercise:
        per_label = ", ".join(f"{k} {_f(v['accuracy'], 2)} ({v['frames']} frames)"
                              for k, v in exercise["per_label"].items())
        lines += ["", f"Label accuracy by truth label: {per_label}; warm-up "
                  f"{exercise['warmup']['frames']} frames before the first prediction."]
    return lines
