"""What the patient screen and the therapist page say, from the coach's status (ROS-free).

The coach publishes numbers (``CoachStatus``: exercise, count, state, each
repetition's quality); this module turns them into the words a patient reads,
so every screen says the same thing and a translation is one strings file:

* ``load_strings``: the English defaults overlaid with a translation file
  (flat ``key: "text with {placeholders}"`` YAML); a key the file lacks falls
  back to English, an unknown key or a bad placeholder is a ``ConfigError``.
* ``repetition_feedback``: advice on the latest repetition. Depth is judged
  against the patient's own earlier repetitions of the goal (no per-patient
  clinical norm is known here; the patient's own median is the yardstick),
  tempo against fixed bounds of the eccentric phase (``FeedbackRules``).
* ``screen_view``: the screen's content for one status.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehab_core.errors import ConfigError
from rehab_core.repetition.config import exercise_key, is_hold

# RunExercise feedback constants (also CoachStatus.state)
WAITING, EXERCISING, WRONG, DONE = 0, 1, 2, 3

#: every placeholder a string may use (format() gets all of them)
_FIELDS = {"exercise": "squat", "done": 3, "target": 5, "reason": "timeout", "seconds": 12}


@dataclass(frozen=True)
class FeedbackRules:
    deeper_ratio: float = 0.8   # range of motion below this share of the goal's median so far
    min_tempo_s: float = 0.5    # eccentric phase shorter than this: "slow down"
    max_tempo_s: float = 4.0    # longer than this: "a bit faster"

    def __post_init__(self) -> None:
        if not 0.0 < self.deeper_ratio <= 1.0:
            raise ConfigError(f"deeper_ratio must be in (0, 1], got {self.deeper_ratio}")
        if not 0.0 <= self.min_tempo_s < self.max_tempo_s:
            raise ConfigError(f"need 0 <= min_tempo_s < max_tempo_s, got "
                              f"{self.min_tempo_s}, {self.max_tempo_s}")


@dataclass
class ScreenView:
    """The content of one screen; ``kind`` picks the colours and layout."""

    kind: str                      # idle | waiting | exercising | wrong | done
    title: str                     # the big line
    count: str = ""                # "3 / 5" ("" when no goal)
    progress: float = 0.0          # 0..1
    lines: list[str] = field(default_factory=list)  # feedback / detail, already translated
    success: bool = False


def _valid(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def load_strings(defaults: Path, path: str | Path | None = None) -> dict[str, str]:
    """English ``defaults`` overlaid with the translation at ``path`` (None/'' = English)."""
    import yaml

    def read(p: Path) -> dict[str, str]:
        try:
            data = yaml.safe_load(Path(p).read_text())
        except OSError as err:
            raise ConfigError(f"cannot read strings file {p}: {err}") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"strings file {p} is not valid YAML: {err}") from None
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ConfigError(f"strings file {p}: expected 'key: text' lines")
        return data

    strings = read(defaults)
    if path:
        extra = read(Path(path))
        unknown = sorted(k for k in extra if k not in strings and not k.startswith("exercise."))
        if unknown:
            raise ConfigError(f"strings file {path}: unknown keys {unknown}")
        strings.update(extra)
    for key, text in strings.items():
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        if not names <= _FIELDS.keys():
            raise ConfigError(f"string {key!r}: unknown placeholder(s) "
                              f"{sorted(names - _FIELDS.keys())}; allowed {sorted(_FIELDS)}")
    return strings


def exercise_name(strings: Mapping[str, str], label: str) -> str:
    """The exercise as the patient reads it ('exercise.<label>' key of the label the name
    means, e.g. "Plank hold" -> plank; else the name as given)."""
    return strings.get(f"exercise.{exercise_key(label)}", label.replace("_", " "))


def goal_instruction(exercise: str, target: int, time_limit_s: float = 0.0) -> str:
    """The plain-text instruction of a goal (the coach's ``display`` topic)."""
    limit = f" within {time_limit_s:g} s" if time_limit_s > 0 else ""
    if is_hold(exercise):  # "plank hold" -> "hold a plank"
        return f"Please hold a {exercise_key(exercise).replace('_', ' ')} for {target} s{limit}"
    return f"Please do {target} x {exercise}{limit}"


def repetition_feedback(quality: Sequence[Mapping[str, Any]],
                        rules: FeedbackRules = FeedbackRules()) -> list[str]:
    """Feedback keys for the last repetition of ``quality`` ('good', 'deeper', 'slower', ...)."""
    if not quality:
        return []
    last = quality[-1]
    keys = []
    rom = last.get("range_of_motion_deg")
    earlier = [q.get("range_of_motion_deg") for q in quality[:-1]]
    earlier = sorted(r for r in earlier if _valid(r) and r > 0)
    if _valid(rom) and rom > 0 and earlier:
        median = earlier[len(earlier) // 2] if len(earlier) % 2 else \
            0.5 * (earlier[len(earlier) // 2 - 1] + earlier[len(earlier) // 2])
        if rom < rules.deeper_ratio * median:
            keys.append("deeper")
    tempo = last.get("tempo_s")
    if _valid(tempo) and tempo > 0:
        if tempo < rules.min_tempo_s:
            keys.append("slower")
        elif tempo > rules.max_tempo_s:
            keys.append("faster")
    return keys or ["good"]


def screen_view(status: Mapping[str, Any], strings: Mapping[str, str],
                rules: FeedbackRules = FeedbackRules()) -> ScreenView:
    """The screen for one ``CoachStatus`` (as a mapping of its fields)."""
    exercise = str(status.get("exercise", ""))
    if not exercise:
        return ScreenView("idle", strings["idle"], lines=[strings["idle_detail"]])
    target, done = int(status.get("repetitions_target", 0)), int(status.get("repetitions_done", 0))
    fields = dict(_FIELDS, exercise=exercise_name(strings, exercise), done=done, target=target,
                  reason=str(status.get("reason", "")),
                  seconds=int(max(0.0, float(status.get("time_limit_s", 0.0))
                                  - float(status.get("elapsed_s", 0.0)))))
    text = {k: v.format(**fields) for k, v in strings.items()}
    if is_hold(exercise):  # a plank: seconds held of seconds asked ('<key>.hold' texts)
        text.update({k[:-5]: v for k, v in text.items() if k.endswith(".hold")})
    count = text["count"]
    progress = min(1.0, done / target) if target > 0 else 0.0
    state = int(status.get("state", WAITING))
    if state == DONE or not status.get("goal_active", True):
        success = bool(status.get("success", False))
        reason = str(status.get("reason", ""))
        lines = [] if success else [text.get(f"reason.{reason}", reason.replace("_", " "))]
        return ScreenView("done", text["done_success" if success else "done_partial"], count,
                          progress, lines, success)
    if state == WRONG:
        return ScreenView("wrong", text["wrong_exercise"], count, progress,
                          [text["wrong_detail"]])
    if state == WAITING:
        return ScreenView("waiting", text["instruction"], count, progress, [text["waiting"]])
    quality = list(status.get("quality") or [])
    lines = [text[f"feedback.{k}"] for k in repetition_feedback(quality, rules)] if quality \
        else [text["start"]]
    if float(status.get("time_limit_s", 0.0)) > 0:
        lines.append(text["time_left"])
    return ScreenView("exercising", text["instruction"], count, progress, lines)
