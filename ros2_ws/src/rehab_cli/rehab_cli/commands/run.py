"""``rehab run INPUT --out DIR``: the perception graph over a video, bag or camera.

The input is opened first, so a missing file, an unreadable video, an empty
bag or a camera that doesn't open is one clear error line (exit code 2)
before any ROS node starts. Then the real rclpy graph runs in this process
(the component container, frames handed over by reference) and every source
frame's outputs are streamed to ``predictions.jsonl``; ``summary.json`` is
written at the end (see ``rehab_core.reporting.run_outputs`` for the fields).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rehab_core.errors import RehabError

DEFAULT_PARAMS = "launch/config/stack.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the perception graph over a video, rosbag2 or camera",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="video file, rosbag2 (dir, .mcap or .db3) or camera index")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--params", default=None, help=f"stack parameters (default {DEFAULT_PARAMS})"
    )
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument("--topic", default=None, help="image topic when the bag has several")
    parser.add_argument("--no-video", action="store_true", help="don't write annotated.mp4")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.set_defaults(func=run)


def _params_path(arg: str | None) -> Path:
    from rehab_core.paths import repo_file

    path = Path(arg) if arg else repo_file(DEFAULT_PARAMS)
    if not path.is_file():
        raise RehabError(f"parameter file not found: {path}")
    return path


def run(args: argparse.Namespace) -> int:
    from rehab_core.io.sources import open_frame_source
    from rehab_core.reporting.run_outputs import RunRecorder

    max_frames = args.max_frames
    if max_frames is not None and max_frames <= 0:
        raise RehabError("--max-frames must be positive")
    source = open_frame_source(args.input, max_frames=max_frames, topic=args.topic)
    params = _params_path(args.params)

    from rehab_perception.graph import run_graph

    out = Path(args.out)
    recorder = RunRecorder(out, input_name=str(args.input), input_fps=source.fps)
    started = time.perf_counter()

    def on_frame(result) -> None:
        recorder.add(result)
        if not args.quiet and result.index % 100 == 0:
            rate = recorder.frames / max(time.perf_counter() - started, 1e-6)
            print(f"  frame {result.index:6d}  t={result.t:7.2f}s  {rate:5.1f} fps", flush=True)

    extras = run_graph(
        params,
        source,
        on_frame_result=on_frame,
        annotated_video=None if args.no_video else out / "annotated.mp4",
    )
    summary = recorder.close(time.perf_counter() - started, extras=extras or None)
    _print_summary(summary, out)
    return 0


def _print_summary(summary: dict, out: Path) -> None:
    print(f"rehab run: {summary['frames']} frames at {summary['processed_fps']} fps "
          f"(input {summary['input_fps']} fps)")
    for action in summary["actions"]:
        print(f"  {action['label']:>15s}  {action['start_s']:7.2f}-{action['end_s']:7.2f} s  "
              f"confidence {action['confidence']:.2f}")
    for label, count in summary["repetitions"].items():
        print(f"  repetitions of {label}: {count}")
    for reach in summary["reaches"]:
        print(f"  reach ({reach['side']}): onset {reach['onset_s']} s, "
              f"offset {reach['offset_s']} s")
    if summary["errors"]:
        print(f"  {len(summary['errors'])} problems, e.g. {summary['errors'][0]}")
    print(f"  outputs: {out / 'summary.json'}, {out / 'predictions.jsonl'}")
    print(json.dumps({k: summary[k] for k in ("frames", "repetitions")}))
