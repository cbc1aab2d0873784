"""YOLOX decoding: exact on a constructed output, and a real person found on real frames."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rehab_core.detection.base import ObjectDetector
from rehab_core.detection.yolox import YoloxDetector, yolox_grid
from rehab_core.errors import ShapeMismatchError


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@pytest.fixture(scope="module")
def constant_yolox(tmp_path_factory):
    """An ONNX model with the YOLOX-nano interface whose output is a fixed tensor.

    The stride-16 anchor at grid cell (10, 5) encodes a box centred at
    (10*16, 5.25*16) = (160, 84), size 64x128 in the 416 input, class 2,
    objectness 0.9 × class 0.8; a second, overlapping lower-scoring box of the
    same class must be suppressed, one of another class kept.
    """
    grid, strides = yolox_grid((416, 416))
    out = np.zeros((1, grid.shape[0], 85), np.float32)  # obj = cls = 0 -> score 0

    def put(cell_xy, stride, dxy, wh, cls, obj, p):
        a = np.flatnonzero((grid == cell_xy).all(1) & (strides[:, 0] == stride))[0]
        out[0, a, :2] = dxy
        out[0, a, 2:4] = np.log(np.asarray(wh, np.float32) / stride)
        out[0, a, 4] = obj
        out[0, a, 5 + cls] = p
        return a

    put((10, 5), 16, (0.0, 0.25), (64, 128), 2, 0.9, 0.8)
    put((11, 5), 16, (-0.45, 0.25), (64, 128), 2, 0.9, 0.5)  # duplicate: suppressed
    put((10, 6), 16, (0.55, -0.75), (64, 128), 7, 0.9, 0.6)  # other class: kept
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 416, 416])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3549, 85])
    const = numpy_helper.from_array(out, "table")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Add", ["table", "z"], ["output"]),
    ]
    graph = helper.make_graph(nodes, "yolox_const", [x], [y], initializer=[const, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("yolox") / "yolox_const.onnx"
    onnx.save(model, path)
    return path


def test_decode_exact_on_constructed_output(constant_yolox):
    labels = [f"c{i}" for i in range(80)]
    det = YoloxDetector(constant_yolox, labels=labels, conf_threshold=0.3)
    assert isinstance(det, ObjectDetector)
    image = np.zeros((208, 416, 3), np.uint8)
    found = det.detect(image)
    assert [d.label for d in found] == ["c2", "c7"]
    assert found[0].score == pytest.approx(0.72, abs=1e-5)
    # r = min(416/208, 416/416) = 1: box in input px == image px, clipped to the image
    assert np.allclose(found[0].box, [128, 20, 192, 148], atol=1e-3)
    half = det.detect(np.zeros((416, 832, 3), np.uint8))  # r = 0.5: everything doubles
    assert np.allclose(half[0].box, [256, 40, 384, 296], atol=1e-3)
    clipped = det.detect(np.zeros((100, 416, 3), np.uint8))
    assert clipped[0].box[3] == pytest.approx(100)


def test_wrong_labels_count_is_refused(constant_yolox):
    with pytest.raises(ShapeMismatchError, match="3 labels"):
        YoloxDetector(constant_yolox, labels=["a", "b", "c"])


def _frame(shared_dir, name, index):
    cap = cv2.VideoCapture(str(shared_dir / "media" / name))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of {name}"
    return frame


def _movenet_keypoints(shared_dir, frame):
    """Confident MoveNet keypoints (x, y) in frame pixels: an independent person locator."""
    from rehab_core.backends import create_backend
    from rehab_core.vision import letterbox_top_left

    backend = create_backend(
        shared_dir / "models/movenet/movenet_singlepose_lightning_int8_4.tflite", num_threads=1
    )
    padded, r = letterbox_top_left(frame, 192, pad_value=0)
    rgb = cv2.cvtColor(padded, cv2.COLOR_BGR2RGB)[None]
    (out,) = backend.run({backend.inputs[0].name: rgb})
    yx_score = out[0, 0]
    confident = yx_score[yx_score[:, 2] > 0.3]
    return np.stack([confident[:, 1] * 192 / r, confident[:, 0] * 192 / r], 1)


@pytest.mark.parametrize(
    ("clip", "index"),
    [("exercise/squat.mp4", 300), ("exercise/jacks.mp4", 200), ("exercise/squat2.mp4", 100)],
)
@pytest.mark.shared
def test_person_found_on_real_frames(shared_dir, clip, index):
    det = YoloxDetector(shared_dir / "models/yolox/yolox_nano.onnx")
    assert det.labels[0] == "person" and len(det.labels) == 80
    frame = _frame(shared_dir, clip, index)
    h, w = frame.shape[:2]
    people = [d for d in det.detect(frame) if d.label == "person" and d.score > 0.5]
    assert people, f"no person found in {clip}#{index}"
    best = max(people, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
    x1, y1, x2, y2 = best.box
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert (y2 - y1) > 0.2 * h, "person box implausibly small"
    assert (x2 - x1) * (y2 - y1) < 0.95 * w * h, "person box covers the whole frame"
    kpts = _movenet_keypoints(shared_dir, frame)
    assert len(kpts) >= 5
    margin = 0.1 * max(x2 - x1, y2 - y1)
    inside = ((kpts[:, 0] > x1 - margin) & (kpts[:, 0] < x2 + margin)
              & (kpts[:, 1] > y1 - margin) & (kpts[:, 1] < y2 + margin))
    assert inside.mean() >= 0.8, f"MoveNet keypoints outside the YOLOX person box: {inside}"


@pytest.mark.shared
def test_rgb_and_portrait_input(shared_dir):
    det = YoloxDetector(shared_dir / "models/yolox/yolox_nano.onnx")
    frame = _frame(shared_dir, "exercise/squat.mp4", 300)
    portrait = np.ascontiguousarray(np.rot90(frame))  # a phone-style portrait frame
    rotated = [d for d in det.detect(portrait) if d.label == "person" and d.score > 0.4]
    assert rotated, "person not found in the portrait (rotated) frame"
    as_rgb = det.detect(frame[:, :, ::-1].copy(), encoding="rgb8")
    as_bgr = det.detect(frame)
    assert len(as_rgb) == len(as_bgr)
    assert np.allclose(as_rgb[0].box, as_bgr[0].box, atol=1e-3)
