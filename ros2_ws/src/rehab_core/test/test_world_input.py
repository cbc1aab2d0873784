"""3-D classifier input: the body-frame window is the same from every camera yaw and distance,
keeps the movement, and turns bad input into None or a clear error, never NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_recognition_pipeline import LABELS, _world, synthetic_clips

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.recognition.world_input import augment_world, canonical_window, world_windows
from rehab_core.training.recognition_data import RecognitionData, eval_windows, render_clip


def _turn(world: np.ndarray, yaw_deg: float, scale: float = 1.0) -> np.ndarray:
    out = world.copy()
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    out[..., [0, 2]] = out[..., [0, 2]] @ np.array([[c, -s], [s, c]], np.float32).T
    out[..., :3] *= scale
    return out


def test_body_frame_removes_yaw_and_size_but_keeps_the_movement():
    world, stamps = _world("lunge", 2)
    base = canonical_window(world[:30])
    assert base is not None and base.shape == (30, 17, 3) and np.isfinite(base).all()
    for yaw in (35.0, 90.0, 180.0, -120.0):
        other = canonical_window(_turn(world[:30], yaw, scale=1.3))
        np.testing.assert_allclose(other, base, atol=1e-4)
    # the hip line lies on +x, and the movement inside the window is still there
    assert (base[:, 11, 0] - base[:, 12, 0] > 0).all()
    assert np.ptp(base[:, 15, 2]) + np.ptp(base[:, 16, 2]) > 0.1
    x, starts = world_windows(world, stamps, 30, 5, 15.0)
    assert x.shape[1:] == (3, 30, 17) and len(x) == len(starts) > 2


def test_unseen_frames_and_joints_stay_zero_and_bad_windows_are_skipped():
    world, _ = _world("arm_raise", 1)
    w = world[:30].copy()
    w[:5] = 0.0  # person not seen in five frames
    w[10:, 9] = 0.0  # one wrist dropped
    out = canonical_window(w)
    assert out is not None and (out[:5] == 0).all() and (out[10:, 9] == 0).all()
    assert np.abs(out[5:, 0]).sum() > 0
    empty = np.zeros_like(w)
    assert canonical_window(empty) is None
    no_hips = w.copy()
    no_hips[:, 11:13] = 0.0
    assert canonical_window(no_hips) is None
    with pytest.raises(ShapeMismatchError):
        canonical_window(np.zeros((30, 33, 4), np.float32))


def test_short_clip_gives_one_padded_window_and_augmentation_changes_body_not_yaw():
    world, stamps = _world("lunge", 1)
    x, starts = world_windows(world[:20], stamps[:20], 30, 5, 15.0, min_frames=5)
    assert x.shape == (1, 3, 30, 17) and starts[0] == stamps[0]
    aug = augment_world(world, np.random.default_rng(0))
    assert aug.shape == world.shape and not np.allclose(aug, world)
    assert np.isfinite(aug).all()


def test_world3d_windows_for_training_and_evaluation():
    clips = synthetic_clips()
    data = RecognitionData(labels=LABELS, views=2, max_windows_per_rendering=20, input="world3d")
    rendered = render_clip(clips[0], data)
    assert rendered.x.shape[1:] == (3, data.window, 17) and len(rendered.x) > 3
    x, starts = eval_windows(clips[0], data)
    assert len(x) == len(starts) > 0
    # the same movement filmed from sources a and b (other yaw): identical 3-D windows
    np.testing.assert_allclose(eval_windows(clips[0], data)[0], eval_windows(clips[3], data)[0],
                               atol=1e-3)
    with pytest.raises(ConfigError, match="input"):
        RecognitionData(labels=LABELS, input="depth")


def test_fused_windows_carry_2d_and_3d_of_the_same_ticks_and_train(tmp_path):
    from rehab_core.datasets.augment import flip_horizontal
    from rehab_core.training.recognition import leave_sources_out, recognition_spec

    clips = synthetic_clips()
    data = RecognitionData(labels=LABELS, views=1, max_windows_per_rendering=10, input="fused")
    x, starts = eval_windows(clips[0], data)
    flat = RecognitionData(labels=LABELS)
    x2, starts2 = eval_windows(clips[0], flat)
    x3, _ = eval_windows(clips[0], RecognitionData(labels=LABELS, input="world3d"))
    np.testing.assert_array_equal(starts, starts2)
    np.testing.assert_allclose(x[:, :2], x2[:, :2], atol=1e-5)  # the 2-D part as before
    np.testing.assert_allclose(x[:, 3:], x3[: len(x)], atol=1e-5)  # the 3-D part as world3d
    assert render_clip(clips[1], data).x.shape[1:] == (6, data.window, 17)
    mirrored = flip_horizontal(x[0], "coco17", (0, 3))
    np.testing.assert_allclose(mirrored[3, :, 12], -x[0, 3, :, 11])
    spec = recognition_spec(data, "adamw", epochs=1)
    assert spec.in_channels == 6
    summary = leave_sources_out(clips, data, spec, tmp_path, folds=0, log=lambda m: None)
    assert summary["clips"] == 9 and 0.0 <= summary["window_accuracy"] <= 1.0


def test_fused_bundle_streams_with_3d_and_falls_back_to_2d_without(tmp_path):
    from rehab_core.recognition.streaming import StreamingClassifier
    from rehab_core.training.recognition import recognition_spec, train_bundle
    from rehab_core.types import Skeleton

    clips = synthetic_clips()
    flat = RecognitionData(labels=LABELS, views=1, max_windows_per_rendering=10)
    fused = RecognitionData(labels=LABELS, views=1, max_windows_per_rendering=10, input="fused")
    quiet = lambda m: None  # noqa: E731
    train_bundle(clips, flat, recognition_spec(flat, "adamw", 1), tmp_path / "flat", log=quiet)
    with pytest.raises(ConfigError, match="fallback"):
        train_bundle(clips, fused, recognition_spec(fused, "adamw", 1), tmp_path / "x", log=quiet)
    train_bundle(clips, fused, recognition_spec(fused, "adamw", 1), tmp_path / "fused",
                 log=quiet, fallback=tmp_path / "flat")
    clip = clips[1]  # a lunge, with the pose model's 3-D

    def stream(classifier, with_3d):
        out = []
        for i, stamp in enumerate(clip.stamps_ns):
            sk = Skeleton("coco17", clip.keypoints[i],
                          keypoints_3d=clip.world[i] if with_3d else None,
                          space_3d="model" if with_3d else "")
            p = classifier.update(sk, int(stamp))
            if p is not None:
                out.append(np.array([p.scores[k] for k in LABELS]))
        return np.array(out)

    both = StreamingClassifier.from_bundle(tmp_path / "fused")
    assert both.config.input_space == "fused" and both.fallback is not None
    alone = StreamingClassifier.from_bundle(tmp_path / "flat")
    reference = stream(alone, False)
    assert len(reference) > 3
    np.testing.assert_allclose(stream(both, False), reference, atol=1e-6)  # 2-D only: fallback
    both.reset()
    with_3d = stream(both, True)
    assert with_3d.shape == reference.shape and np.isfinite(with_3d).all()
    assert not np.allclose(with_3d, reference, atol=1e-3)  # 3-D present: the fused model
