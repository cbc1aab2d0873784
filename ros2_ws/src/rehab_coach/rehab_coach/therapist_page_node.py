"""Therapist page: a local web page to watch and steer a session (``rehab up`` with coach.yaml).

Shows the live camera view with the skeleton (``image``, i.e. the overlay's
``image_annotated``; without images, the ``skeletons`` drawn on a dark
canvas), the current exercise and count, each repetition's quality as a live
plot (from ``coach_status``), the session plan (``plan_file``), Start /
Cancel buttons that send / cancel ``RunExercise`` goals, and after each goal
the report as a page and a downloadable HTML file.

Privacy as in the rest of the stack: only the newest frame is kept, in
memory, to answer the page; no frame is written anywhere. Access: bound to
127.0.0.1 by default; binding any other address needs a ``token`` (or
``token_file``), checked at configure time. The HTTP server runs on its own
thread (``web_server``): the page never slows the graph.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from rclpy.action import ActionClient

from rehab_coach.coach_status import STATUS_QOS, status_dict
from rehab_coach.goal_exercises import goal_exercises
from rehab_coach.patient_display_node import DEFAULT_STRINGS
from rehab_coach.web_server import WebServer, make_app
from rehab_core.coaching import PlanGoal, load_plan, quality_record
from rehab_core.coaching.screen import FeedbackRules, load_strings, repetition_feedback
from rehab_core.errors import ConfigError
from rehab_core.paths import repo_file
from rehab_core.repetition.config import is_hold
from rehab_core.reporting.session_html import session_report_html
from rehab_core.skeleton import get_layout
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_interfaces.action import RunExercise
from rehab_interfaces.msg import CoachStatus
from rehab_runtime import codecs, conversions
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_WAIT_S = 10.0


@dataclass(frozen=True)
class TherapistPageConfig:
    host: str
    port: int
    token: str
    token_file: str
    plan_file: str
    labels_file: str
    exercises: str
    jpeg_quality: int
    strings_file: str


def _wait(future: Any, timeout: float = _WAIT_S) -> Any:
    end = time.monotonic() + timeout
    while not future.done():
        if time.monotonic() > end:
            return None
        time.sleep(0.005)
    return future.result()


class TherapistPageNode(LifecycleComponent):
    DEFAULT_NAME = "therapist_page"
    Config = TherapistPageConfig
    PARAMS = (
        ParamSpec("host", "127.0.0.1", "address to serve on (not loopback: a token is required)"),
        ParamSpec("port", 8080, "TCP port (0 = any free port)", 0, 65535),
        ParamSpec("token", "", "access token the page needs (required off loopback)"),
        ParamSpec("token_file", "", "file holding the token (instead of 'token')"),
        ParamSpec("plan_file", "", "session plan YAML (goals: exercise, repetitions, ...)"),
        ParamSpec("labels_file", "models/exercise_stgcn/labels.txt",
                  "exercise names offered for a goal outside the plan"),
        ParamSpec("exercises", "", "comma-separated exercises; overrides labels_file"),
        ParamSpec("jpeg_quality", 75, "quality of the live camera view", 10, 100),
        ParamSpec("strings_file", "", "translated feedback strings (YAML); '' = English"),
    )

    def configure(self, cfg: TherapistPageConfig) -> None:
        token = cfg.token
        if cfg.token_file:
            try:
                token = repo_file(cfg.token_file).read_text().strip()
            except OSError as err:
                raise ConfigError(f"cannot read token_file: {err}") from None
        if cfg.host not in LOOPBACK and len(token) < 8:
            raise ConfigError(f"therapist page on {cfg.host!r} (not loopback) needs a token of "
                              f"8+ characters: set 'token' or 'token_file'")
        self.token = token
        self.plan: list[PlanGoal] = load_plan(repo_file(cfg.plan_file)) if cfg.plan_file else []
        self.exercise_names = goal_exercises(cfg.exercises, cfg.labels_file)
        self.strings = load_strings(DEFAULT_STRINGS,
                                    repo_file(cfg.strings_file) if cfg.strings_file else None)
        self._lock2 = threading.Lock()
        self._status: dict[str, Any] = {}
        self._image: Frame | None = None
        self._skeletons: codecs.SkeletonsPayload | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self.goals: list[dict[str, Any]] = []       # ended goals, as in session.json
        self.events: list[dict[str, Any]] = []      # start / cancel requests and answers
        self._handle: Any = None
        self._running: dict[str, Any] | None = None
        self.client = ActionClient(self, RunExercise, "run_exercise")
        self.server: WebServer | None = None
        self.port = 0

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, self._keep_image)
        self.create_input("skeletons", codecs.SKELETONS, self._keep_skeletons)
        self._status_sub = self.create_subscription(
            CoachStatus, "coach_status", self._on_status, STATUS_QOS)
        self.server = WebServer(make_app(self, self.token), self.config.host, self.config.port)
        self.port = self.server.start()
        self.get_logger().info(f"therapist page on http://{self.config.host}:{self.port}/"
                               + (" (token required)" if self.token else ""))

    def deactivate(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if getattr(self, "_status_sub", None) is not None:
            self.destroy_subscription(self._status_sub)
            self._status_sub = None

    def cleanup(self) -> None:
        if getattr(self, "client", None) is not None:
            self.client.destroy()
            self.client = None

    # -- inputs (latest wins, no copies) --------------------------------------------------

    def _keep_image(self, frame: Frame) -> None:
        with self._lock2:
            self._image = frame

    def _keep_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        with self._lock2:
            self._skeletons = p

    def _on_status(self, msg: CoachStatus) -> None:
        status = status_dict(msg)
        with self._lock2:
            self._status = status

    # -- PageBackend (called on the web server's threads) ----------------------------------

    def state(self) -> dict[str, Any]:
        with self._lock2:
            status = dict(self._status)
            goals = list(self.goals)
            events = list(self.events[-20:])
            running = dict(self._running) if self._running else None
        quality = status.get("quality") or []
        rules = FeedbackRules()
        feedback = [self.strings[f"feedback.{k}"]
                    for k in repetition_feedback(quality, rules)] if quality else []
        done_ids = {g["plan_index"] for g in goals if g.get("plan_index") is not None}
        started_ids = done_ids | ({running["plan_index"]} if running else set())
        return _json_safe({
            "status": status, "feedback": feedback, "running": running,
            "plan": [{"index": i, "exercise": g.exercise, "repetitions": g.repetitions,
                      "time_limit_s": g.time_limit_s,
                      "state": "done" if i in done_ids else "running" if i in started_ids
                      else "pending"} for i, g in enumerate(self.plan)],
            "exercises": self.exercise_names, "events": events,
            "goals": [dict(g, unit="s" if is_hold(g["exercise"]) else "") for g in goals],
            "server_ready": bool(self.client is not None and self.client.server_is_ready()),
        })

    def frame_jpeg(self) -> bytes | None:
        with self._lock2:
            image, skeletons, cached = self._image, self._skeletons, self._jpeg
        # the camera image when it is current, else the skeletons alone (e.g. a skeleton bag)
        fresh = image is not None and (skeletons is None
                                       or image.stamp_ns >= skeletons.stamp_ns - 10**9)
        if fresh:
            if cached is not None and cached[0] == image.stamp_ns:
                return cached[1]
            canvas, stamp = as_bgr8(image.image, image.encoding), image.stamp_ns
        elif skeletons is not None:  # no camera images: the skeleton alone
            if cached is not None and cached[0] == -skeletons.stamp_ns:
                return cached[1]
            canvas, stamp = _skeleton_canvas(skeletons), -skeletons.stamp_ns
        else:
            return None
        ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
        if not ok:
            return None
        data = buf.tobytes()
        with self._lock2:
            self._jpeg = (stamp, data)
        return data

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a goal: plan goal ``index`` (default: the next one), or exercise/repetitions."""
        try:
            goal, index = self._goal_for(request)
        except (ValueError, TypeError, KeyError) as err:
            return self._event("start", accepted=False, error=f"bad request: {err}")
        if self.client is None or not self.client.wait_for_server(timeout_sec=2.0):
            return self._event("start", accepted=False, error="RunExercise server not available")
        handle = _wait(self.client.send_goal_async(RunExercise.Goal(
            exercise=goal.exercise, repetitions=goal.repetitions,
            time_limit_s=float(goal.time_limit_s))))
        if handle is None or not handle.accepted:
            return self._event("start", accepted=False, exercise=goal.exercise,
                               error="goal rejected by the RunExercise server")
        running = {"exercise": goal.exercise, "repetitions_target": goal.repetitions,
                   "time_limit_s": goal.time_limit_s, "plan_index": index}
        with self._lock2:
            self._handle, self._running = handle, running
        handle.get_result_async().add_done_callback(
            lambda fut: self._ended(handle, running, fut))
        return self._event("start", accepted=True, exercise=goal.exercise,
                           repetitions=goal.repetitions)

    def cancel(self) -> dict[str, Any]:
        with self._lock2:
            handle = self._handle
        if handle is None:
            return self._event("cancel", canceling=False, error="no goal is running")
        reply = _wait(handle.cancel_goal_async())
        ok = reply is not None and len(reply.goals_canceling) > 0
        return self._event("cancel", canceling=ok,
                           **({} if ok else {"error": "the server did not accept the cancel"}))

    def report_html(self) -> str:
        with self._lock2:
            goals = list(self.goals)
        stamp = time.strftime("%Y-%m-%d %H:%M")
        return session_report_html(goals, "Exercise session report", f"generated {stamp}")

    # -- helpers -----------------------------------------------------------------------------

    def _goal_for(self, request: dict[str, Any]) -> tuple[PlanGoal, int | None]:
        if request.get("exercise"):
            goal = PlanGoal(str(request["exercise"]), int(request.get("repetitions", 5)),
                            float(request.get("time_limit_s", 0.0)))
            return goal, None
        if not self.plan:
            raise ValueError("no plan loaded: give 'exercise' and 'repetitions'")
        if "index" in request:
            index = int(request["index"])
        else:
            with self._lock2:
                used = {g.get("plan_index") for g in self.goals}
                if self._running:
                    used.add(self._running.get("plan_index"))
            index = next((i for i in range(len(self.plan)) if i not in used), -1)
        if not 0 <= index < len(self.plan):
            raise ValueError("every goal of the plan has been run")
        return self.plan[index], index

    def _ended(self, handle: Any, running: dict[str, Any], fut: Any) -> None:
        r = conversions.session_result_from_msg(fut.result().result, running["exercise"])
        record = dict(running, success=r.success, repetitions_done=r.repetitions_done,
                      reason=r.reason, mean_confidence=r.mean_confidence,
                      repetition_durations_s=list(r.repetition_durations_s),
                      quality=[quality_record(q) for q in r.quality])
        with self._lock2:
            self.goals.append(record)
            if self._handle is handle:
                self._handle, self._running = None, None

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"kind": kind, "wall_time": time.time(), **fields}
        with self._lock2:
            self.events.append(event)
        level = self.get_logger().info if not fields.get("error") else self.get_logger().warn
        level(f"page: {kind} {fields}")
        return event


def _skeleton_canvas(p: codecs.SkeletonsPayload, min_score: float = 0.3) -> np.ndarray:
    """The skeletons drawn on a dark canvas of the source's size (no camera image)."""
    w, h = max(64, int(p.width or 640)), max(64, int(p.height or 480))
    scale = min(1.0, 640 / max(w, h))
    canvas = np.full((int(h * scale), int(w * scale), 3), 40, np.uint8)
    for s in p.skeletons:
        kp = np.asarray(s.keypoints, np.float32)
        try:
            edges = get_layout(s.layout).edges
        except ValueError:
            edges = ()
        pts = [(int(x * scale), int(y * scale)) for x, y, _ in kp]
        for a, b in edges:
            if max(a, b) < len(kp) and kp[a, 2] >= min_score and kp[b, 2] >= min_score:
                cv2.line(canvas, pts[a], pts[b], (0, 200, 255), 3)
        for (x, y), score in zip(pts, kp[:, 2], strict=False):
            if score >= min_score:
                cv2.circle(canvas, (x, y), 4, (255, 255, 255), -1)
    return canvas


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if np.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


main = main_for(TherapistPageNode)
