"""``rehab run INPUT --out DIR``: the perception graph over a video, bag or camera.

The input is opened first, so a missing file, an unreadable video, an empty
bag or a camera that doesn't open is one clear error line (exit code 2)
before any ROS node starts. Then the real rclpy graph runs in this process
(the component container, frames handed over by reference) and every source
frame's outputs are streamed to ``predictions.jsonl``; ``summary.json`` is
written at the end (see ``rehab_core.reporting.run_outputs`` for the fields).
When the input ends, the repetition counter closes the repetition in
progress (as a ``RunExercise`` goal does on input_ended): a recording cut at
the top of its last repetition still counts it.

It always ends, and always with its outputs: Ctrl-C (SIGINT) or SIGTERM
stops the source, brings the graph down in order (the recorder's bag gets
its metadata.yaml, annotated.mp4 its trailer) and writes summary.json with
``interrupted: true`` (exit 130 / 143); a graph that stops making progress
for ``--stall-timeout`` seconds is ended by a watchdog with a clear error
and exit 3, its partial outputs kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rehab_cli.signals import stop_on_signals
from rehab_core.errors import RehabError

DEFAULT_PARAMS = "launch/config/stack.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the perception graph over a video, rosbag2 or camera",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="video file, rosbag2 (dir, .mcap or .db3), skeleton file "
                        "(.npz), camera index or stream URL (rtsp://...)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--params", default=None, help=f"stack parameters (default {DEFAULT_PARAMS})"
    )
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument("--topic", default=None, help="image topic when the bag has several")
    parser.add_argument("--no-video", action="store_true", help="don't write annotated.mp4")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument("--stall-timeout", type=float, default=60.0, metavar="S",
                        help="end the run with an error when no frame moves for S seconds "
                             "(default 60)")
    parser.set_defaults(func=run)


def _params_path(arg: str | None) -> Path:
    from rehab_core.paths import repo_file

    path = Path(arg) if arg else repo_file(DEFAULT_PARAMS)
    if not path.is_file():
        raise RehabError(f"parameter file not found: {path}")
    return path


def run(args: argparse.Namespace) -> int:
    from rehab_core.io.sources import SKELETON_KINDS, input_kind, open_frame_source
    from rehab_core.reporting.run_outputs import RunRecorder, frame_record

    max_frames = args.max_frames
    if max_frames is not None and max_frames <= 0:
        raise RehabError("--max-frames must be positive")
    if not args.stall_timeout > 0:
        raise RehabError("--stall-timeout must be positive")
    source = open_frame_source(args.input, max_frames=max_frames, topic=args.topic)
    params = _params_path(args.params)
    kind = input_kind(args.input)

    from rehab_perception.run_graph import run_graph
    from rehab_runtime import stack_config

    stack = stack_config.load_stack(params)
    if kind in SKELETON_KINDS:
        _start_at_tracker(stack)
    if args.topic:
        stack_config.set_param(stack, "image_source", "bag_topic", args.topic)
    out = Path(args.out)
    video = None if args.no_video or kind in SKELETON_KINDS else out / "annotated.mp4"
    stack_config.set_param(stack, "overlay", "video_path", str(video) if video else "")
    stack_config.set_param(stack, "recorder", "output_dir", str(out / "recording"))
    # it closes the last repetition itself, into the summary (_close_counting)
    stack_config.set_param(stack, "repetition_counter", "close_at_input_end", False)
    recorder = RunRecorder(out, input_name=str(args.input), input_fps=source.fps)
    current_action: dict | None = None
    started = time.perf_counter()

    def on_frame(result) -> None:
        nonlocal current_action
        row = result.to_dict()
        if "action" in row:
            current_action = row["action"]
        recorder.add(frame_record(row, current_action))
        if not args.quiet and result.index % 100 == 0:
            rate = recorder.frames / max(time.perf_counter() - started, 1e-6)
            label = current_action["label"] if current_action else "-"
            print(f"  frame {result.index:6d}  t={row['t']:7.2f}s  {rate:5.1f} fps  {label}",
                  flush=True)

    from rehab_perception.run_graph import GraphStalled

    stalled: GraphStalled | None = None
    with stop_on_signals() as stop:
        try:
            graph = run_graph(stack, str(args.input), on_frame_result=on_frame,
                              max_frames=max_frames, domain_id=_private_domain_id(), stop=stop,
                              stall_timeout_s=args.stall_timeout,
                              attach=lambda c: _close_counting(c, recorder, stop))
        except GraphStalled as err:
            stalled, graph = err, err.run
            recorder.error(str(err))
    for name, stats in graph.components.items():
        for reason, count in stats.get("drops", {}).items():
            recorder.error(f"{name}: {count} frames dropped: {reason}")
    for problem in graph.errors:
        recorder.error(problem)
    extras = {
        "input_kind": kind,
        "interrupted": graph.interrupted,
        "skipped_components": graph.skipped,
        "components": graph.components,
        "annotated_video": str(video) if video and video.exists() else None,
    }
    summary = recorder.close(time.perf_counter() - started, extras=extras)
    _print_summary(summary, out)
    if stalled is not None:
        print(f"rehab run: error: {stalled}", file=sys.stderr, flush=True)
        if not graph.clean_shutdown:  # a stuck callback thread would block interpreter exit
            sys.stdout.flush()
            os._exit(3)
        return 3
    if graph.interrupted:
        print(f"rehab run: interrupted by {stop.signal_name}; outputs kept", file=sys.stderr)
        return stop.exit_code
    return 0


def _close_counting(container, recorder, stop):
    """At the input's end (not on Ctrl-C) the repetition counters close the repetition in
    progress, as a goal does on input_ended; they go into the summary."""
    from rehab_perception.repetition_counter_node import RepetitionCounterNode
    from rehab_perception.results import repetition_record

    counters = [n for n in container.nodes.values() if isinstance(n, RepetitionCounterNode)]

    def at_end() -> None:
        if stop.is_set():
            return
        for node in counters:
            recorder.add_repetitions([repetition_record(p) for p in node.end_of_input()])
    return at_end


#: stages that need pixels; a skeleton bag or file enters the graph after them
IMAGE_STAGES = ("pose_estimator", "object_detector", "reach_detector", "overlay")


def _start_at_tracker(stack: dict) -> None:
    """Drop the image stages from the stack (a skeleton bag or file replaces them)."""
    from rehab_runtime import stack_config

    stack_config.remove_components(stack, IMAGE_STAGES)


def _private_domain_id() -> int:
    """A ROS domain of its own, so a run never mixes with a stack already running."""
    import os

    return int(os.environ.get("REHAB_RUN_DOMAIN_ID", 200 + os.getpid() % 30))


def _print_summary(summary: dict, out: Path) -> None:
    print(f"rehab run: {summary['frames']} frames at {summary['processed_fps']} fps "
          f"(input {summary['input_fps']} fps)")
    for action in summary["actions"]:
        print(f"  {action['label']:>15s}  {action['start_s']:7.2f}-{action['end_s']:7.2f} s  "
              f"confidence {action['confidence']:.2f}")
    for label, count in summary["repetitions"].items():
        # "unknown": a movement repeated while no exercise was named (the generic counter)
        what = "a movement not recognised as an exercise" if label == "unknown" else label
        print(f"  repetitions of {what}: {count}")
    for reach in summary["reaches"]:
        print(f"  reach ({reach['side']}): onset {reach['onset_s']} s, "
              f"offset {reach['offset_s']} s")
    if summary["errors"]:
        print(f"  {len(summary['errors'])} problems, e.g. {summary['errors'][0]}")
    print(f"  outputs: {out / 'summary.json'}, {out / 'predictions.jsonl'}")
    print(json.dumps({k: summary[k] for k in ("frames", "repetitions")}))
