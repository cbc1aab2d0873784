"""Therapist page's HTTP interface without a browser: the live view from real in-process
images, and clear refusals (never a crash) for bad requests or a missing coach."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from coach_testutil import wait_for
from rclpy.parameter import Parameter

from rehab_coach.therapist_page_node import TherapistPageNode
from rehab_core.reporting.session_html import session_report_html, svg_series
from rehab_core.types import Frame
from rehab_runtime import codecs
from rehab_runtime.channel import InProcessBus
from rehab_runtime.component import SUCCESS, LifecycleComponent


class _Camera(LifecycleComponent):
    DEFAULT_NAME = "page_test_camera"

    def configure(self, cfg) -> None:
        self.out = self.create_output("image", codecs.IMAGE)


def _post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, json.loads(text) if text.startswith(b"{") else {"text": text.decode()}


@pytest.fixture()
def page(ros):
    context, executor = ros
    bus = InProcessBus()
    camera = _Camera(context=context, bus=bus)
    node = TherapistPageNode("api_page", context=context, bus=bus, parameter_overrides=[
        Parameter("port", value=0), Parameter("exercises", value="squat,push_up")])
    executor.add_node(node)
    for n in (camera, node):
        assert n.trigger_configure() == SUCCESS, n.last_error
    for n in (camera, node):
        assert n.trigger_activate() == SUCCESS, n.last_error
    yield camera, node, f"http://127.0.0.1:{node.port}"
    executor.remove_node(node)
    for n in (node, camera):
        n.trigger_deactivate()
        n.trigger_cleanup()
        n.destroy_node()


def test_live_view_serves_the_newest_camera_image(page):
    camera, _node, url = page
    with urllib.request.urlopen(url + "/api/frame.jpg", timeout=10) as reply:
        assert reply.status == 204  # nothing arrived yet
    for i, shade in enumerate((40, 200)):
        img = np.full((240, 320, 3), shade, np.uint8)
        camera.out.publish(Frame(img, (i + 1) * 10**8, i, "bgr8", "camera"))
    with urllib.request.urlopen(url + "/api/frame.jpg", timeout=10) as reply:
        assert reply.headers["Content-Type"] == "image/jpeg"
        jpeg = np.frombuffer(reply.read(), np.uint8)
    shown = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert shown.shape == (240, 320, 3) and abs(float(shown.mean()) - 200) < 5  # the newest


def test_bad_requests_and_a_missing_coach_get_clear_answers(page):
    _camera, node, url = page
    with urllib.request.urlopen(url + "/api/state", timeout=10) as reply:
        state = json.loads(reply.read())
    assert state["exercises"] == ["squat", "push_up"] and not state["server_ready"]
    assert _post(url + "/api/start", b"not json")[0] == 400
    assert _post(url + "/api/start", b"[1, 2]")[0] == 400
    code, reply = _post(url + "/api/start", b'{"exercise": "squat", "repetitions": "many"}')
    assert code == 409 and reply["error"].startswith("bad request")
    code, reply = _post(url + "/api/start", b'{"exercise": "squat", "repetitions": 3}')
    assert code == 409 and "not available" in reply["error"]  # no RunExercise server runs
    code, reply = _post(url + "/api/cancel", b"")
    assert code == 409 and reply["error"] == "no goal is running"
    wait_for(lambda: len(node.events) == 3, 5, "the refused start, start and cancel recorded")
    with urllib.request.urlopen(url + "/report", timeout=10) as reply:
        assert "No exercise goal has ended yet" in reply.read().decode()


def test_report_handles_missing_and_invalid_figures():
    goals = [{"exercise": "squat <b>", "repetitions_target": 3, "repetitions_done": 2,
              "success": False, "reason": "timeout", "mean_confidence": float("nan"),
              "quality": [{"duration_s": 1.0, "range_of_motion_deg": float("nan"),
                           "key_joint": "knee", "tempo_s": 0.5, "reference_distance": -1.0},
                          {"duration_s": 1.2, "range_of_motion_deg": 80.0,
                           "key_joint": "knee", "tempo_s": 0.6, "reference_distance": -1.0}]}]
    html = session_report_html(goals)
    assert "squat &lt;b&gt;" in html and "squat <b>" not in html  # escaped
    assert "timeout" in html and ">nan<" not in html.lower() and "NaN" not in html
    assert html.count("<svg") == 3  # no plot for the reference distance: none recorded
    assert svg_series([None, float("inf"), -1.0], "empty") == ""


def test_an_ended_plank_goal_is_shown_in_seconds(page):
    """A plank's target and count are seconds held: the page's goal table says so."""
    _camera, node, url = page
    with node._lock2:
        node.goals += [{"exercise": "plank", "repetitions_target": 30, "repetitions_done": 12},
                       {"exercise": "squat", "repetitions_target": 5, "repetitions_done": 5}]
    with urllib.request.urlopen(url + "/api/state", timeout=10) as reply:
        goals = json.loads(reply.read())["goals"]
    assert [(g["exercise"], g["unit"]) for g in goals] == [("plank", "s"), ("squat", "")]
