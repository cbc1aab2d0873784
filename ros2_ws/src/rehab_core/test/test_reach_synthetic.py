"""Synthetic reach generator: reproducible, labelled consistently, noisy as documented."""

from __future__ import annotations

import numpy as np

from rehab_core.reach.babynet import NOR, RF, RN, R
from rehab_core.reach.synthetic import generate_dataset, generate_sequence


def test_same_seed_same_sequence():
    a, b = generate_sequence(7), generate_sequence(7)
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.labels, b.labels)
    for da, db in zip(a.detections, b.detections):
        assert [d.label for d in da] == [d.label for d in db]
        for x, y in zip(da, db):
            np.testing.assert_array_equal(x.box, y.box)
    assert not np.array_equal(generate_sequence(8).labels[:50], a.labels[:50]) or len(
        generate_sequence(8)) != len(a)


def test_labels_form_onset_reach_offset_spans():
    seqs = generate_dataset(30, seed=3)
    spans = []
    for seq in seqs:
        for ev in seq.events:
            s = 0 if ev.side == "left" else 1
            col = seq.labels[:, s]
            assert col[ev.onset] == RN and col[ev.offset] == RF
            assert np.all(col[ev.onset + 1:ev.offset] == R)
            spans.append(ev.offset - ev.onset + 1)
        # every RN has its RF: no dangling reaches
        for s in range(2):
            assert (seq.labels[:, s] == RN).sum() == (seq.labels[:, s] == RF).sum()
    assert 4 <= np.median(spans) <= 16 and min(spans) >= 2
    labels = np.concatenate([s.labels.ravel() for s in seqs])
    assert (labels == NOR).mean() > 0.6  # reaching is the minority, as in real play


def test_variability_scale_fps_and_noise():
    seqs = generate_dataset(30, seed=4)
    diags = [s.infant_diag_px for s in seqs]
    assert max(diags) / min(diags) > 2.5
    assert len({round(s.fps) for s in seqs}) > 3
    assert sum(s.abandoned for s in seqs) > 5
    hands_missing = sum(
        1 for s in seqs for dets in s.detections
        if sum(d.label == "left_hand" for d in dets) == 0
    )
    assert hands_missing > 0
