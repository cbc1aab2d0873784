"""Soak: replay the bag in a loop at the recorded rate and watch for slow failures.

Why: leaks, growing queues and latency creep only show after minutes of
traffic, not in a 20 s rate sweep. The stages keep their state across the
whole soak (no reset between windows, as on a robot); the run is cut into
windows, and each window records the process RSS at its end, its latency
percentiles, drops, and stage errors. Between windows any stage that left
the active state is brought back up, as the lifecycle manager would do, and
counted as a restart.

Memory growth is judged after the first window (model caches and allocator
pools fill during it): the least-squares slope of RSS over the later windows
in MB per minute, and last minus first of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab_bench.player import GraphPlayer

#: the issue's target: no memory growth over the soak; slope under this counts as flat
FLAT_MB_PER_MIN = 1.0


def _slope_per_min(times_s: list[float], values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    return float(np.polyfit(np.asarray(times_s) / 60.0, np.asarray(values), 1)[0])


def run_soak(player: GraphPlayer, frames: list, rate_hz: float, duration_s: float,
             window_s: float, bar: Any) -> dict[str, Any]:
    """Play ``duration_s`` seconds in windows of ``window_s``; figures per window and trends."""
    window_s = min(window_s, duration_s)
    count = max(2, round(window_s * rate_hz))
    n_windows = max(1, round(duration_s / window_s))
    windows: list[dict[str, Any]] = []
    restarts: list[dict[str, Any]] = []
    elapsed = 0.0
    start_index = 0
    player.reset_stages()  # one fresh start, then state carries over window to window
    player.warm_up(frames, 2)
    for w in range(n_windows):
        bar.set_postfix_str(f"soak {w + 1}/{n_windows}")
        # rotate the frames so the bag loops seamlessly across windows
        rotated = frames[start_index:] + frames[:start_index]
        run = player.play(rotated, rate_hz, count, on_tick=lambda: bar.update(1), reset=False)
        start_index = (start_index + count) % len(frames)
        elapsed += run.wall_s
        lat = run.latencies_ms()
        windows.append({
            "end_s": round(elapsed, 2),
            "sent": run.sent,
            "dropped_fraction": round(run.dropped_fraction, 4),
            "latency_p50_ms": float(np.percentile(lat, 50)) if lat else None,
            "latency_p95_ms": float(np.percentile(lat, 95)) if lat else None,
            "rss_mb": round(run.rss_mb, 1),
            "cpu_percent": round(run.cpu_percent, 1),
            "stage_errors": player.stage_error_counts(),
        })
        back = player.restart_failed()
        if back:
            restarts.append({"after_window": w, "at_s": round(elapsed, 2), "stages": back})
    return summarize_soak(windows, restarts, rate_hz, duration_s)


def summarize_soak(windows: list[dict[str, Any]], restarts: list[dict[str, Any]],
                   rate_hz: float, duration_s: float) -> dict[str, Any]:
    """Trends over the windows (the first one excluded for memory: it fills caches)."""
    later = windows[1:] if len(windows) > 1 else windows
    times = [w["end_s"] for w in later]
    rss = [w["rss_mb"] for w in later]
    p50 = [(w["end_s"], w["latency_p50_ms"]) for w in windows if w["latency_p50_ms"] is not None]
    p95 = [w["latency_p95_ms"] for w in windows if w["latency_p95_ms"] is not None]
    slope = _slope_per_min(times, rss)
    drift = _slope_per_min([t for t, _ in p50], [v for _, v in p50])
    errors: dict[str, int] = {}
    for w in windows:
        for stage, n in w["stage_errors"].items():
            errors[stage] = errors.get(stage, 0) + n
    return {
        "minutes": round(duration_s / 60.0, 3),
        "rate_hz": rate_hz,
        "windows": windows,
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "rss_growth_mb": round(rss[-1] - rss[0], 1),
        "rss_slope_mb_per_min": None if slope is None else round(slope, 3),
        "memory_flat": None if slope is None else abs(slope) < FLAT_MB_PER_MIN,
        "latency_p50_drift_ms_per_min": None if drift is None else round(drift, 3),
        "latency_p95_first_last_ms": [p95[0], p95[-1]] if p95 else None,
        "dropped_fraction": float(np.mean([w["dropped_fraction"] for w in windows])),
        "restarts": restarts,
        "restart_count": sum(len(r["stages"]) for r in restarts),
        "stage_errors": errors,
    }
