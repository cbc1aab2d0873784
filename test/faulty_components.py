"""Real components that misbehave on purpose, loaded by ``module:Class`` into a real graph.

They stand for a stage with a bug (``RaisingStage``: its callback and its
timer raise) or a stage stuck inside a callback (``StuckStage``: a model
call that never returns), so the tests can show the container survives
the first and the watchdog ends the second. Tests put this folder on
PYTHONPATH and name them ``faulty_components:RaisingStage`` in the stack.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rehab_core.types import Frame
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec


@dataclass(frozen=True)
class RaisingConfig:
    fail_every: int


class RaisingStage(LifecycleComponent):
    """Raises in every ``fail_every``-th image callback and in its own timer."""

    DEFAULT_NAME = "raising"
    Config = RaisingConfig
    PARAMS = (ParamSpec("fail_every", 3, "raise on every Nth frame", 1, 10**6),)

    def configure(self, cfg: RaisingConfig) -> None:
        self.seen = 0
        self.timer_calls = 0

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, self.on_image)
        self.create_component_timer(0.05, self.on_timer)

    def on_image(self, frame: Frame) -> None:
        self.seen += 1
        if self.seen % self.config.fail_every == 0:
            raise RuntimeError(f"injected failure on frame {self.seen}")

    def on_timer(self) -> None:
        self.timer_calls += 1
        raise ZeroDivisionError("injected timer failure")


@dataclass(frozen=True)
class StuckConfig:
    stick_at: int


class StuckStage(LifecycleComponent):
    """Blocks forever (an hour) in the ``stick_at``-th image callback."""

    DEFAULT_NAME = "stuck"
    Config = StuckConfig
    PARAMS = (ParamSpec("stick_at", 5, "frame whose callback never returns", 1, 10**6),)

    def configure(self, cfg: StuckConfig) -> None:
        self.seen = 0
        self.never = threading.Event()

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, self.on_image)

    def on_image(self, frame: Frame) -> None:
        self.seen += 1
        if self.seen == self.config.stick_at:
            self.never.wait(3600.0)
