"""The held-out evaluation's emulation of the live classifier's smoothing: on the live
window grid it is the live rule (the classifier's own EMA and hysteresis), on the
evaluation's finer grid the same time constants, and it reads a bundle's settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig
from rehab_core.training.live_smoothing import LiveSmoothing, hold_labels, smooth_probs

MODEL = Path(__file__).resolve().parents[4] / "models" / "exercise_stgcn"
LABELS = ["squat", "push_up", "unknown"]


def _live(probs: np.ndarray, proposals: list[str]) -> tuple[np.ndarray, list[str]]:
    """The live classifier's own smoothing and hysteresis, window by window."""
    clf = StreamingClassifier(lambda x: np.zeros(3), LABELS, StreamingConfig(hysteresis=2))
    smoothed = np.stack([clf._smooth(p) for p in probs])
    return smoothed, [clf._hysteresis(p) for p in proposals]


def test_on_the_live_grid_the_emulation_is_the_live_rule():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=40)
    proposals = [LABELS[i] for i in rng.integers(0, 3, size=40)]
    proposals[10:14] = ["push_up"] * 4  # a label that leads long enough to take over
    s = LiveSmoothing(ema_alpha=0.5, hysteresis=2, step_s=1 / 3)
    starts = np.arange(40) / 3.0
    live_probs, live_labels = _live(probs, proposals)
    np.testing.assert_allclose(smooth_probs(probs, starts, s), live_probs, atol=1e-12)
    held, _ = hold_labels(proposals, [0.9] * 40, probs, LABELS, starts, s)
    assert held == live_labels


def test_on_a_finer_grid_a_label_takes_over_after_the_same_time():
    s = LiveSmoothing(ema_alpha=0.5, hysteresis=2, step_s=1 / 3)
    starts = np.arange(8) * 0.2  # the evaluation's stride: 3 frames at 15 fps
    probs = np.tile([[0.7, 0.2, 0.1]], (8, 1))
    proposals = ["squat", "squat", "push_up", "squat", "push_up", "push_up", "push_up", "squat"]
    held, conf = hold_labels(proposals, [0.5] * 8, probs, LABELS, starts, s)
    # one 0.2 s window of push_up is not enough; proposed from 0.8 s, it takes over at
    # 1.2 s (led 0.4 s, the first window on this grid past the live 1/3 s) and holds
    assert held == ["squat"] * 6 + ["push_up", "push_up"]
    assert conf[2] == conf[5] == pytest.approx(0.7)  # a held window: squat's own score
    assert conf[7] == pytest.approx(0.2) and conf[6] == 0.5
    # the average halves each live step (1/3 s), whatever the grid
    two = smooth_probs(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0.0, 2 / 3]), s)
    np.testing.assert_allclose(two[1], [0.25, 0.75, 0.0])


def test_settings_come_from_the_bundle_and_are_checked():
    assert LiveSmoothing.from_bundle(MODEL) == LiveSmoothing(0.5, 2, 5 / 15.0)
    for bad in ({"ema_alpha": 0.0}, {"hysteresis": 0}, {"step_s": 0.0}):
        with pytest.raises(ConfigError, match="live smoothing"):
            LiveSmoothing(**bad)
