"""Run a plan's goals one after another through the RunExercise action server.

Why here: ``rehab session`` (and any other client) needs the same sequencing,
and the report must only say what an action client gets. ``SessionRunner``
is such a client, on a node in the server's own container: the first goal is
active before the first frame (``attach`` returns once it is accepted), each
next goal starts when the previous one ends, a goal still running when the
input ends is cancelled and recorded as "input_ended" (Ctrl-C: "interrupted").
Each record is built from the goal's result only (``session_report``).

The input is fed by the caller: the perception graph with the server loaded
into its container (``with_server`` + ``rehab_perception.run_graph``'s
``attach``), or a recorded skeleton file replayed on the container's
in-process bus (``replay_skeletons``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rclpy
from rclpy.action import ActionClient

from rehab_coach import session_report
from rehab_core.coaching import PlanGoal
from rehab_core.errors import RehabError
from rehab_interfaces.action import RunExercise
from rehab_runtime import conversions, stack_config

SERVER = "run_exercise_server"
#: longest wait for the server's answer to a goal, a cancel or a result (s)
ANSWER_TIMEOUT_S = 30.0


def server_params(labels_file: str | Path, person_lost_timeout_s: float) -> dict[str, Any]:
    return {"labels_file": str(labels_file), "person_lost_timeout_s": float(person_lost_timeout_s)}


def with_server(stack: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The stack with the RunExercise server loaded next to the perception stages (a stack
    that already has one keeps it, with ``params`` set): its inputs then come over the
    in-process bus. It watches tracked skeletons when the stack has a tracker."""
    stack = stack_config.load_stack(stack)
    specs = stack_config.components(stack)
    if not any(s.name == SERVER for s in specs):
        container = stack_config.node_params(stack, stack_config.CONTAINER)
        stack_config.set_param(stack, stack_config.CONTAINER, "components",
                               [*container.get("components", []), SERVER])
        if any(s.plugin == "skeleton_tracker" for s in specs):
            stack_config.set_param(stack, stack_config.CONTAINER, "remappings",
                                   [*(container.get("remappings") or []),
                                    f"{SERVER}:skeletons:=tracked_skeletons"])
    for key, value in params.items():
        stack_config.set_param(stack, SERVER, key, value)
    return stack


class SessionRunner:
    """Sends ``goals`` in turn; ``records`` holds one entry per goal when ``finish`` returns.

    ``stopping`` is set when the input may end (every goal is over, or ``interrupt`` was
    set); the caller sets ``input_ended`` (through ``finish``) when the input is over.
    """

    def __init__(self, goals: Sequence[PlanGoal], *, quiet: bool = False,
                 interrupt: threading.Event | None = None) -> None:
        self.goals = list(goals)
        self.quiet = quiet
        self.interrupt = interrupt or threading.Event()
        self.stopping = threading.Event()
        self.input_ended = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, container: Any) -> Callable[[], None]:
        """Start on the server loaded and spinning in ``container``; returns ``finish``, to
        call when the input is over (before the container goes down)."""
        node = rclpy.create_node("rehab_session", context=container.context)
        container.add_node(node)
        client = ActionClient(node, RunExercise, "run_exercise")
        if not client.wait_for_server(timeout_sec=10):
            container.executor.remove_node(node)
            node.destroy_node()
            raise RehabError("RunExercise server did not come up")
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True,
                                        name="rehab_session_goals")
        self._thread.start()
        self._ready.wait()  # the first goal accepted (or none left): the input may begin

        def finish() -> None:
            self.input_ended.set()
            self._thread.join()
            container.executor.remove_node(node)
            client.destroy()
            node.destroy_node()
            if self.error is not None:
                raise self.error

        return finish

    def close(self) -> list[dict[str, Any]]:
        """The records, a goal never reached (the input never started) as not started."""
        why = "interrupted" if self.interrupt.is_set() else "input_ended"
        self.records += [session_report.not_started(g, why)
                         for g in self.goals[len(self.records):]]
        return self.records

    # -- the goals, in their own thread --------------------------------------------------

    def _run(self, client: ActionClient) -> None:
        try:
            for i, goal in enumerate(self.goals):
                if self.interrupt.is_set():
                    self.records.append(session_report.not_started(goal, "interrupted"))
                elif self.input_ended.is_set():
                    self.records.append(session_report.not_started(goal, "input_ended"))
                else:
                    self.records.append(self._run_goal(client, goal, i))
        except BaseException as err:
            self.error = err
        finally:
            self.stopping.set()  # every goal is over: the input can end
            self._ready.set()

    def _run_goal(self, client: ActionClient, goal: PlanGoal, i: int) -> dict[str, Any]:
        n, shown = len(self.goals), [-1]

        def progress(msg: Any) -> None:
            fb = msg.feedback
            if not self.quiet and fb.repetitions_done != shown[0]:
                shown[0] = fb.repetitions_done
                print(f"  [{i + 1}/{n}] {goal.exercise}: {fb.repetitions_done}/"
                      f"{goal.repetitions} sees {fb.current_label or '-'} "
                      f"({fb.confidence:.2f})", end="\r", flush=True)

        handle = _wait(client.send_goal_async(RunExercise.Goal(
            exercise=goal.exercise, repetitions=goal.repetitions,
            time_limit_s=goal.time_limit_s), feedback_callback=progress), "goal response")
        if not handle.accepted:
            return session_report.not_started(goal, "rejected: unknown exercise or bad goal")
        self._ready.set()  # the first goal is active from the first frame
        result_future = handle.get_result_async()
        why = ""
        while not result_future.done():
            if not why and (self.input_ended.is_set() or self.interrupt.is_set()):
                why = "interrupted" if self.interrupt.is_set() else "input_ended"
                self.stopping.set()  # an interrupted graph ends in order (bag, video closed)
                handle.cancel_goal_async()
                break
            time.sleep(0.01)
        msg = _wait(result_future, "result").result
        reason = why if msg.reason == "canceled" and why else msg.reason
        if not self.quiet:
            print(f"  [{i + 1}/{n}] {goal.exercise}: {msg.repetitions_done}/{goal.repetitions}"
                  f" -> {reason}" + " " * 20)
        return session_report.goal_record(
            goal, conversions.session_result_from_msg(msg, goal.exercise), reason)


def _wait(future: Any, what: str) -> Any:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while not future.done():
        if time.monotonic() > deadline:
            raise RehabError(f"RunExercise server: no {what} within {ANSWER_TIMEOUT_S:g} s")
        time.sleep(0.01)
    return future.result()


def replay_skeletons(runner: SessionRunner, path: str | Path, model_dir: Path,
                     params: dict[str, Any], speed: float, domain_id: int) -> None:
    """Replay a recorded skeleton file (``.npz``) through the core's streaming classifier
    and repetition counter into a container holding only the server, at ``speed`` x real
    time, on the in-process bus (in order, never dropped; see ``BusFeed``)."""
    from rclpy.context import Context

    from rehab_coach.recorded_stream import BusFeed, sequence_frames
    from rehab_core.io.skeleton_store import load_skeletons
    from rehab_core.recognition.streaming import StreamingClassifier
    from rehab_runtime.container import ComponentContainer

    seq = load_skeletons(path)
    classifier = StreamingClassifier.from_bundle(model_dir)
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    container = ComponentContainer(context=context, num_threads=4)
    try:
        container.load("run_exercise_server", SERVER, params)
        BusFeed.register(container.bus)  # before the server activates: its inputs take the bus
        container.bring_up()
        container.spin_in_background()
        finish = runner.attach(container)
        try:
            feed, start, t0 = BusFeed(container.bus), time.monotonic(), None
            for frame in sequence_frames(seq, classifier):
                if runner.stopping.is_set():
                    break
                t = frame.skeletons.stamp_ns * 1e-9
                t0 = t if t0 is None else t0
                delay = (t - t0) / speed - (time.monotonic() - start)
                if delay > 0:
                    time.sleep(delay)
                feed.publish(frame)
        finally:
            finish()
    finally:
        container.shutdown()
        rclpy.shutdown(context=context)
