"""Component parameters: a ``ParamSpec`` per parameter, checked at configure time.

Why a spec of our own instead of descriptor ranges: a descriptor range makes a
bad override raise inside the node's constructor, which kills the process; a
``ParamSpec`` is checked in ``on_configure``, so a bad value fails the
transition with one clear message (``ConfigRejected``) and the node stays
unconfigured. ``rehab docs params`` renders the same specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default (which fixes its type), what it means and its valid values."""

    name: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: Sequence[Any] | None = None

    def constraints(self) -> str:
        parts = []
        if self.min is not None or self.max is not None:
            parts.append(f"range [{self.min}, {self.max}]")
        if self.choices is not None:
            parts.append(f"one of {list(self.choices)}")
        return "; ".join(parts)

    def coerce(self, value: Any) -> Any:
        """``value`` as the default's type (int -> float and int -> str allowed), or raise
        ``ConfigRejected``."""
        want = type(self.default)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if want is str and isinstance(value, int) and not isinstance(value, bool):
            # launch and --set read `input:=0` (a camera index) as YAML: the integer 0
            return str(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ConfigRejected(
                f"parameter {self.name!r}={value!r} must be of type {want.__name__}"
            )
        return value

    def check(self, value: Any) -> str | None:
        """Why ``value`` is invalid, or None."""
        if self.choices is not None and value not in self.choices:
            return f"parameter {self.name!r}={value!r} must be one of {list(self.choices)}"
        if self.min is not None and value < self.min:
            return f"parameter {self.name!r}={value!r} is below its minimum {self.min}"
        if self.max is not None and value > self.max:
            return f"parameter {self.name!r}={value!r} is above its maximum {self.max}"
        return None


@dataclass(frozen=True)
class NoConfig:
    pass


COMMON_PARAMS = (
    ParamSpec("autostart", False, "configure and activate on start (standalone use)"),
    ParamSpec("diagnostics_period", 1.0, "seconds between diagnostics messages", 0.05, 60.0),
)


class ConfigRejected(Exception):
    """A parameter outside its documented range or choices."""
