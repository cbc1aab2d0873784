"""Patient screen: every state drawn headless (PNGs kept), the real coach driving it, and a
slow screen never holding up the frames of the graph."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np
import pygame
import pytest
from coach_testutil import artifact_dir, doc_screenshot, save_png, wait_for
from rclpy.parameter import Parameter
from std_msgs.msg import String
from test_run_exercise_server import ScriptedClassifier, _play, _send, synthetic_squats

from rehab_coach.display_render import ACCENT, RING, render, surface_array
from rehab_coach.patient_display_node import DEFAULT_STRINGS, PatientDisplayNode
from rehab_coach.recorded_stream import StreamPublisher, sequence_frames
from rehab_coach.run_exercise_server_node import RunExerciseServerNode
from rehab_core.coaching.screen import load_strings, screen_view
from rehab_core.types import Frame
from rehab_runtime import codecs
from rehab_runtime.channel import InProcessBus
from rehab_runtime.component import SUCCESS, LifecycleComponent

STRINGS = load_strings(DEFAULT_STRINGS)
Q = {"duration_s": 2.0, "range_of_motion_deg": 80.0, "key_joint": "knee", "tempo_s": 1.0,
     "reference_distance": -1.0}


def _status(**kw):
    base = {"goal_active": True, "exercise": "squat", "repetitions_target": 5,
            "repetitions_done": 0, "state": 1, "current_label": "squat", "confidence": 0.9,
            "elapsed_s": 3.0, "time_limit_s": 0.0, "success": False, "reason": "",
            "quality": []}
    base.update(kw)
    return base


STATES = {
    "idle": {},
    "waiting": _status(state=0),
    "exercising_0": _status(),
    "exercising_1": _status(repetitions_done=1, quality=[Q]),
    "deeper": _status(repetitions_done=2, quality=[Q, dict(Q, range_of_motion_deg=40.0)]),
    "wrong_exercise": _status(state=2, current_label="jumping_jacks", repetitions_done=1,
                              quality=[Q]),
    "done": _status(state=3, goal_active=False, repetitions_done=5, quality=[Q] * 5,
                    success=True, reason="completed"),
    "timeout": _status(state=3, goal_active=False, repetitions_done=2, quality=[Q] * 2,
                       reason="timeout"),
}


def _draw(status, camera=None, size=(1024, 600)):
    surface = pygame.Surface(size)
    regions = render(surface, screen_view(status, STRINGS), camera)
    return surface_array(surface), regions


def _crop(img, rect):
    return img[rect.top:rect.bottom, rect.left:rect.right]


def _share(img, colour, tol=30):
    return float(np.mean(np.all(np.abs(img.astype(int) - colour) <= tol, axis=-1)))


def test_every_state_renders_and_is_kept_as_png():
    out = artifact_dir("patient_display")
    camera = np.full((480, 640, 3), 60, np.uint8)
    camera[100:380, 300:340] = (0, 200, 255)  # a stand-in for the drawn skeleton
    shots = {}
    for name, status in STATES.items():
        img, regions = _draw(status, camera if name == "exercising_1" else None)
        save_png(out / f"{name}.png", img)
        shots[name] = (img, regions)
    assert screen_view(STATES["idle"], STRINGS).title == "Welcome"
    # the count region changes when a repetition arrives; the ring shows progress
    img0, reg0 = _draw(STATES["exercising_0"])
    img1, reg1 = _draw(STATES["exercising_1"])
    box = reg0["count"].union(reg1["count"])
    assert np.abs(_crop(img0, box).astype(int) - _crop(img1, box)).sum() > 0
    assert _share(img0, RING) == 0.0 < _share(img1, RING)
    assert _share(shots["done"][0], RING) > 4 * _share(img1, RING)
    # the wrong-exercise message: its text, on a full-width banner
    view = screen_view(STATES["wrong_exercise"], STRINGS)
    assert view.title == "That is not a squat" and view.lines == ["Please do squat"]
    wrong, regions = shots["wrong_exercise"]
    assert _share(wrong[: int(600 * 0.2)], ACCENT["wrong"]) > 0.8
    title = _crop(wrong, regions["title"])
    assert _share(title, (0, 0, 0)) > 0.05  # black letters on the banner
    # feedback after a shallow repetition, the end result
    assert screen_view(STATES["deeper"], STRINGS).lines[0] == "Go a bit deeper"
    assert screen_view(STATES["exercising_1"], STRINGS).lines[0] == "Correct!"
    assert screen_view(STATES["done"], STRINGS).title == "Well done! 5 x squat"
    assert screen_view(STATES["timeout"], STRINGS).lines == ["Time is up"]
    # the camera image is drawn beside the count
    assert "camera" in shots["exercising_1"][1]
    assert _share(_crop(shots["exercising_1"][0], shots["exercising_1"][1]["camera"]),
                  (255, 200, 0)) > 0.01
    assert {p.name for p in out.glob("*.png")} >= {f"{n}.png" for n in STATES}
    for name in ("exercising_1", "deeper", "wrong_exercise", "done"):
        doc_screenshot(out / f"{name}.png", f"patient-{name.replace('_', '-')}.png", 512)


def test_a_translation_overrides_strings_and_bad_ones_are_refused(tmp_path):
    from rehab_core.errors import ConfigError

    de = tmp_path / "de.yaml"
    de.write_text('wrong_exercise: "Das ist keine {exercise}"\nexercise.squat: "Kniebeuge"\n')
    strings = load_strings(DEFAULT_STRINGS, de)
    assert screen_view(STATES["wrong_exercise"], strings).title == "Das ist keine Kniebeuge"
    assert screen_view(STATES["done"], strings).title == "Well done! 5 x Kniebeuge"
    (tmp_path / "bad.yaml").write_text('count: "{done} / {goal}"\n')
    with pytest.raises(ConfigError, match="unknown placeholder"):
        load_strings(DEFAULT_STRINGS, tmp_path / "bad.yaml")
    (tmp_path / "typo.yaml").write_text('wrong_exercis: "x"\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        load_strings(DEFAULT_STRINGS, tmp_path / "typo.yaml")


def test_a_plank_goal_is_told_in_seconds_held():
    """A plank's target is seconds held: "Please hold a plank for 30 s", "12 / 30 s"."""
    from rehab_core.coaching.screen import goal_instruction

    plank = _status(exercise="plank", repetitions_target=30, repetitions_done=12,
                    current_label="plank", quality=[Q])
    view = screen_view(plank, STRINGS)
    assert view.title == "Please hold a plank for 30 s" and view.count == "12 / 30 s"
    assert view.lines == ["Keep holding"]
    done = screen_view(dict(plank, state=3, goal_active=False, repetitions_done=30,
                            success=True, reason="completed"), STRINGS)
    assert done.title == "Well done! 30 s plank"
    assert screen_view(STATES["exercising_0"], STRINGS).title == "Please do 5 x squat"
    typed = screen_view(dict(plank, exercise="Plank hold"), STRINGS)
    assert typed.title == "Please hold a plank for 30 s"
    assert goal_instruction("Plank hold", 30, 60.0) == "Please hold a plank for 30 s within 60 s"
    assert goal_instruction("squat", 5) == "Please do 5 x squat"


@pytest.fixture(scope="module")
def coach(ros):
    """The real RunExercise server (cmd_vel off) and a headless patient display."""
    import rclpy

    context, executor = ros
    server = RunExerciseServerNode(context=context, parameter_overrides=[
        Parameter("exercises", value="squat,jumping_jacks,push_up"),
        Parameter("person_lost_timeout_s", value=1.5)])
    display = PatientDisplayNode(context=context, parameter_overrides=[
        Parameter("fps", value=30.0), Parameter("show_camera", value=False)])
    node = rclpy.create_node("display_test_client", context=context)
    from rclpy.action import ActionClient

    from rehab_interfaces.action import RunExercise

    for n in (server, display, node):
        executor.add_node(n)
    for n in (server, display):
        assert n.trigger_configure() == SUCCESS, n.last_error
        assert n.trigger_activate() == SUCCESS, n.last_error
    shown: list[str] = []
    node.create_subscription(String, "display", lambda m: shown.append(m.data), 10)
    client = ActionClient(node, RunExercise, "run_exercise")
    assert client.wait_for_server(timeout_sec=10)
    yield server, display, client, StreamPublisher(node), shown
    for n in (server, display):
        n.trigger_deactivate()  # ends a running goal
    wait_for(lambda: server.session is None or server.session.done, 10, "goal ended")
    display.trigger_cleanup()
    for n in (server, display, node):
        executor.remove_node(n)
    for n in (server, display, node):
        n.destroy_node()


def _screen_of(display, check, what, timeout=20.0):
    """The first drawn screen for which ``check(screen)`` holds."""
    def ready():
        screen = display.snapshot()
        return (screen,) if screen is not None and check(screen) else None

    return wait_for(ready, timeout, what)[0]


def test_wrong_exercise_is_told_without_cmd_vel_and_shown(coach):
    server, display, client, pub, shown = coach
    assert server.pub_cmd_vel is None
    handle = _send(client, "squat", 2)
    assert handle.accepted
    frames = sequence_frames(synthetic_squats(3), ScriptedClassifier("jumping_jacks"))
    _play(pub, frames, stop=lambda: any("That is not a squat" in s for s in shown)
          and display._status.get("state") == 2)
    wait_for(lambda: any(s.startswith("That is not a squat") for s in shown), 10,
             "the wrong-exercise message on 'display'")
    img = _screen_of(display, lambda s: _share(s[:120], ACCENT["wrong"]) > 0.8,
                     "the wrong-exercise banner on the screen")
    save_png(artifact_dir("patient_display") / "node_wrong_exercise.png", img)
    handle.cancel_goal_async()
    wait_for(lambda: server.session.done, 10, "the goal cancelled")


def test_count_on_screen_follows_the_coach(coach):
    _server, display, client, pub, _ = coach
    handle = _send(client, "squat", 2)
    assert handle.accepted
    first = _screen_of(display, lambda s: display._status.get("goal_active")
                       and display._status.get("repetitions_done") == 0
                       and display._status.get("exercise") == "squat"
                       and _share(s, RING) == 0.0, "the 0 / 2 screen")
    stop = threading.Event()
    player = threading.Thread(target=_play, args=(pub, sequence_frames(
        synthetic_squats(4), ScriptedClassifier("squat"))), kwargs={"stop": stop.is_set})
    player.start()
    try:
        one = _screen_of(display, lambda s: display._status.get("repetitions_done") == 1
                         and _share(s, RING) > 0, "the 1 / 2 screen")
        done = _screen_of(display, lambda s: display._status.get("state") == 3
                          and _share(s, RING) > 2 * _share(one, RING), "the end screen")
    finally:
        stop.set()
        player.join()
    assert np.abs(first.astype(int) - one).sum() > 0
    assert display._status["success"] and display._status["repetitions_done"] == 2
    save_png(artifact_dir("patient_display") / "node_done.png", done)


class _Source(LifecycleComponent):
    DEFAULT_NAME = "fake_camera"

    def configure(self, cfg) -> None:
        self.out = self.create_output("image", codecs.IMAGE)


class _Stage(LifecycleComponent):
    DEFAULT_NAME = "fake_pose"

    def configure(self, cfg) -> None:
        self.seen: list[int] = []

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, lambda f: self.seen.append(f.stamp_ns))


def test_a_slow_screen_never_holds_up_the_graph(ros):
    """Frames keep flowing at full rate while every screen takes 1.5 s to draw."""
    context, _executor = ros
    bus = InProcessBus()
    source, stage = _Source(context=context, bus=bus), _Stage(context=context, bus=bus)
    display = PatientDisplayNode("slow_display", context=context, bus=bus)
    drawn: list[int] = []
    real_draw = display.draw

    def slow_draw(surface, status, image):
        time.sleep(1.5)
        real_draw(surface, status, image)
        drawn.append(image.stamp_ns if image is not None else -1)

    display.draw = slow_draw
    nodes = (source, stage, display)
    try:
        for n in nodes:
            assert n.trigger_configure() == SUCCESS, n.last_error
        for n in nodes:
            assert n.trigger_activate() == SUCCESS, n.last_error
        image = np.zeros((240, 320, 3), np.uint8)
        started = time.monotonic()
        for i in range(60):
            source.out.publish(Frame(image, (i + 1) * 33_000_000, i, "bgr8", "camera"))
        publishing_s = time.monotonic() - started
        assert stage.seen == [(i + 1) * 33_000_000 for i in range(60)]
        # all 60 frames went through while at most the first screen was being drawn
        assert publishing_s < 1.5 and len(drawn) <= 1, (publishing_s, drawn)
        # latest wins: the screen catches up with the newest frame, skipping the rest
        wait_for(lambda: drawn and drawn[-1] == 60 * 33_000_000, 15, "the newest frame drawn")
        assert len(drawn) < 10
    finally:
        for n in nodes:
            n.trigger_deactivate()
            n.trigger_cleanup()
            n.destroy_node()


def _configure_without_a_screen(tmp_path, **env_extra: str):
    """Configure a patient display in a fresh process without DISPLAY / WAYLAND_DISPLAY /
    SDL_VIDEODRIVER (plus ``env_extra``): (its RESULT line, its whole output)."""
    import subprocess
    import sys

    script = tmp_path / "no_screen.py"
    script.write_text(
        "import rclpy\n"
        "from rehab_coach.patient_display_node import PatientDisplayNode\n"
        "rclpy.init(domain_id=7)\n"
        "node = PatientDisplayNode()\n"
        "print('RESULT', node.trigger_configure().name, node.last_error, flush=True)\n"
        "node.trigger_cleanup()\n"
        "node.destroy_node()\n"
        "rclpy.shutdown()\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    out = subprocess.run([sys.executable, str(script)], env={**env, **env_extra},
                         capture_output=True, text=True, timeout=120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), out.stderr)
    return line, out.stdout + out.stderr


def test_no_screen_fails_configure_with_the_way_out(tmp_path):
    """A driver that needs a display, without one: configure fails, clearly."""
    line, _ = _configure_without_a_screen(tmp_path, SDL_VIDEODRIVER="x11")
    assert "FAILURE" in line and "cannot open the screen" in line, line
    assert "SDL_VIDEODRIVER=dummy" in line


def test_no_screen_and_no_driver_renders_offscreen_and_says_so(tmp_path):
    """A headless robot launched without SDL_VIDEODRIVER: the screen renders offscreen,
    the log says so once, and SDL's Wayland probe no longer prints an "error:" line."""
    line, output = _configure_without_a_screen(tmp_path)
    assert "SUCCESS" in line, output[-2000:]
    assert "the patient screen renders offscreen" in output
    assert "XDG_RUNTIME_DIR" not in output and "Hello from the pygame" not in output
