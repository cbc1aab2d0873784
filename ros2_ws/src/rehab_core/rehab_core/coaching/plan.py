"""A session plan: the ordered exercise goals of one therapy session (YAML).

Format (``time_limit_s`` optional, 0 = no limit)::

    goals:
      - {exercise: squat, repetitions: 5, time_limit_s: 60}
      - {exercise: jumping_jacks, repetitions: 10}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehab_core.errors import ConfigError


@dataclass(frozen=True)
class PlanGoal:
    exercise: str
    repetitions: int
    time_limit_s: float = 0.0


def parse_plan(data: Any, source: str = "plan") -> list[PlanGoal]:
    goals = data.get("goals") if isinstance(data, dict) else data
    if not isinstance(goals, list) or not goals:
        raise ConfigError(f"{source}: expected a non-empty 'goals' list")
    out = []
    for i, g in enumerate(goals):
        if not isinstance(g, dict) or "exercise" not in g:
            raise ConfigError(f"{source}: goal {i} needs at least 'exercise'")
        try:
            goal = PlanGoal(str(g["exercise"]), int(g.get("repetitions", 1)),
                            float(g.get("time_limit_s", 0.0)))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: goal {i}: {err}") from None
        if goal.repetitions < 1 or goal.time_limit_s < 0:
            raise ConfigError(f"{source}: goal {i}: repetitions must be > 0 and "
                              f"time_limit_s >= 0, got {goal}")
        out.append(goal)
    return out


def load_plan(path: str | Path) -> list[PlanGoal]:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read plan {path}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"plan {path} is not valid YAML: {err}") from None
    return parse_plan(data, str(path))
