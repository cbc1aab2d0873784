"""The patient's reference repetitions (one key-angle curve per exercise, ``.npz``).

A therapist records one good repetition per exercise for this patient; later
repetitions are compared to it by DTW (``rehab_core.repetition.quality``).
Curves are stored already resampled, so the file is small and holds no image.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from rehab_core.coaching.exercise_session import canonical_exercise
from rehab_core.errors import ConfigError
from rehab_core.repetition.counter import Repetition
from rehab_core.repetition.quality import resample_curve


def save_reference(path: str | Path, exercise: str, rep: Repetition) -> Path:
    """Add or replace ``exercise``'s reference curve in the file at ``path``."""
    path = Path(path)
    curves = dict(_read(path)) if path.is_file() else {}
    curves[canonical_exercise(exercise)] = resample_curve(rep.times, rep.values)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(f, **curves)
    return path


def load_reference(path: str | Path, exercise: str) -> np.ndarray | None:
    """The stored curve for ``exercise``, or None when none was recorded."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"reference file not found: {path}")
    return _read(path).get(canonical_exercise(exercise))


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k], np.float64) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ConfigError(f"cannot read reference file {path}: {err}") from None
