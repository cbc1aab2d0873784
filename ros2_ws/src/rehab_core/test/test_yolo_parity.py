"""Our YOLO pose/detect decoding matches ultralytics' own predict on the same ONNX file.

The models are random-init yolo11n built from ultralytics' yaml and exported
to ONNX at 320 once per session (no weights exist offline). Random weights
give arbitrary detections; what is compared is the pipeline: the same ONNX
file, our letterbox/decode/NMS/un-letterbox vs ultralytics', on real frames
(../shared) and on synthetic frames of several aspect ratios.
"""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest

from rehab_core.detection.base import ObjectDetector
from rehab_core.detection.yolo_detect import YoloDetector
from rehab_core.pose.base import PoseEstimator
from rehab_core.pose.yolo_pose import YoloPoseEstimator

pytest.importorskip("ultralytics")
CONF = 0.25
TOP_FRACTION = 0.03  # random weights: per frame, keep the anchors scoring in the top 3 %
NETWORK_ATTEMPTS: list = []


@pytest.fixture(scope="session")
def yolo_onnx(tmp_path_factory):
    """{"pose": path, "detect": path} exported once; fails if anything touches the network."""
    import torch

    from rehab_core.export.yolo import cached_random_yolo_onnx

    torch.set_num_threads(2)
    cache = tmp_path_factory.getbasetemp() / "yolo_models"

    def refuse(*args, **kwargs):
        NETWORK_ATTEMPTS.append(args)
        raise OSError("network access is not allowed in tests")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        paths = {t: cached_random_yolo_onnx(cache, t, imgsz=320) for t in ("pose", "detect")}
    assert not NETWORK_ATTEMPTS, f"export tried the network: {NETWORK_ATTEMPTS}"
    return paths


def synthetic_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    frames = []
    for h, w in ((480, 640), (720, 405), (333, 517)):
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        cv2.rectangle(img, (w // 4, h // 5), (w // 2, h - 20), (40, 200, 90), -1)
        cv2.circle(img, (w // 3, h // 4), max(h // 10, 5), (220, 180, 160), -1)
        frames.append(img)
    return frames


def shared_frames(shared_dir) -> list[np.ndarray]:
    frames = []
    for name in ("exercise/squat.mp4", "exercise/pushup_v961k.mp4", "non_exercise/ta_chi.mp4"):
        cap = cv2.VideoCapture(str(shared_dir / "media" / name))
        cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
        ok, frame = cap.read()
        cap.release()
        assert ok, f"cannot read {name}"
        frames.append(frame)
    return frames


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def match(ours: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ours, theirs) of mutual best-IoU pairs."""
    if not len(ours) or not len(theirs):
        return np.zeros(0, int), np.zeros(0, int)
    iou = _iou(ours, theirs)
    best = iou.argmax(1)
    mutual = iou.argmax(0)[best] == np.arange(len(ours))
    keep = mutual & (iou[np.arange(len(ours)), best] > 0.9)
    return np.flatnonzero(keep), best[keep]


def frame_conf(model, frame) -> float:
    """A confidence threshold that keeps the top few percent of this frame's anchors."""
    from rehab_core.vision.yolo import yolo_blob

    raw = model.infer_raw(yolo_blob(frame, model.input_size)[0])
    scores = raw[0, 4 : 4 + model.nc].max(0) if hasattr(model, "nc") else raw[0, 4:].max(0)
    return float(np.quantile(scores, 1 - TOP_FRACTION))


def matched_frames(ours, ref, frames, run):
    """Per frame, ``(frame, our items, ultralytics' result, i, j)``: matched pairs of boxes.

    Both sides get the same per-frame threshold; their counts must agree within
    10 %, 90 % of ours must match one of theirs, and matched boxes within 1 px.
    """
    for frame in frames:
        ours.conf_threshold = conf = frame_conf(ours, frame)
        items = run(frame)
        result = ref.predict(frame, imgsz=320, conf=conf, verbose=False)[0]
        their_boxes = result.boxes.xyxy.numpy()
        assert abs(len(items) - len(their_boxes)) <= max(1, len(their_boxes) // 10)
        if not items:
            continue
        our_boxes = np.stack([item.box for item in items])
        i, j = match(our_boxes, their_boxes)
        assert len(i) >= 0.9 * len(items), f"matched {len(i)} of {len(items)}"
        assert np.abs(our_boxes[i] - their_boxes[j]).max() <= 1.0
        yield frame, items, result, i, j


def assert_pose_parity(path, frames):
    from ultralytics import YOLO

    ours = YoloPoseEstimator(path, conf_threshold=CONF)
    assert isinstance(ours, PoseEstimator)
    ref = YOLO(str(path), task="pose")
    total = 0
    for frame, skeletons, result, i, j in matched_frames(ours, ref, frames, ours.estimate):
        our_kpts = np.stack([skeletons[k].keypoints for k in i])
        their_kpts = result.keypoints.data.numpy()[j]
        assert np.abs(our_kpts[..., :2] - their_kpts[..., :2]).max() <= 1.0
        assert np.abs(our_kpts[..., 2] - their_kpts[..., 2]).max() <= 1e-3
        scores = np.array([skeletons[k].score for k in i])
        assert np.abs(scores - result.boxes.conf.numpy()[j]).max() <= 1e-3
        h, w = frame.shape[:2]
        our_boxes = np.stack([s.box for s in skeletons])
        assert (our_boxes[:, [0, 2]] <= w).all() and (our_boxes[:, [1, 3]] <= h).all()
        total += len(i)
    assert total > 0, "no detections compared: raise CONF coverage"
    ours.close()


def test_pose_parity_synthetic(yolo_onnx):
    assert_pose_parity(yolo_onnx["pose"], synthetic_frames())


@pytest.mark.shared
def test_pose_parity_real_frames(yolo_onnx, shared_dir):
    assert_pose_parity(yolo_onnx["pose"], shared_frames(shared_dir))


def assert_detect_parity(path, frames):
    from ultralytics import YOLO

    ours = YoloDetector(path, conf_threshold=CONF)
    assert isinstance(ours, ObjectDetector)
    assert ours.labels == ["class0", "class1", "class2", "class3"]  # from ONNX metadata
    ref = YOLO(str(path), task="detect")
    total = 0
    for _frame, dets, result, i, j in matched_frames(ours, ref, frames, ours.detect):
        assert [dets[k].class_id for k in i] == result.boxes.cls.numpy()[j].astype(int).tolist()
        total += len(i)
    assert total > 0
    ours.close()


def test_detect_parity_synthetic(yolo_onnx):
    assert_detect_parity(yolo_onnx["detect"], synthetic_frames())


@pytest.mark.shared
def test_detect_parity_real_frames(yolo_onnx, shared_dir):
    assert_detect_parity(yolo_onnx["detect"], shared_frames(shared_dir))


def test_labels_file_overrides_metadata(yolo_onnx, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("infant\nleft_hand\nright_hand\nobject\n")
    det = YoloDetector(yolo_onnx["detect"], labels=labels, conf_threshold=CONF)
    assert det.labels == ["infant", "left_hand", "right_hand", "object"]
    names = {d.label for d in det.detect(synthetic_frames()[0])}
    assert names <= set(det.labels)
    labels.write_text("only_one\n")
    from rehab_core.errors import ShapeMismatchError

    with pytest.raises(ShapeMismatchError, match="1 labels"):
        YoloDetector(yolo_onnx["detect"], labels=labels)


def test_estimator_rejects_bad_frames_and_wrong_model(yolo_onnx):
    from rehab_core.errors import BadFrameError, ConfigError, ShapeMismatchError

    est = YoloPoseEstimator(yolo_onnx["pose"])
    with pytest.raises(BadFrameError):
        est.estimate(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(BadFrameError):
        est.estimate(np.zeros((10, 10, 3), np.float32))
    assert est.estimate(np.full((10, 2000, 3), 114, np.uint8)) is not None  # extreme aspect ok
    rgb = synthetic_frames()[0]
    a = est.estimate(rgb[:, :, ::-1].copy(), encoding="rgb8")
    b = est.estimate(rgb)
    assert len(a) == len(b)
    with pytest.raises(ShapeMismatchError, match="17×3"):
        YoloPoseEstimator(yolo_onnx["detect"])
    with pytest.raises(ConfigError, match="fixed at 320x320"):
        YoloPoseEstimator(yolo_onnx["pose"], imgsz=640)
