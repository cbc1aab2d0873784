"""Which training windows of an exercise clip show the exercise moving.

Why: every window of a squat clip is labelled "squat", including the person
standing before the first repetition or resting between sets. Those windows
look like the standing and walking the open-set ``unknown`` class is trained
on, so they teach the classifier that standing is a squat and make it unsure
on every class. With ``RecognitionData.active_only`` a training window of a
counted exercise is kept only when the exercise's own counting signal (the
repetition counter's key angle, in 3-D where the pose model gave it, so the
view does not matter) spans at least half of the exercise's minimum
repetition amplitude inside the window. Held-out evaluation still scores
every window with the clip's label.
"""

from __future__ import annotations

import numpy as np

from rehab_core.recognition.world_input import frame_seen
from rehab_core.repetition.angles import compute_signal
from rehab_core.repetition.config import get_exercise_config

#: the part of an exercise's minimum repetition amplitude a window must span
ACTIVE_FRACTION = 0.5
#: fewer measured frames than this and the window is kept (it cannot be judged)
_MIN_MEASURED = 10


def activity_rule(label: str) -> tuple[str, float] | None:
    """(signal name, minimum span) for a counted exercise; None keeps every window."""
    cfg = get_exercise_config(label)
    if cfg is None or not cfg.counts_reps:
        return None
    return cfg.signal, ACTIVE_FRACTION * cfg.min_amplitude


def window_is_active(rule: tuple[str, float] | None, keypoints_2d: np.ndarray,
                     world: np.ndarray | None = None) -> bool:
    """True when the (T, 17, 3) 2-D window (or its (T, 17, 4) 3-D frames, preferred when
    every frame has them) moves the signal by the rule's span (5th-95th percentile)."""
    if rule is None:
        return True
    signal, span = rule
    have_3d = world is not None and bool(frame_seen(world).all())
    values = compute_signal(signal, world if have_3d else keypoints_2d)
    values = values[np.isfinite(values)]
    if len(values) < _MIN_MEASURED:
        return True
    return float(np.percentile(values, 95) - np.percentile(values, 5)) >= span
