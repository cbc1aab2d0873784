"""Capping training windows per (class, source): no one source defines a class."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.training.recognition_data import ClipWindows, RecognitionData, cap_per_source


def _clip(name: str, label: int, source: str, n: int) -> ClipWindows:
    x = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) * np.ones((1, 6, 4, 17), np.float32)
    return ClipWindows(name, label, source, True, x)


def test_a_big_source_is_cut_to_the_cap_from_every_clip_and_small_ones_kept():
    rendered = {"lab_a": _clip("lab_a", 1, "lab", 600), "lab_b": _clip("lab_b", 1, "lab", 200),
                "gym": _clip("gym", 1, "gym", 150), "lab_other": _clip("lab_other", 0, "lab", 90)}
    capped = cap_per_source(rendered, 400, seed=0)
    assert len(capped["lab_a"].x) == 300 and len(capped["lab_b"].x) == 100  # same share
    assert capped["gym"] is rendered["gym"] and capped["lab_other"] is rendered["lab_other"]
    kept = capped["lab_a"].x[:, 0, 0, 0]
    assert len(np.unique(kept)) == 300 and np.all(np.diff(kept) > 0)  # distinct, in order
    again = cap_per_source(rendered, 400, seed=0)
    np.testing.assert_array_equal(again["lab_a"].x, capped["lab_a"].x)  # seeded
    other = cap_per_source(rendered, 400, seed=1)
    assert not np.array_equal(other["lab_a"].x, capped["lab_a"].x)
    assert cap_per_source(rendered, 0, seed=0) is rendered


def test_a_negative_cap_is_a_config_error():
    with pytest.raises(ConfigError, match="max_windows_per_source"):
        RecognitionData(max_windows_per_source=-1)
