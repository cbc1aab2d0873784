"""Which exercises a goal may name: the loaded model's classes, or a list given instead.

The RunExercise server (which accepts goals) and the therapist page (which
offers them) read the same two parameters, so they agree on the list.
"""

from __future__ import annotations

from pathlib import Path

from rehab_core.coaching.session_types import UNKNOWN
from rehab_core.errors import ConfigError
from rehab_core.paths import repo_file


def read_labels(path: Path) -> list[str]:
    """Class names, one a line (blank lines and '#' comments skipped)."""
    if not path.is_file():
        raise ConfigError(f"labels file not found: {path} (set 'labels_file' or 'exercises')")
    names = [ln.strip() for ln in path.read_text().splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    if not names:
        raise ConfigError(f"labels file {path} lists no class")
    return names


def goal_exercises(exercises: str, labels_file: str) -> list[str]:
    """``exercises`` (comma-separated) when given, else the classes of ``labels_file``;
    never ``unknown`` (what the classifier says of anything else is no exercise to ask for)."""
    names = [e.strip() for e in exercises.split(",") if e.strip()] if exercises.strip() \
        else read_labels(repo_file(labels_file))
    return [n for n in names if n != UNKNOWN]
