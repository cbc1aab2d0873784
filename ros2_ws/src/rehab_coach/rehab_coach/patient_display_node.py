"""Patient screen: the coach's ``coach_status`` (and optionally the camera) on the robot's screen.

A full-screen pygame window (1024x600 by default) that shows the instruction,
the count against the target in a progress ring, short feedback after each
repetition ("Go a bit deeper"), "That is not a <exercise>", and the end
result; the words come from a strings file (``strings_file``, English
default in ``rehab_coach/strings/en.yaml``).

Why it can never delay the perception graph: the input callbacks only keep a
reference to the newest status and image (latest wins, nothing queued, no
copy) and wake the render thread, which owns the window and draws at most
``fps`` times a second. A slow screen skips states; the graph never waits.

Headless (tests, a robot without a screen attached): ``SDL_VIDEODRIVER=dummy``.
Without it and without ``DISPLAY`` / ``WAYLAND_DISPLAY`` the node picks SDL's
``offscreen`` driver itself and says so once: SDL would otherwise probe Wayland
first and print "error: XDG_RUNTIME_DIR is invalid" into the launch log.
pygame has one window per process, so one patient_display per process.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rehab_coach.coach_status import STATUS_QOS, status_dict
from rehab_core.coaching.screen import FeedbackRules, load_strings, screen_view
from rehab_core.errors import ConfigError
from rehab_core.paths import repo_file
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_interfaces.msg import CoachStatus
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

DEFAULT_STRINGS = Path(__file__).resolve().parent / "strings" / "en.yaml"


@dataclass(frozen=True)
class PatientDisplayConfig:
    width: int
    height: int
    fullscreen: bool
    fps: float
    show_camera: bool
    strings_file: str
    deeper_ratio: float
    min_tempo_s: float
    max_tempo_s: float


class PatientDisplayNode(LifecycleComponent):
    DEFAULT_NAME = "patient_display"
    Config = PatientDisplayConfig
    PARAMS = (
        ParamSpec("width", 1024, "window width (px)", 320, 7680),
        ParamSpec("height", 600, "window height (px)", 240, 4320),
        ParamSpec("fullscreen", False, "full-screen window (the robot's screen)"),
        ParamSpec("fps", 10.0, "most screens drawn per second", 1.0, 60.0),
        ParamSpec("show_camera", True, "show the camera image ('image' input) beside the count"),
        ParamSpec("strings_file", "", "translated strings (YAML); '' = English"),
        ParamSpec("deeper_ratio", 0.8,
                  "'go deeper' below this share of the goal's median range of motion", 0.05, 1.0),
        ParamSpec("min_tempo_s", 0.5, "'slow down' when the eccentric phase is shorter", 0.0, 10.0),
        ParamSpec("max_tempo_s", 4.0, "'a bit faster' when it is longer", 0.1, 60.0),
    )

    def configure(self, cfg: PatientDisplayConfig) -> None:
        self.strings = load_strings(DEFAULT_STRINGS,
                                    repo_file(cfg.strings_file) if cfg.strings_file else None)
        self.rules = FeedbackRules(cfg.deeper_ratio, cfg.min_tempo_s, cfg.max_tempo_s)
        self._state_lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._image: Frame | None = None
        self._version = 0
        self.frames_rendered = 0
        self.statuses_received = 0
        self._snapshot: np.ndarray | None = None
        self._wake = threading.Event()
        self._stop_render = threading.Event()
        self._ready = threading.Event()
        self._render_error = ""
        self._status_sub = None
        self._thread = threading.Thread(target=self._render_loop, name="patient_display",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(15.0)
        if self._render_error or not self._ready.is_set():
            raise ConfigError(f"patient display: cannot open the screen: "
                              f"{self._render_error or 'no answer in 15 s'} "
                              f"(headless: set SDL_VIDEODRIVER=dummy)")

    def activate(self) -> None:
        if self.config.show_camera:
            self.create_input("image", codecs.IMAGE, self._on_image)
        self._status_sub = self.create_subscription(CoachStatus, "coach_status",
                                                    self._on_status, STATUS_QOS)

    def deactivate(self) -> None:
        if self._status_sub is not None:
            self.destroy_subscription(self._status_sub)
            self._status_sub = None

    def cleanup(self) -> None:
        stop = getattr(self, "_stop_render", None)
        if stop is not None:
            stop.set()
            self._wake.set()
            self._thread.join(timeout=10)

    # -- inputs: keep the newest, wake the renderer, return at once ---------------------

    def _on_image(self, frame: Frame) -> None:
        with self._state_lock:
            self._image = frame
            self._version += 1
        self._wake.set()

    def _on_status(self, msg: CoachStatus) -> None:
        if not self.is_active:
            return
        status = status_dict(msg)
        with self._state_lock:
            self._status = status
            self._version += 1
            self.statuses_received += 1
        self._wake.set()

    # -- render thread -------------------------------------------------------------------

    def snapshot(self) -> np.ndarray | None:
        """The last drawn screen as an HxWx3 RGB array (tests, docs)."""
        with self._state_lock:
            return None if self._snapshot is None else self._snapshot.copy()

    def draw(self, surface: Any, status: dict[str, Any], image: Frame | None) -> None:
        """Draw one screen (the render thread's work; tests may slow it down)."""
        from rehab_coach.display_render import render

        camera = as_bgr8(image.image, image.encoding) if image is not None else None
        render(surface, screen_view(status, self.strings, self.rules), camera)

    def _render_loop(self) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        if not any(os.environ.get(v) for v in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")):
            os.environ["SDL_VIDEODRIVER"] = "offscreen"
            self.get_logger().warn("no screen (DISPLAY and WAYLAND_DISPLAY unset): the patient "
                                   "screen renders offscreen")
        try:
            import pygame

            from rehab_coach.display_render import surface_array

            cfg = self.config
            pygame.display.init()
            flags = pygame.FULLSCREEN if cfg.fullscreen else 0
            window = pygame.display.set_mode((cfg.width, cfg.height), flags)
            pygame.display.set_caption("Rehab coach")
        except Exception as err:  # no display, no SDL driver: configure reports it
            self._render_error = f"{type(err).__name__}: {err}"
            self._ready.set()
            return
        self._ready.set()
        drawn = -1
        period = 1.0 / cfg.fps
        try:
            while not self._stop_render.is_set():
                started = time.monotonic()
                try:
                    pygame.event.pump()  # keep the window responsive; input is ignored
                except pygame.error as err:  # the display went away (closed, or quit elsewhere)
                    self._render_error = f"display lost: {err}"
                    self.get_logger().error(f"patient display: {self._render_error}")
                    break
                with self._state_lock:
                    version, status, image = self._version, self._status, self._image
                if version != drawn:
                    try:
                        self.draw(window, status, image)
                        pygame.display.flip()
                        snap = surface_array(window)
                        with self._state_lock:
                            self._snapshot = snap
                            self.frames_rendered += 1
                    except Exception as err:
                        self.get_logger().error(f"patient display: drawing failed: {err}",
                                                throttle_duration_sec=5.0)
                    drawn = version
                rest = period - (time.monotonic() - started)
                if rest > 0:
                    time.sleep(rest)  # at most fps screens a second
                self._wake.wait(1.0)
                self._wake.clear()
        finally:
            pygame.display.quit()


main = main_for(PatientDisplayNode)
