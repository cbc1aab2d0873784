"""MoveNet estimator: geometry with a scripted backend, real model on real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rehab_core.pose.movenet as movenet_module
from rehab_core.backends.base import TensorSpec
from rehab_core.errors import BadFrameError, ConfigError, ModelLoadError
from rehab_core.io.video import read_frames
from rehab_core.pose.base import PoseEstimator
from rehab_core.pose.movenet import MoveNetEstimator, _body_region, _whole_frame

MODEL = "models/movenet/movenet_singlepose_lightning_int8_4.tflite"


class ScriptedBackend:
    """Stands in for LiteRT: records the input, answers fixed normalised (y, x, score)."""

    name = "scripted"

    def __init__(self, output: np.ndarray, size: int = 192) -> None:
        self.output = output.reshape(1, 1, 17, 3).astype(np.float32)
        self.inputs = [TensorSpec("input", (1, size, size, 3), np.dtype(np.uint8))]
        self.outputs = [TensorSpec("out", (1, 1, 17, 3), np.dtype(np.float32))]
        self.fed: list[np.ndarray] = []

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.fed.append(feeds["input"])
        return [self.output]

    def close(self) -> None:
        pass


def scripted_estimator(monkeypatch: pytest.MonkeyPatch, output: np.ndarray, **kw):
    backend = ScriptedBackend(output)
    monkeypatch.setattr(movenet_module, "create_backend", lambda *a, **k: backend)
    return MoveNetEstimator("scripted.tflite", **kw), backend


def test_letterbox_maps_normalised_points_back_to_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    out = np.zeros((17, 3), np.float32)
    out[:, 2] = 0.9
    out[0, :2] = (0.5, 0.5)  # centre of the square input
    out[1, :2] = (0.25, 0.0)  # left edge, quarter height
    est, backend = scripted_estimator(monkeypatch, out, track_region=False)
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :, 2] = 255  # red frame: RGB input must show it in channel 0
    (skel,) = est.estimate(image)
    # the 640x480 frame sits in a 640x640 square padded 80 px top and bottom
    np.testing.assert_allclose(skel.keypoints[0], [320, 240, 0.9], atol=1e-3)
    np.testing.assert_allclose(skel.keypoints[1], [0, 160 - 80, 0.9], atol=1e-3)
    fed = backend.fed[0]
    assert fed.shape == (1, 192, 192, 3) and fed.dtype == np.uint8
    assert fed[0, 96, 96, 0] == 255 and fed[0, 96, 96, 2] == 0
    assert fed[0, 5, 96].sum() == 0  # padding is black
    assert isinstance(est, PoseEstimator)


def test_low_scores_mean_no_person(monkeypatch: pytest.MonkeyPatch) -> None:
    out = np.full((17, 3), 0.5, np.float32)
    out[:, 2] = 0.1
    est, _ = scripted_estimator(monkeypatch, out)
    assert est.estimate(np.zeros((100, 100, 3), np.uint8)) == []


def test_region_tracking_crops_next_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    # a small body in the middle of a 1000x1000 frame
    out = np.zeros((17, 3), np.float32)
    out[:, 2] = 0.9
    out[:, 0] = np.linspace(0.45, 0.55, 17)
    out[:, 1] = 0.5
    est, _ = scripted_estimator(monkeypatch, out)
    image = np.zeros((1000, 1000, 3), np.uint8)
    (first,) = est.estimate(image)
    assert est._region is not None and est._region[2] < 1000
    (second,) = est.estimate(image)
    # same normalised output, smaller region: points contract towards the region centre
    assert np.ptp(second.keypoints[:, 1]) < np.ptp(first.keypoints[:, 1])
    est.reset()
    assert est._region is None


def test_body_region_rule() -> None:
    kp = np.zeros((17, 3), np.float32)
    assert _body_region(kp, 640, 480) is None  # torso unseen -> whole frame
    kp[:, 2] = 0.9
    kp[:, 0], kp[:, 1] = 320, 240
    kp[[5, 6], 1], kp[[11, 12], 1] = 200, 260  # shoulders, hips
    kp[[5, 11], 0], kp[[6, 12], 0] = 300, 340
    x0, y0, side = _body_region(kp, 640, 480)
    assert side == pytest.approx(2 * 1.9 * 60)  # torso y-range from the hip centre
    assert (x0 + side / 2, y0 + side / 2) == pytest.approx((320, 260))
    assert _whole_frame(640, 480) == (0.0, -80.0, 640.0)


def test_bad_config_and_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model_path"):
        MoveNetEstimator(None)
    with pytest.raises(ConfigError, match="litert"):
        MoveNetEstimator(tmp_path / "m.tflite", backend="onnxruntime")
    with pytest.raises(ModelLoadError, match="not found"):
        MoveNetEstimator(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelLoadError):
        MoveNetEstimator(junk)


@pytest.fixture(scope="module")
def model_path(shared_dir: Path) -> Path:
    return shared_dir / MODEL


@pytest.mark.shared
def test_real_model_finds_the_person(model_path: Path, shared_dir: Path) -> None:
    frames = read_frames(shared_dir / "media/exercise/squat.mp4", range(0, 40, 4))
    with MoveNetEstimator(model_path) as est:
        results = [est.estimate(f.image) for f in frames]
        with pytest.raises(BadFrameError):
            est.estimate(np.zeros((10, 10), np.uint8))
    assert all(len(r) == 1 for r in results)
    h, w = frames[0].image.shape[:2]
    for (skel,) in results[1:]:  # from the second frame on, region tracking is active
        kp = skel.keypoints
        assert kp[:, 2].mean() > 0.5
        seen = kp[kp[:, 2] > 0.3]
        assert np.all((seen[:, 0] >= 0) & (seen[:, 0] <= w) & (seen[:, 1] >= 0)
                      & (seen[:, 1] <= h))
        assert kp[0, 1] < kp[[5, 6], 1].mean() < kp[[11, 12], 1].mean() < kp[[15, 16], 1].mean()


@pytest.mark.shared
def test_real_model_blank_and_shifted_frame(model_path: Path, shared_dir: Path) -> None:
    (frame,) = read_frames(shared_dir / "media/exercise/squat.mp4", [20])
    with MoveNetEstimator(model_path, track_region=False) as est:
        assert est.estimate(np.zeros((480, 640, 3), np.uint8)) == []
        (a,) = est.estimate(frame.image)
        # the same picture inside a larger black canvas: keypoints shift with it
        canvas = np.zeros((900, 1400, 3), np.uint8)
        canvas[100:820, 120:1400] = frame.image
        (b,) = est.estimate(canvas)
    good = (a.keypoints[:, 2] > 0.35) & (b.keypoints[:, 2] > 0.35)
    assert good.sum() >= 10
    shift = b.keypoints[good, :2] - a.keypoints[good, :2]
    # within two model-input pixels (1400 / 192 px each): the model sees a rescaled person
    np.testing.assert_allclose(np.median(shift, axis=0), [120, 100], atol=2 * 1400 / 192)
