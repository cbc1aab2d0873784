"""``rehab session``: run a therapy plan's exercise goals through the RunExercise server.

    rehab session --plan plan.yaml --input SOURCE --out DIR
    rehab session --exercise squat --repetitions 5 --input SOURCE --out DIR

The goals go, one after another, to a real RunExercise action server through
a real action client (``rehab_coach.session_runner``) while the input is
processed: a video / bag / camera runs through the perception stack with the
server loaded into the same container (``rehab_perception.run_graph``); a
recorded skeleton file (``.npz``, see ``rehab_core.io.skeleton_store``) is
replayed through the core's streaming classifier and repetition counter.
The first goal is active from the first frame; each next goal starts when
the previous one ends; a goal still running when the input ends is
cancelled and recorded with reason "input_ended". The report is made from
the goals' action results only (``rehab_coach.session_report``).

Writes ``DIR/session.json`` (one entry per goal: exercise, success,
repetitions_done, reason, durations, confidence, quality, and each repetition's
verdict with what the classifier named over it), ``DIR/report.md``,
``DIR/report.html`` (the therapist page's report: self-contained, per-repetition
plots) and ``DIR/session.png`` (repetitions and confidence over time). No image is
stored (privacy).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rehab_cli.signals import stop_on_signals
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


def _check_exercises(goals: list[Any], labels: Path) -> None:
    """Every goal names one of the model's exercises: said now, not as a rejected goal
    in a report after the whole input has run."""
    from rehab_coach.goal_exercises import goal_exercises
    from rehab_core.coaching import same_exercise

    valid = goal_exercises("", str(labels))
    for goal in goals:
        if not any(same_exercise(goal.exercise, name) for name in valid):
            raise ConfigError(f"unknown exercise {goal.exercise!r}: the model "
                              f"{labels.parent.name} knows {', '.join(valid)}")


def run(args: argparse.Namespace) -> int:
    from rehab_coach import session_report
    from rehab_coach.session_runner import SessionRunner, replay_skeletons, server_params
    from rehab_core.paths import repo_file

    goals = _goals(args)
    model_dir = repo_file(args.model)
    labels = model_dir / "labels.txt"
    if not labels.is_file():
        raise RehabError(f"exercise model not found: {labels} (train one or pass --model)")
    _check_exercises(goals, labels)
    replay = str(args.input).endswith(".npz")
    if not replay and not Path(args.input).exists() and not str(args.input).isdigit():
        raise RehabError(f"input not found: {args.input}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    domain = int(os.environ.get("ROS_DOMAIN_ID", 150 + os.getpid() % 80))
    params = server_params(labels, args.person_lost_timeout)
    with stop_on_signals() as stop:  # SIGINT / SIGTERM: end the goal, keep every output
        runner = SessionRunner(goals, quiet=args.quiet, interrupt=stop)
        if replay:
            replay_skeletons(runner, args.input, model_dir, params, args.speed, domain)
        else:
            _run_graph(runner, args, params, domain)
    session_report.write_outputs(out, args.input, args.model, runner.close(),
                                 interrupted=stop.is_set())
    if not args.quiet:
        done = sum(r["success"] for r in runner.records)
        print(f"session: {done}/{len(runner.records)} goals completed -> {out / 'session.json'}")
    if stop.is_set():
        print(f"rehab session: interrupted by {stop.signal_name}; outputs kept", flush=True)
        return stop.exit_code
    return 0


def _run_graph(runner: Any, args: argparse.Namespace, params: dict[str, Any],
               domain: int) -> None:
    """The perception stack on the input, the RunExercise server in its container."""
    from rehab_coach.session_runner import with_server
    from rehab_core.paths import repo_file
    from rehab_perception.run_graph import run_graph
    from rehab_runtime import stack_config

    path = Path(args.params) if args.params else repo_file(DEFAULT_PARAMS)
    if not path.is_file():
        raise RehabError(f"stack parameter file not found: {path}")
    stack = with_server(stack_config.load_stack(path), params)
    # the recorder writes under --out (finding 4)
    stack_config.set_param(stack, "recorder", "output_dir", str(Path(args.out) / "recording"))
    run_graph(stack, args.input, stop=runner.stopping, domain_id=domain, attach=runner.attach)
