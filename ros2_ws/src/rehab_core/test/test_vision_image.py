"""as_bgr8 accepts every supported encoding and refuses bad frames with a reason;
letterbox matches ultralytics' LetterBox; NMS keeps the right boxes."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import BadFrameError
from rehab_core.vision import (
    as_bgr8,
    letterbox,
    letterbox_top_left,
    nms,
    nms_per_class,
    unletterbox_boxes,
    unletterbox_points,
)

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 255, (7, 9, 3), dtype=np.uint8)


def test_bgr8_contiguous_is_not_copied():
    assert as_bgr8(BGR) is BGR


def test_bgr8_non_contiguous_becomes_contiguous_copy():
    view = BGR[:, ::2]
    out = as_bgr8(view)
    assert out.flags.c_contiguous and np.array_equal(out, view)


@pytest.mark.parametrize(
    ("encoding", "image"),
    [
        ("rgb8", BGR[:, :, ::-1].copy()),
        ("bgra8", np.dstack([BGR, np.full(BGR.shape[:2], 255, np.uint8)])),
        ("rgba8", np.dstack([BGR[:, :, ::-1], np.zeros(BGR.shape[:2], np.uint8)])),
    ],
)
def test_colour_encodings_convert_to_bgr(encoding, image):
    out = as_bgr8(image, encoding)
    assert out.shape == BGR.shape and out.dtype == np.uint8
    assert np.array_equal(out, BGR)


@pytest.mark.parametrize("gray", [BGR[:, :, 0].copy(), BGR[:, :, :1].copy()])
def test_mono8_2d_and_hw1(gray):
    out = as_bgr8(gray, "mono8")
    assert out.shape == (7, 9, 3)
    assert np.array_equal(out[:, :, 0], gray.reshape(7, 9))
    assert np.array_equal(out[:, :, 2], gray.reshape(7, 9))


@pytest.mark.parametrize(
    ("image", "encoding", "reason"),
    [
        (None, "bgr8", "None"),
        (np.zeros((0, 5, 3), np.uint8), "bgr8", "empty"),
        (np.zeros((5, 0, 3), np.uint8), "bgr8", "empty"),
        (BGR.astype(np.float32), "bgr8", "dtype"),
        (BGR.astype(np.uint16), "bgr8", "dtype"),
        (BGR, "rgba8", "channel"),
        (BGR[:, :, 0], "bgr8", "channel"),
        (BGR, "mono8", "channel"),
        (BGR, "yuv422", "channel"),
        (BGR, "xyz42", "unknown encoding"),
        (BGR.astype(np.uint16), "bgr8", "dtype"),
        (BGR[:, :, :2].copy(), "yuyv", "even width"),
        (np.zeros((2, 2, 3, 1), np.uint8), "bgr8", "channel"),
        ([[1, 2], [3, 4]], "mono8", "numpy"),
    ],
)
def test_bad_frames_raise_with_reason(image, encoding, reason):
    with pytest.raises(BadFrameError, match=reason):
        as_bgr8(image, encoding)


def _ultralytics_letterbox(image, size):
    augment = pytest.importorskip("ultralytics.data.augment")
    return augment.LetterBox(new_shape=(size, size), auto=False)(image=image)


@pytest.mark.parametrize("shape", [(480, 640), (1080, 1920), (1920, 1080), (333, 517), (50, 7)])
def test_letterbox_matches_ultralytics(shape):
    image = RNG.integers(0, 255, (*shape, 3), dtype=np.uint8)
    padded, ratio, pad = letterbox(image, 320)
    ref = _ultralytics_letterbox(image, 320)
    assert padded.shape == (320, 320, 3)
    assert np.array_equal(padded, ref)
    # pixel (pad) in letterbox space maps back to the origin
    back = unletterbox_points(np.array([[pad[0], pad[1]]], np.float32), ratio, pad)
    assert np.allclose(back, 0, atol=1e-4)
    assert min(ratio) > 0


def test_unletterbox_boxes_roundtrip_and_clip():
    image = np.zeros((480, 640, 3), np.uint8)
    _, ratio, pad = letterbox(image, 320)
    boxes = np.array([[100, 50, 300, 400]], np.float32)
    lb = boxes.copy()
    lb[:, [0, 2]] = lb[:, [0, 2]] * ratio[0] + pad[0]
    lb[:, [1, 3]] = lb[:, [1, 3]] * ratio[1] + pad[1]
    assert np.allclose(unletterbox_boxes(lb, ratio, pad), boxes, atol=1e-3)
    far = np.array([[-50, -50, 900, 900]], np.float32)
    clipped = unletterbox_boxes(far, ratio, pad, image.shape)
    assert np.allclose(clipped, [[0, 0, 640, 480]])


def test_letterbox_top_left_pads_right_and_bottom():
    image = np.full((100, 200, 3), 7, np.uint8)
    padded, r = letterbox_top_left(image, 416)
    assert padded.shape == (416, 416, 3) and r == pytest.approx(416 / 200)
    assert (padded[:208] == 7).all() and (padded[208:] == 114).all()


def test_nms_suppresses_overlaps_and_orders_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.5, 0.9, 0.7, 0.1], np.float32)
    keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == [1, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0)).size == 0


def test_nms_per_class_keeps_overlapping_boxes_of_other_classes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    keep = nms_per_class(boxes, scores, np.array([0, 0, 1]), 0.5)
    assert sorted(keep.tolist()) == [0, 2]


def test_nms_matches_torchvision():
    torchvision = pytest.importorskip("torchvision")
    import torch

    xy = RNG.uniform(0, 200, (300, 2)).astype(np.float32)
    wh = RNG.uniform(5, 60, (300, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + wh], 1)
    scores = RNG.uniform(0, 1, 300).astype(np.float32)
    ref = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.45).numpy()
    assert nms(boxes, scores, 0.45).tolist() == ref.tolist()


def test_to_nchw_float_matches_blob_and_reuses_buffer():
    import cv2

    from rehab_core.vision import to_nchw_float

    image = RNG.integers(0, 255, (32, 48, 3), dtype=np.uint8)
    ref = cv2.dnn.blobFromImage(image, 1.0, swapRB=True) / np.float32(255)
    out = to_nchw_float(image, 255.0, swap_rb=True)
    assert out.shape == (1, 3, 32, 48) and np.array_equal(out, ref)
    buf = np.empty_like(out)
    assert to_nchw_float(image, out=buf) is buf
    assert np.array_equal(buf[0], image.transpose(2, 0, 1).astype(np.float32))
    with pytest.raises(ValueError, match="out must be"):
        to_nchw_float(image, out=np.empty((1, 3, 10, 10), np.float32))
