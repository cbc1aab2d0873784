"""``rehab bench BAG --out DIR``: replay benchmark of the stack (ros2_benchmark method).

See ``rehab_bench.benchmark``: the bag is decoded into memory, then played
through the in-process stack at its recorded rate, at fixed rates and at
rates found by bisection for the peak sustainable rate (< 5 % drops).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rehab_core.errors import ConfigError

DEFAULT_PARAMS = "launch/config/stack.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="replay a bag through the stack at fixed rates; latency, drops, peak fps")
    parser.add_argument("bag", help="rosbag2 with an image topic (rehab bag from-video ...)")
    parser.add_argument("--out", required=True, help="output folder (bench.json, report.md, PNGs)")
    parser.add_argument("--params", default=DEFAULT_PARAMS, help="stack parameter file (YAML)")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one stack parameter (repeatable)")
    parser.add_argument("--rates", default="5,10,15,30", help="fixed rates in fps, comma separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per rate")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds per run (the bag loops); default: play the bag once")
    parser.add_argument("--topic", default=None, help="image topic (default: the only one)")
    parser.add_argument("--search-steps", type=int, default=6,
                        help="bisection steps for the peak sustainable rate")
    parser.add_argument("--max-drop", type=float, default=0.05,
                        help="drop fraction below which a rate counts as sustainable")
    parser.add_argument("--compare", action="store_true",
                        help="also run the stack as separate processes (DDS) and a plain "
                             "ultralytics predict loop on the pose model, and compare")
    parser.add_argument("--ultralytics-model", type=Path, default=None, metavar="FILE",
                        help="pose model for the ultralytics loop (.pt/.onnx/.engine; default: "
                             "the stack's YOLO-pose model, its .pt sibling if there is one)")
    parser.add_argument("--soak", type=float, default=0.0, metavar="MINUTES",
                        help="after the sweep, loop the bag at its recorded rate this long and "
                             "report memory growth, latency drift and component restarts")
    parser.add_argument("--soak-window", type=float, default=30.0, metavar="S",
                        help="soak window length in seconds (one RSS/latency point each)")
    parser.add_argument("--labels", type=Path, default=None, metavar="FILE",
                        help="event labels (default: BAG/labels.yaml or BAG.labels.yaml if "
                             "present): adds repetition, label and reach accuracy")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=bench)


def _rates(text: str) -> list[float]:
    try:
        rates = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--rates wants numbers like 5,10,15,30, got {text!r}") from None
    if not rates or any(r <= 0 for r in rates):
        raise ConfigError(f"--rates wants positive rates, got {text!r}")
    return rates


def bench(args: argparse.Namespace) -> int:
    from rehab_bench.benchmark import BenchConfig, run_benchmark
    from rehab_runtime.stack_config import parse_overrides

    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be > 0, got {args.duration}")
    if args.soak < 0 or args.soak_window <= 0:
        raise ConfigError(f"--soak must be >= 0 and --soak-window > 0, got {args.soak}, "
                          f"{args.soak_window}")
    if not 0 < args.max_drop < 1:
        raise ConfigError(f"--max-drop must be in (0, 1), got {args.max_drop}")
    cfg = BenchConfig(bag=Path(args.bag), out=Path(args.out), params=args.params,
                      rates=_rates(args.rates), runs=args.runs, duration_s=args.duration,
                      topic=args.topic, search_steps=args.search_steps, max_drop=args.max_drop,
                      progress=not args.no_progress, compare=args.compare,
                      ultralytics_model=args.ultralytics_model, soak_minutes=args.soak,
                      soak_window_s=args.soak_window, labels=args.labels,
                      overrides=parse_overrides(args.set))
    result = run_benchmark(cfg)
    lat = result["latency_ms"]
    p95 = "n/a" if lat["p95"] is None else f"{lat['p95']:.1f} ms"
    print(f"peak sustainable {result['throughput_fps']:.1f} fps; at "
          f"{result['bag']['recorded_fps']:.1f} fps: p95 latency {p95}, dropped "
          f"{100 * result['dropped_fraction']:.1f} %; report: {Path(args.out) / 'report.md'}")
    for name, row in result.get("compare", {}).items():
        if name in ("container", "ratios"):
            continue
        if "skipped" in row:
            print(f"{name}: not run: {row['skipped']}")
            continue
        p95c = row["latency_ms"]["p95"]
        ratio = result["compare"]["ratios"][name]
        verdict = {True: "met", False: "MISSED", None: "n/a"}[ratio["met"]]
        print(f"{name}: peak {row['throughput_fps']:.1f} fps (container {ratio['container_over']}x"
              f", target >= {ratio['target']:g}x: {verdict}), p95 latency "
              f"{'n/a' if p95c is None else f'{p95c:.1f} ms'}, dropped "
              f"{100 * row['dropped_fraction']:.1f} %")
    events = result.get("event_accuracy")
    if events:
        h = events["runs"][0]
        print(f"event accuracy (run 1): repetitions {h['repetitions_counted']}/"
              f"{h['repetitions_truth']}, label accuracy {h['label_accuracy']}, onset error "
              f"{h['onset_mean_abs_error_frames']} frames, false triggers/min "
              f"{h['false_triggers_per_min']}")
    soak = result.get("soak")
    if soak:
        print(f"soak {soak['minutes']:g} min: RSS {soak['rss_start_mb']:.0f} -> "
              f"{soak['rss_end_mb']:.0f} MB ({soak['rss_slope_mb_per_min']} MB/min), p50 drift "
              f"{soak['latency_p50_drift_ms_per_min']} ms/min, restarts {soak['restart_count']}")
    return 0
