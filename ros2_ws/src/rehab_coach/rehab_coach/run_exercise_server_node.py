"""RunExercise action server: announce an exercise, watch the patient, count, report.

Inputs: ``action`` (ActionPrediction), ``repetitions`` (RepetitionEvent) and
``skeletons`` (Skeleton2DArray, for presence and, with
``count_from_skeletons``, for counting here with DTW quality). Outputs: the
action's feedback and result, ``display`` (std_msgs/String: what the patient
is asked to do, like the thesis's "Displayer"; "That is not ..." whenever the
patient does another exercise), ``coach_status`` (CoachStatus, transient local:
goal, count, state and each repetition's quality, on every change; the patient
screen and the therapist page render it) and, when enabled, ``cmd_vel``
(a small robot reaction: a nod for a counted repetition, a shake for the
wrong exercise).

Goal policy:

* the exercise must be one of the loaded model's classes (``labels_file``,
  or ``exercises`` to override); otherwise the goal is rejected and the valid
  names are logged; ``repetitions`` must be > 0 (for a hold, plank: the
  seconds to hold) and ``time_limit_s`` >= 0;
* **preemption**: a new accepted goal aborts the running one with reason
  "preempted" (one patient, one exercise at a time);
* cancel -> result reason "canceled" (status CANCELED); completed -> SUCCEEDED;
  timeout / person_lost / preempted -> ABORTED, with the reason in the result;
* a file or bag played to its end (an image source's ``input_ended`` on
  ``/diagnostics``, then no input for ``INPUT_DRAIN_S``) ends the goal as
  ``input_ended`` (the repetition in progress counts), not ``person_lost``.

Time is the input's own time (``SourceClock``), so a replayed video and a live camera
are judged alike; the goal is active from the first frame that arrives after it was accepted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from geometry_msgs.msg import Twist, Vector3
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from std_msgs.msg import String

from rehab_coach.action_advert import ActionAdvert
from rehab_coach.coach_status import STATUS_QOS, status_msg
from rehab_coach.goal_exercises import goal_exercises
from rehab_coach.source_clock import SourceClock
from rehab_coach.stamp_order import StampOrder
from rehab_core.coaching import ExerciseSession, RepetitionInput, SessionConfig, same_exercise
from rehab_core.coaching.screen import goal_instruction
from rehab_core.errors import ConfigError
from rehab_core.paths import repo_file
from rehab_core.repetition.config import is_hold
from rehab_interfaces.action import RunExercise
from rehab_interfaces.msg import CoachStatus
from rehab_runtime import codecs, conversions
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.diagnostics import InputEndWatch
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for
from rehab_runtime.subject import main_skeleton

#: how long an input waits for a lower-stamped one of another topic (wall clock, s)
REORDER_S = 0.2
#: input quiet this long after the input ended: through the pipeline (after the counter's)
INPUT_DRAIN_S = 1.5


@dataclass(frozen=True)
class RunExerciseConfig:
    labels_file: str
    exercises: str
    person_lost_timeout_s: float
    min_confidence: float
    decision_horizon_s: float
    count_from_skeletons: bool
    reference_file: str
    feedback_period_s: float
    enable_cmd_vel: bool
    max_speed: float


class RunExerciseServerNode(LifecycleComponent):
    DEFAULT_NAME = "run_exercise_server"
    Config = RunExerciseConfig
    PARAMS = (
        ParamSpec("labels_file", "models/exercise_stgcn/labels.txt",
                  "class names of the loaded exercise model (valid goal exercises)"),
        ParamSpec("exercises", "", "comma-separated valid exercises; overrides labels_file"),
        ParamSpec("person_lost_timeout_s", 3.0, "end the goal when the patient is unseen this long",
                  0.1, 600.0),
        ParamSpec("min_confidence", 0.0, "predictions below this do not vote", 0.0, 1.0),
        ParamSpec("decision_horizon_s", 3.0, "longest wait for the classifier's verdict on a rep",
                  0.0, 60.0),
        ParamSpec("count_from_skeletons", True,
                  "count the goal's own exercise here from skeletons (a classifier that "
                  "follows another label cannot lose its reps) instead of 'repetitions'"),
        ParamSpec("reference_file", "", "patient's reference repetitions (.npz), '' = none"),
        ParamSpec("feedback_period_s", 0.1, "feedback and time-check period", 0.01, 5.0),
        ParamSpec("enable_cmd_vel", False, "publish small robot reactions on cmd_vel"),
        ParamSpec("max_speed", 0.3, "speed limit of those reactions (rad/s)", 0.0, 2.0),
    )

    # -- lifecycle ---------------------------------------------------------------------

    def configure(self, cfg: RunExerciseConfig) -> None:
        self.valid_exercises = goal_exercises(cfg.exercises, cfg.labels_file)
        self.reference_path = repo_file(cfg.reference_file) if cfg.reference_file else None
        if self.reference_path is not None and not self.reference_path.is_file():
            raise ConfigError(f"reference file not found: {self.reference_path}")
        self.clock = SourceClock()
        self._order = StampOrder(REORDER_S)  # one frame's inputs in stamp order (see there)
        self.session: ExerciseSession | None = None
        self._session_lock = threading.RLock()
        self._goal_sessions: dict[bytes, ExerciseSession] = {}
        self._wake = threading.Event()
        self._main_track = -1
        self._input_end = InputEndWatch(self, INPUT_DRAIN_S)
        self.pub_display = self.create_publisher(String, "display", 10)
        self.pub_status = self.create_publisher(CoachStatus, "coach_status", STATUS_QOS)
        self.pub_cmd_vel = self.create_publisher(Twist, "cmd_vel", 10) if cfg.enable_cmd_vel \
            else None
        self.action = ActionAdvert(self, lambda: ActionServer(
            self, RunExercise, "run_exercise",
            execute_callback=self.action.tracked(self._execute),
            goal_callback=self._on_goal,
            handle_accepted_callback=self._on_accepted,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT,
            callback_group=ReentrantCallbackGroup(),
        ))

    def activate(self) -> None:
        self.action.advertise()  # only while active: a discovered server takes goals
        order = self._order  # ranks: what the graph produces first for a frame goes first
        self.create_input("skeletons", codecs.SKELETONS, order.input(0, self._on_skeletons))
        self.create_input("action", codecs.ACTION, order.input(1, self._on_action))
        self.create_input("repetitions", codecs.REPETITION, order.input(2, self._on_repetition))
        self.create_component_timer(REORDER_S / 4, order.drain)
        self._input_end.start()

    def deactivate(self) -> None:
        self._input_end.stop()
        self._order.drain(everything=True)
        with self._session_lock:
            if self.session is not None and not self.session.done:
                self.session.finish(self._now(), "deactivated")
        self._wake.set()
        self.action.withdraw()

    def cleanup(self) -> None:
        if getattr(self, "action", None) is not None:
            self.action.destroy()
        for pub in ("pub_display", "pub_status", "pub_cmd_vel"):
            if getattr(self, pub, None) is not None:
                self.destroy_publisher(getattr(self, pub))
                setattr(self, pub, None)

    # -- goals -------------------------------------------------------------------------

    def _on_goal(self, goal: RunExercise.Goal) -> GoalResponse:
        if not self.is_active:
            self.get_logger().warn("goal rejected: server is not active")
            return GoalResponse.REJECT
        if not any(same_exercise(goal.exercise, e) for e in self.valid_exercises):
            self.get_logger().error(
                f"goal rejected: unknown exercise {goal.exercise!r}; valid exercises: "
                f"{', '.join(self.valid_exercises)}")
            return GoalResponse.REJECT
        if is_hold(goal.exercise) and not self.config.count_from_skeletons:
            self.get_logger().error(f"goal rejected: {goal.exercise!r} is a hold, timed from "
                                    "skeletons: set count_from_skeletons true")
            return GoalResponse.REJECT
        if goal.repetitions < 1 or not goal.time_limit_s >= 0:
            self.get_logger().error(
                f"goal rejected: repetitions must be > 0 and time_limit_s >= 0, got "
                f"{goal.repetitions}, {goal.time_limit_s}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle) -> None:
        goal = goal_handle.request
        cfg = self.config
        reference = None
        if self.reference_path is not None:
            from rehab_core.coaching import load_reference

            reference = load_reference(self.reference_path, goal.exercise)
        session = ExerciseSession(SessionConfig(
            exercise=goal.exercise, repetitions=int(goal.repetitions),
            time_limit_s=float(goal.time_limit_s),
            person_lost_timeout_s=cfg.person_lost_timeout_s,
            min_confidence=cfg.min_confidence, decision_horizon_s=cfg.decision_horizon_s,
            count_from_skeletons=cfg.count_from_skeletons,
        ), reference=reference)
        with self._session_lock:
            old = self.session
            if old is not None and not old.done:
                old.finish(self._now(), "preempted")
                self.get_logger().warn(f"goal {old.config.exercise!r} preempted by a new goal")
            now = self.clock.now()
            if now is not None:
                session.start(now)
            self.session = session
            # bound to its goal here: by the time _execute runs a newer goal may be current
            self._goal_sessions[bytes(goal_handle.goal_id.uuid)] = session
        self._wake.set()
        instruction = goal_instruction(goal.exercise, goal.repetitions, goal.time_limit_s)
        self._display(instruction)
        self._publish_status(session)
        self.get_logger().info(f"goal accepted: {instruction}")
        goal_handle.execute()

    def _execute(self, goal_handle) -> RunExercise.Result:
        with self._session_lock:
            session = self._goal_sessions.pop(bytes(goal_handle.goal_id.uuid))
        period = self.config.feedback_period_s if self.config else 0.1
        accepted_wall = time.monotonic()
        last_fb = None
        while True:
            if goal_handle.is_cancel_requested:
                self._order.drain(everything=True)  # what arrived before the cancel counts
            with self._session_lock:
                now = self.clock.now()
                if goal_handle.is_cancel_requested and not session.done:
                    session.finish(now if now is not None else 0.0, "canceled")
                elif self._input_end.ended and not session.done:  # a file or bag ended
                    if self._input_end.drained():  # else no time-out while frames drain
                        session.finish(now if now is not None else 0.0, "input_ended")
                elif now is not None:
                    session.tick(now)
                elif (session.config.time_limit_s > 0
                      and time.monotonic() - accepted_wall >= session.config.time_limit_s):
                    session.finish(0.0, "timeout")  # no input at all arrived
                fb = (session.current_label, round(session.current_confidence, 3),
                      session.repetitions_done, int(session.state))
                done = session.done
            if fb != last_fb and goal_handle.is_active:
                goal_handle.publish_feedback(RunExercise.Feedback(
                    current_label=fb[0], confidence=float(fb[1]),
                    repetitions_done=fb[2], state=fb[3]))
                last_fb = fb
                if not done:
                    self._publish_status(session)
            if done:
                return self._finish(goal_handle, session)
            self._wake.wait(period)
            self._wake.clear()

    def _finish(self, goal_handle, session: ExerciseSession) -> RunExercise.Result:
        r = session.result()
        result = conversions.session_result_to_msg(r)
        if r.success:
            goal_handle.succeed()
            self._display(f"Well done: {r.repetitions_done} x {r.exercise}")
        elif r.reason == "canceled" and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        self._publish_status(session)
        self.get_logger().info(
            f"goal {r.exercise!r} ended: {r.reason}, {r.repetitions_done} repetitions")
        return result

    # -- inputs ------------------------------------------------------------------------

    def _now(self) -> float:
        now = self.clock.now()
        return now if now is not None else 0.0

    def _observe(self, stamp_ns: int) -> float:
        t, restarted = self.clock.observe(stamp_ns)
        if restarted:
            with self._session_lock:
                s = self.session
                if s is not None and not s.done:
                    if s.started_t is None or s.now is None or s.now <= s.started_t:
                        s.started_t = s.now = None  # nothing seen yet: start on the new input
                    else:
                        s.finish(s.now, "input_restarted")
            self.get_logger().warn(
                f"input stamps went back ({stamp_ns} ns): a new input, the clock restarts")
        return t

    def _feed(self, stamp_ns: int, feed) -> None:
        """``feed(session, t)`` on the running session, then react to what changed."""
        self._input_end.input_seen()
        t = self._observe(stamp_ns)
        with self._session_lock:
            s = self.session
            if s is None or s.done:
                return
            before_state, before_reps = s.state, s.repetitions_done
            feed(s, t)
            self._react(s, before_state, before_reps)
        self._wake.set()

    def _on_action(self, p: codecs.ActionPayload) -> None:
        if p.track_id >= 0 and self._main_track >= 0 and p.track_id != self._main_track:
            return  # another person's prediction
        pred = p.prediction
        self._feed(p.stamp_ns, lambda s, t: s.on_prediction(t, pred.label, pred.confidence))

    def _on_repetition(self, p: codecs.RepetitionPayload) -> None:
        if p.track_id >= 0 and self._main_track >= 0 and p.track_id != self._main_track:
            return
        rep = RepetitionInput.of(p.exercise, p.start_ns * 1e-9, p.end_ns * 1e-9, p.quality)
        self._feed(p.stamp_ns, lambda s, t: s.on_repetition(t, rep))

    def _on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        subject = main_skeleton(p)
        self._main_track = subject.track_id if subject is not None else self._main_track
        self._feed(p.stamp_ns, lambda s, t: s.on_skeleton(t, subject))

    # -- outputs -----------------------------------------------------------------------

    def _display(self, text: str) -> None:
        if self.pub_display is not None:
            self.pub_display.publish(String(data=text))

    def _publish_status(self, s: ExerciseSession) -> None:
        """What the screens show (coach_status); called on every change of it."""
        if getattr(self, "pub_status", None) is None:
            return
        with self._session_lock:
            msg = status_msg(s)
        self.pub_status.publish(msg)

    def _react(self, s: ExerciseSession, before_state, before_reps: int) -> None:
        """Tell the patient about the wrong exercise; optional robot nod / shake on cmd_vel."""
        wrong = s.state != before_state and s.state.name == "WRONG_EXERCISE"
        if wrong:  # always, not only with cmd_vel: the patient screen shows it
            self._display(f"That is not a {s.config.exercise}: please do {s.config.exercise}")
        if self.pub_cmd_vel is None:
            return
        speed = min(0.2, self.config.max_speed)
        if s.repetitions_done > before_reps:
            self.pub_cmd_vel.publish(Twist(angular=Vector3(z=float(speed))))
        elif wrong:
            self.pub_cmd_vel.publish(Twist(angular=Vector3(z=-float(speed))))


main = main_for(RunExerciseServerNode)
