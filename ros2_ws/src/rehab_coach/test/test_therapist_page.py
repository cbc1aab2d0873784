"""Therapist page in a real headless Chromium: a recorded session plays through the
perception graph into the real RunExercise server while the page watches and steers it.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser-deps``, run by
``make test``). The screenshots are kept in out/test-artifacts/therapist_page/ (and
written to docs/images/ with REHAB_DOC_SCREENSHOTS=1).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from coach_testutil import REPO_ROOT, artifact_dir, doc_screenshot, wait_for
from rclpy.parameter import Parameter

from rehab_coach.recorded_stream import StreamFrame, StreamPublisher
from rehab_coach.run_exercise_server_node import RunExerciseServerNode
from rehab_coach.therapist_page_node import TherapistPageNode
from rehab_runtime.component import FAILURE, SUCCESS

SAMPLE = REPO_ROOT / "models" / "samples" / "squat_skeletons"
TRUTH = yaml.safe_load((REPO_ROOT / "test/data/repetitions_truth.yaml").read_text())[
    "videos"]["squat2.mp4"]["repetitions"]  # the clip the sample's skeletons come from
SPEED = 2.0  # replay speed of the recorded session (x real time)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1280,900")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("chromium / chromedriver not installed: run `make browser-deps` as root "
                    "(Debian packages chromium and chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # never let selenium fetch a driver or browser
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    drv = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def coach(ros, tmp_path_factory):
    """The RunExercise server and the therapist page (any free port), a two-goal plan."""
    import rclpy

    context, executor = ros
    plan = tmp_path_factory.mktemp("plan") / "plan.yaml"
    plan.write_text(yaml.safe_dump({"goals": [
        {"exercise": "squat", "repetitions": TRUTH},
        {"exercise": "jumping_jacks", "repetitions": 3}]}))
    server = RunExerciseServerNode(context=context, parameter_overrides=[
        Parameter("labels_file", value=str(REPO_ROOT / "models/exercise_stgcn/labels.txt"))])
    page = TherapistPageNode(context=context, parameter_overrides=[
        Parameter("port", value=0), Parameter("plan_file", value=str(plan))])
    feeder = rclpy.create_node("recorded_session", context=context)
    for n in (server, page, feeder):
        executor.add_node(n)
    for n in (server, page):
        assert n.trigger_configure() == SUCCESS, n.last_error
        assert n.trigger_activate() == SUCCESS, n.last_error
    yield server, page, feeder
    for n in (page, server):
        n.trigger_deactivate()
    wait_for(lambda: server.session is None or server.session.done, 10, "goal ended")
    for n in (server, page, feeder):
        executor.remove_node(n)
        n.destroy_node()


def _play_recorded_session(node, stop: threading.Event) -> threading.Thread:
    """The shipped skeleton bag through the real graph (tracker, ST-GCN, counter) into the
    server's topics, as ``rehab session --input models/samples/squat_skeletons`` does."""
    from rehab_perception.run_graph import run_graph

    publisher = StreamPublisher(node)
    clock: list[float] = []  # (wall, source) of the first frame

    def on_frame(result) -> None:
        if result.skeletons is None or stop.is_set():
            return
        # paced at SPEED x real time (the graph waits for us): a burst would overflow the
        # server's 10-deep ROS queues, and lost frames look like the patient leaving
        t = result.skeletons.stamp_ns * 1e-9
        if not clock:
            clock.extend((time.monotonic(), t))
        delay = (t - clock[1]) / SPEED - (time.monotonic() - clock[0])
        if delay > 0:
            time.sleep(delay)
        action = result.action[-1] if isinstance(result.action, list) and result.action \
            else (result.action or None)
        publisher.publish(StreamFrame(result.skeletons, action, list(result.repetitions or [])))

    thread = threading.Thread(target=run_graph, args=(
        REPO_ROOT / "launch/config/stack.yaml", str(SAMPLE), on_frame), kwargs={"stop": stop},
        daemon=True)
    thread.start()
    return thread


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def test_page_follows_a_recorded_session_and_starts_and_cancels_goals(browser, coach):
    from selenium.webdriver.common.by import By

    server, page, feeder = coach
    base = f"http://127.0.0.1:{page.port}/"
    browser.get(base)
    wait_for(lambda: _text(browser, "connection") == "coach connected", 30, "page connected")
    assert "1" in _text(browser, "plan") and "squat" in _text(browser, "plan")

    # Start: the page sends the plan's first goal; the action server gets it
    browser.find_element(By.ID, "start").click()
    wait_for(lambda: server.session is not None and server.session.config.exercise == "squat",
             20, "the squat goal at the action server")
    assert server.session.config.repetitions == TRUTH
    wait_for(lambda: page.events, 10, "the page's record of the start")
    assert page.events[-1]["kind"] == "start" and page.events[-1]["accepted"]

    stop = threading.Event()
    player = _play_recorded_session(feeder, stop)
    try:
        try:
            wait_for(lambda: _text(browser, "count") == str(TRUTH), 180,
                     f"the page's count to reach {TRUTH}")
        except pytest.fail.Exception:
            s = server.session
            pytest.fail(f"count stuck at {s.repetitions_done} (state {s.state.name}, ignored "
                        f"{s.ignored}); the page saw "
                        f"{browser.execute_script('return window.rehabCounts')}")
        counts = browser.execute_script("return window.rehabCounts")
        assert counts[0] == 0 and counts[-1] == TRUTH and counts == sorted(counts), counts
        assert len(counts) >= 3, f"the count jumped instead of rising: {counts}"
        wait_for(lambda: page.goals, 30, "the goal's result")
        assert page.goals[0]["success"] and page.goals[0]["repetitions_done"] == TRUTH
        wait_for(lambda: f"{TRUTH} / {TRUTH}" in _text(browser, "goals"), 10, "the result row")
        # the live view (the skeletons: the bag has no images) and the quality plot drew
        wait_for(lambda: browser.execute_script(
            "return document.getElementById('camera').naturalWidth") > 0, 20, "camera view")
        assert browser.execute_script(
            "const c = document.getElementById('plot-rom');"
            "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
            ".some((v, i) => i % 4 == 2 && v > 150 && v < 220)")  # the blue series line
        _screenshot(browser, "therapist_page.png")
    finally:
        stop.set()
        player.join(timeout=60)

    # Start the next plan goal, then Cancel it: the action server cancels it
    browser.find_element(By.ID, "start").click()
    wait_for(lambda: server.session.config.exercise == "jumping_jacks"
             and not server.session.done, 20, "the second goal at the action server")
    cancel = browser.find_element(By.ID, "cancel")
    wait_for(cancel.is_enabled, 10, "the Cancel button enabled (a goal runs)")
    cancel.click()
    wait_for(lambda: server.session.done, 20, "the goal cancelled at the server")
    assert server.session.result().reason == "canceled"
    wait_for(lambda: len(page.goals) == 2, 20, "the cancelled goal's result")
    assert page.goals[1]["reason"] == "canceled" and not page.goals[1]["success"]
    wait_for(lambda: page.events[-1]["kind"] == "cancel", 10, "the page's record of the cancel")
    assert [e["kind"] for e in page.events] == ["start", "start", "cancel"]
    assert page.events[-1]["canceling"]

    # the report, as a page and as a download
    browser.get(base + "report")
    report = browser.find_element(By.ID, "goals").text
    assert "squat" in report and "completed" in report and "canceled" in report
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg")) >= 2
    _screenshot(browser, "therapist_report.png")
    with urllib.request.urlopen(base + "report.html", timeout=10) as reply:
        assert "attachment" in reply.headers["Content-Disposition"]
        html = reply.read().decode()
    assert "<table" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")


def test_page_needs_a_token_off_loopback(ros, tmp_path):
    context, _ = ros
    open_page = TherapistPageNode("open_page", context=context, parameter_overrides=[
        Parameter("host", value="0.0.0.0"), Parameter("port", value=0),
        Parameter("exercises", value="squat")])
    assert open_page.trigger_configure() == FAILURE
    assert "needs a token" in open_page.last_error
    open_page.destroy_node()
    token = "s3cret-token-for-test"
    page = TherapistPageNode("token_page", context=context, parameter_overrides=[
        Parameter("host", value="0.0.0.0"), Parameter("port", value=0),
        Parameter("token", value=token), Parameter("exercises", value="squat")])
    try:
        assert page.trigger_configure() == SUCCESS, page.last_error
        assert page.trigger_activate() == SUCCESS, page.last_error
        url = f"http://127.0.0.1:{page.port}"
        for path in ("/", "/api/state", "/static/app.js", "/report.html"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(url + path, timeout=10)
            assert err.value.code == 401
        with urllib.request.urlopen(f"{url}/?token={token}", timeout=10) as reply:
            assert reply.status == 200 and "rehab_token" in reply.headers["Set-Cookie"]
        req = urllib.request.Request(url + "/api/state", headers={"X-Rehab-Token": token})
        with urllib.request.urlopen(req, timeout=10) as reply:
            state = json.loads(reply.read())
        assert state["exercises"] == ["squat"] and state["plan"] == []
        # no plan and no exercise: a clear refusal, not a crash
        req = urllib.request.Request(url + "/api/start", data=b"{}", method="POST",
                                     headers={"X-Rehab-Token": token})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 409 and "no plan" in json.loads(err.value.read())["error"]
    finally:
        page.trigger_deactivate()
        page.trigger_cleanup()
        page.destroy_node()


def _screenshot(driver, name: str) -> Path:
    path = artifact_dir("therapist_page") / name
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"
    doc_screenshot(path, name)
    return path
