"""``rehab session``: run a therapy plan's exercise goals through the RunExercise server.

    rehab session --plan plan.yaml --input SOURCE --out DIR
    rehab session --exercise squat --repetitions 5 --input SOURCE --out DIR

The goals go, one after another, to a real RunExercise action server through
a real action client while the input is processed: a video / bag / camera
runs through the perception stack (``rehab_perception.run_graph.run_graph``); a
recorded skeleton file (``.npz``, see ``rehab_core.io.skeleton_store``) is
replayed through the core's streaming classifier and repetition counter.
The first goal is active from the first frame; each next goal starts when
the previous one ends; a goal still running when the input ends is
cancelled and recorded with reason "input_ended".

Writes ``DIR/session.json`` (one entry per goal: exercise, success,
repetitions_done, reason, durations, confidence, quality), ``DIR/report.md``,
``DIR/report.html`` (the therapist page's report: self-contained, per-repetition
plots) and ``DIR/session.png`` (repetitions and confidence over time). No image is
stored (privacy).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import Any

from rehab_cli.signals import stop_on_signals
from rehab_core import jsonsafe
from rehab_core.errors import ConfigError, RehabError

DEFAULT_MODEL = "models/exercise_stgcn"
DEFAULT_PARAMS = "launch/config/stack.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("session", help="run exercise goals through the RunExercise server",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", help="YAML plan: goals: [{exercise, repetitions, time_limit_s}]")
    p.add_argument("--exercise", help="single goal: exercise name")
    p.add_argument("--repetitions", type=int, default=5, help="single goal: target repetitions")
    p.add_argument("--time-limit", type=float, default=0.0, help="single goal: seconds, 0 = none")
    p.add_argument("--input", required=True, help="video, rosbag2, camera index or skeletons .npz")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--model", default=DEFAULT_MODEL, help="exercise model bundle folder")
    p.add_argument("--params", default=None, help=f"stack parameters (default {DEFAULT_PARAMS})")
    p.add_argument("--speed", type=float, default=8.0,
                   help="replay speed of a skeleton file (x real time)")
    p.add_argument("--person-lost-timeout", type=float, default=3.0, help="seconds")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def _goals(args: argparse.Namespace) -> list[Any]:
    from rehab_core.coaching.plan import PlanGoal, load_plan

    if bool(args.plan) == bool(args.exercise):
        raise ConfigError("give either --plan or --exercise")
    if args.plan:
        return load_plan(args.plan)
    if args.repetitions < 1 or args.time_limit < 0:
        raise ConfigError("--repetitions must be > 0 and --time-limit >= 0")
    return [PlanGoal(args.exercise, args.repetitions, args.time_limit)]


class _Feeder:
    """Plays the input on the server's topics in a thread; ``done`` is set at its end."""

    def __init__(self, node: Any, args: argparse.Namespace, model_dir: Path,
                 bus: Any = None) -> None:
        from rehab_coach.recorded_stream import BusFeed, StreamPublisher

        self.publisher = StreamPublisher(node)
        #: a skeleton file is handed to the server in-process (see BusFeed), never dropped
        self.replay = BusFeed(bus) if bus is not None else self.publisher
        self.args, self.model_dir = args, model_dir
        self.done = threading.Event()
        #: set when the session is over: frames still coming from the graph are ignored
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.frames = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            if str(self.args.input).endswith(".npz"):
                self._replay_skeletons()
            else:
                self._run_graph()
        except BaseException as err:
            self.error = err
        finally:
            self.done.set()

    def _replay_skeletons(self) -> None:
        from rehab_coach.recorded_stream import sequence_frames
        from rehab_core.io.skeleton_store import load_skeletons
        from rehab_core.recognition.streaming import StreamingClassifier

        seq = load_skeletons(self.args.input)
        classifier = StreamingClassifier.from_bundle(self.model_dir)
        start, t0 = time.monotonic(), None
        for frame in sequence_frames(seq, classifier):
            t = frame.skeletons.stamp_ns * 1e-9
            t0 = t if t0 is None else t0
            delay = (t - t0) / self.args.speed - (time.monotonic() - start)
            if delay > 0:
                time.sleep(delay)
            self.replay.publish(frame)
            self.frames += 1

    def _run_graph(self) -> None:
        from rehab_coach.recorded_stream import StreamFrame
        from rehab_core.paths import repo_file
        from rehab_perception.run_graph import run_graph

        params = Path(self.args.params) if self.args.params else repo_file(DEFAULT_PARAMS)
        if not params.is_file():
            raise RehabError(f"stack parameter file not found: {params}")

        from rehab_runtime import stack_config

        stack = stack_config.load_stack(params)  # the recorder writes under --out (finding 4)
        stack_config.set_param(stack, "recorder", "output_dir",
                               str(Path(self.args.out) / "recording"))

        def on_frame(result: Any) -> None:
            if result.skeletons is None or self.stopping.is_set():
                return
            action = result.action[-1] if isinstance(result.action, list) and result.action \
                else (result.action or None)
            try:
                self.publisher.publish(StreamFrame(result.skeletons, action,
                                                   list(result.repetitions or [])))
            except Exception:
                if self.stopping.is_set():  # the session ended while this frame was in flight
                    return
                raise
            self.frames += 1

        run_graph(stack, self.args.input, on_frame, stop=self.stopping)


def run(args: argparse.Namespace) -> int:
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.context import Context

    from rehab_core.paths import repo_file
    from rehab_interfaces.action import RunExercise
    from rehab_runtime.container import ComponentContainer

    goals = _goals(args)
    model_dir = repo_file(args.model)
    labels = model_dir / "labels.txt"
    if not labels.is_file():
        raise RehabError(f"exercise model not found: {labels} (train one or pass --model)")
    if not str(args.input).endswith(".npz") and not Path(args.input).exists() \
            and not str(args.input).isdigit():
        raise RehabError(f"input not found: {args.input}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    context = Context()
    domain = int(os.environ.get("ROS_DOMAIN_ID", 150 + os.getpid() % 80))
    rclpy.init(context=context, domain_id=domain)
    container = ComponentContainer(context=context, num_threads=4)
    server = container.load("run_exercise_server", "run_exercise_server", {
        "labels_file": str(labels), "person_lost_timeout_s": float(args.person_lost_timeout)})
    node = rclpy.create_node("rehab_session", context=context)
    container.add_node(node)
    container.spin_in_background()
    records: list[dict[str, Any]] = []
    feeder: _Feeder | None = None
    signals = stop_on_signals()
    stop = signals.__enter__()  # SIGINT / SIGTERM: end the goal, keep every output
    replay_bus = container.bus if str(args.input).endswith(".npz") else None
    if replay_bus is not None:  # before the server activates: its inputs then take the bus
        from rehab_coach.recorded_stream import BusFeed

        BusFeed.register(replay_bus)
    try:
        container.bring_up()
        client = ActionClient(node, RunExercise, "run_exercise")
        if not client.wait_for_server(timeout_sec=10):
            raise RehabError("RunExercise server did not come up")
        feeder = _Feeder(node, args, model_dir, replay_bus)
        for i, goal in enumerate(goals):
            if stop.is_set():
                records.append({"exercise": goal.exercise, "repetitions_target": goal.repetitions,
                                "success": False, "repetitions_done": 0,
                                "reason": "interrupted", "started": False})
                continue
            if feeder.done.is_set():
                records.append({"exercise": goal.exercise, "repetitions_target": goal.repetitions,
                                "success": False, "repetitions_done": 0,
                                "reason": "input_ended", "started": False})
                continue
            records.append(_run_goal(client, server, feeder, goal, i, len(goals), args.quiet,
                                     stop))
        if feeder.error is not None:
            raise feeder.error
    finally:
        if feeder is not None:
            feeder.stopping.set()
            if feeder.thread.is_alive():
                feeder.thread.join(timeout=30)
        container.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
        signals.__exit__(None, None, None)
    _write_outputs(out, args, goals, records, interrupted=stop.is_set())
    if not args.quiet:
        done = sum(r["success"] for r in records)
        print(f"session: {done}/{len(records)} goals completed -> {out / 'session.json'}")
    if stop.is_set():
        print(f"rehab session: interrupted by {stop.signal_name}; outputs kept", flush=True)
        return stop.exit_code
    return 0


def _run_goal(client, server, feeder: _Feeder, goal, i: int, n: int, quiet: bool,
              stop: threading.Event) -> dict[str, Any]:
    from rehab_interfaces.action import RunExercise

    shown = [-1]

    def progress(msg: Any) -> None:
        fb = msg.feedback
        if not quiet and fb.repetitions_done != shown[0]:
            shown[0] = fb.repetitions_done
            print(f"  [{i + 1}/{n}] {goal.exercise}: {fb.repetitions_done}/{goal.repetitions} "
                  f"sees {fb.current_label or '-'} ({fb.confidence:.2f})", end="\r", flush=True)

    fut = client.send_goal_async(RunExercise.Goal(
        exercise=goal.exercise, repetitions=goal.repetitions, time_limit_s=goal.time_limit_s),
        feedback_callback=progress)
    while not fut.done():
        time.sleep(0.01)
    handle = fut.result()
    if not handle.accepted:
        return {"exercise": goal.exercise, "repetitions_target": goal.repetitions,
                "success": False, "repetitions_done": 0, "started": False,
                "reason": "rejected: unknown exercise or bad goal"}
    session = server.session
    if i == 0:
        feeder.start()  # the first goal is active from the first frame
    res_fut = handle.get_result_async()
    ended_input = interrupted = False
    while not res_fut.done():
        if feeder.done.is_set() and not ended_input and not interrupted:
            ended_input = True
            handle.cancel_goal_async()
        if stop.is_set() and not interrupted and not ended_input:
            interrupted = True
            feeder.stopping.set()  # the graph ends in order (bag, video, JSONL finished)
            handle.cancel_goal_async()
        time.sleep(0.01)
    result = res_fut.result().result
    reason = result.reason
    if result.reason == "canceled" and (ended_input or interrupted):
        reason = "interrupted" if interrupted else "input_ended"
    r = session.result()
    if not quiet:
        print(f"  [{i + 1}/{n}] {goal.exercise}: {result.repetitions_done}/{goal.repetitions} "
              f"-> {reason}" + " " * 20)
    return {
        "exercise": goal.exercise, "repetitions_target": goal.repetitions,
        "time_limit_s": goal.time_limit_s, "started": True,
        "success": bool(result.success), "repetitions_done": int(result.repetitions_done),
        "reason": reason, "repetition_durations_s": [round(float(d), 3)
                                                     for d in result.repetition_durations_s],
        "mean_confidence": round(float(result.mean_confidence), 4),
        "quality": r.to_dict()["quality"] if r else [],
        "started_t": r.started_t if r else None, "ended_t": r.ended_t if r else None,
        "timeline": [{k: v for k, v in s.items()} for s in session.timeline],
        "counted_end_t": [c.end_t for c in session.counted],
        "ignored": r.to_dict()["ignored"] if r else [],
    }


def _write_outputs(out: Path, args: argparse.Namespace, goals, records,
                   interrupted: bool = False) -> None:
    summary = {"input": str(args.input), "model": str(args.model), "interrupted": interrupted,
               "goals": [{k: v for k, v in r.items() if k != "timeline"} for r in records]}
    (out / "session.json").write_text(jsonsafe.dumps(summary, indent=2))
    plot = _plot(out / "session.png", records)
    lines = ["# Exercise session", "", f"Input: `{args.input}`  ", f"Model: `{args.model}`", "",
             "| # | exercise | target | done | success | reason | mean confidence |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, r in enumerate(records, 1):
        lines.append(f"| {i} | {r['exercise']} | {r['repetitions_target']} | "
                     f"{r['repetitions_done']} | {'yes' if r['success'] else 'no'} | "
                     f"{r['reason']} | {r.get('mean_confidence', 0):.2f} |")
    for i, r in enumerate(records, 1):
        if r.get("quality"):
            lines += ["", f"## Goal {i}: {r['exercise']} (per repetition)", "",
                      "| rep | duration s | ROM deg | key joint | tempo s | DTW to reference |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for k, q in enumerate(r["quality"], 1):
                def fmt(v: Any) -> str:
                    return "-" if v is None or v == -1.0 else f"{v:.2f}"
                lines.append(f"| {k} | {fmt(q['duration_s'])} | {fmt(q['range_of_motion_deg'])}"
                             f" | {q['key_joint']} | {fmt(q['tempo_s'])} | "
                             f"{fmt(q['reference_distance'])} |")
    if plot:
        lines += ["", "![repetitions and confidence over time](session.png)"]
    lines += ["", "No images were stored: only skeleton-derived numbers."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    from rehab_core.reporting.session_html import session_report_html

    (out / "report.html").write_text(session_report_html(
        records, "Exercise session", f"input: {args.input}, model: {args.model}"))


def _plot(path: Path, records) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = [r for r in records if r.get("timeline")]
    if not started:
        return False
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for r in started:
        t = [s["t"] for s in r["timeline"]]
        ax1.step(t, [s["repetitions"] for s in r["timeline"]], where="post",
                 label=r["exercise"])
        ax2.plot(t, [s["confidence"] for s in r["timeline"]], label=r["exercise"])
        for end_t in r["counted_end_t"]:
            ax1.axvline(end_t, color="grey", lw=0.5)
    ax1.set_ylabel("repetitions")
    ax1.legend(loc="upper left")
    ax2.set_ylabel("classifier confidence")
    ax2.set_xlabel("input time (s)")
    ax2.set_ylim(0, 1.05)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
