"""Every camera encoding round-trips through a bag written by our bag tools.

A frame is converted to what a driver would send (``bgr8_to_array``), written
with ``write_image_bag`` (also with row padding and big-endian 16 bit), read
back with ``BagFrameSource`` (which decodes through the one table) and compared
to the source within the encoding's loss: exact for lossless layouts, small
for chroma subsampling (YUV 4:2:2, NV12) and Bayer demosaicing. A synthetic
scene tests it without ../shared; a real clip when ../shared is there.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rehab_core.errors import BadFrameError
from rehab_core.io.bag import BagFrameSource, write_image_bag
from rehab_core.io.video import VideoSource
from rehab_core.types import Frame
from rehab_core.vision.encodings import (
    ENCODINGS,
    SUPPORTED_ENCODINGS,
    array_to_bgr8,
    bgr8_to_array,
    buffer_view,
    decode_buffer,
    decode_compressed,
)

LOSSLESS = {"bgr8", "rgb8", "bgra8", "rgba8", "bgr16", "rgb16"}
GRAY = {"mono8", "mono16"}
# Mean absolute error allowed (0..255) for the lossy layouts: half-resolution
# chroma and a bilinear Bayer demosaic lose detail at edges only.
LOSSY_MEAN = {"yuv": 4.0, "nv": 4.0, "bayer": 8.0}


def _scene(h: int = 120, w: int = 160) -> np.ndarray:
    """A smooth colour scene with a few hard edges (a person-sized block, a stripe)."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    img = np.dstack([xx / w * 200 + 20, yy / h * 180 + 40, (xx + yy) / (w + h) * 220 + 10])
    img[h // 4: 3 * h // 4, w // 3: w // 2] = (30, 160, 220)
    img[:, -20:-12] = (250, 250, 250)
    return img.astype(np.uint8)


def _reference(bgr: np.ndarray, encoding: str) -> np.ndarray:
    if encoding in GRAY:
        return cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return bgr


def _allowed(encoding: str) -> float:
    if encoding in LOSSLESS or encoding in GRAY:
        return 0.0
    if encoding.startswith("bayer"):
        return LOSSY_MEAN["bayer"]
    return LOSSY_MEAN["nv" if encoding.startswith("nv") else "yuv"]


def _round_trip(tmp_path, frames, encoding, **kwargs) -> list[Frame]:
    bag = tmp_path / f"bag_{encoding}"
    assert write_image_bag(bag, frames, encoding=encoding, **kwargs) == len(frames)
    return list(BagFrameSource(bag))


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_synthetic_round_trip_through_a_bag(tmp_path, encoding):
    bgr = _scene()
    frames = [Frame(bgr, 1_000_000_000 + i * 33_000_000, i) for i in range(2)]
    back = _round_trip(tmp_path, frames, encoding, row_padding=6, big_endian=True)
    assert len(back) == 2
    for got in back:
        assert got.stamp_ns == frames[got.index].stamp_ns
        decoded = array_to_bgr8(got.image, got.encoding) if got.encoding != "bgr8" else got.image
        assert decoded.shape == bgr.shape
        err = np.abs(decoded.astype(np.int16) - _reference(bgr, encoding))
        assert err.mean() <= _allowed(encoding) + 1e-9, (encoding, err.mean())
        if ENCODINGS[encoding].native:
            assert got.encoding == encoding  # passed on as a view, converted by the model
        else:
            assert got.encoding == "bgr8"  # converted once, where the message is read


@pytest.mark.parametrize("encoding", ["rggb8", "bggr8", "gbrg8", "grbg8"])
def test_bayer_patterns_are_not_interchangeable(encoding):
    """Decoding a mosaic with the wrong pattern is far off: the table's pattern matters."""
    bgr = _scene()
    mosaic = bgr8_to_array(bgr, f"bayer_{encoding}")
    right = np.abs(array_to_bgr8(mosaic, f"bayer_{encoding}").astype(int) - bgr).mean()
    for other in {"rggb8", "bggr8", "gbrg8", "grbg8"} - {encoding}:
        wrong = np.abs(array_to_bgr8(mosaic, f"bayer_{other}").astype(int) - bgr).mean()
        assert wrong > 4 * max(right, 1.0), (encoding, other, right, wrong)


def test_sixteen_bit_byte_order_and_step_padding():
    gray16 = np.array([[0x0102, 0xFF00, 0x8000]], np.uint16)
    big = gray16.astype(">u2").tobytes() + b"\0\0"  # 2 bytes of padding per row
    view = buffer_view(big, "mono16", 3, 1, step=8, is_bigendian=True)
    assert view.tolist() == gray16.tolist()
    little = gray16.astype("<u2").tobytes()
    assert buffer_view(little, "mono16", 3, 1, is_bigendian=False).tolist() == gray16.tolist()
    image, enc = decode_buffer(big, "mono16", 3, 1, step=8, is_bigendian=True)
    assert enc == "bgr8" and image[0, :, 0].tolist() == [0x01, 0xFF, 0x80]


def test_native_encoding_is_a_zero_copy_view():
    data = bytearray(_scene().tobytes())
    image, enc = decode_buffer(data, "bgr8", 160, 120)
    assert enc == "bgr8" and np.shares_memory(image, np.frombuffer(data, np.uint8))


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"\0" * 10, "xyz42", 2, 2), "unknown encoding 'xyz42'"),
        ((b"\0" * 11, "bgr8", 2, 2), "has 11 bytes; 2x2 bgr8 with step 6 needs 12"),
        ((b"\0" * 100, "bgr8", 4, 2, 8), "step 8 is shorter than a row"),
        ((b"\0" * 5, "nv12", 2, 2), "needs 6"),
        ((b"", "mono8", 0, 4), "empty image"),
        ((b"\0" * 6, "yuyv", 3, 1), "even width and height"),
    ],
)
def test_malformed_buffers_raise_a_specific_error(args, reason):
    with pytest.raises(BadFrameError, match=reason):
        decode_buffer(*args)


def test_bad_message_in_a_bag_is_skipped_and_reported(tmp_path):
    """A message that cannot be decoded is dropped with its reason; the replay goes on."""
    bgr = _scene()
    frames = [Frame(bgr, i + 1, i) for i in range(3)]
    frames[1] = Frame(np.zeros((120, 159, 2), np.uint8), 2, 1, encoding="yuyv")  # odd width
    write_image_bag(tmp_path / "mixed", frames)
    source = BagFrameSource(tmp_path / "mixed")
    reasons: list[str] = []
    source.on_bad_frame = reasons.append
    got = list(source)
    assert [f.stamp_ns for f in got] == [1, 3]
    assert source.bad_frames == 1 and len(reasons) == 1
    assert "bag message 1" in reasons[0] and "even width" in reasons[0]


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_compressed_jpeg_and_png_decode_to_bgr8(fmt):
    bgr = _scene()
    ok, buf = cv2.imencode(f".{'jpg' if fmt == 'jpeg' else 'png'}", bgr)
    assert ok
    image, enc = decode_compressed(buf.tobytes(), f"bgr8; {fmt} compressed bgr8")
    assert enc == "bgr8" and image.shape == bgr.shape
    assert np.abs(image.astype(int) - bgr).mean() < (3.0 if fmt == "jpeg" else 1e-9)


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"not an image", "jpeg", "undecodable compressed image"),
        (b"", "png", "empty compressed image"),
        (b"\0" * 20, "16UC1; compressedDepth png", "compressed depth"),
    ],
)
def test_bad_compressed_payloads_raise(data, fmt, reason):
    with pytest.raises(BadFrameError, match=reason):
        decode_compressed(data, fmt)


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_real_clip_round_trip_through_a_bag(tmp_path, shared_dir, encoding):
    clip = shared_dir / "media" / "exercise" / "squat.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found")
    frames = list(VideoSource(clip, max_frames=3))
    back = _round_trip(tmp_path, frames, encoding, row_padding=4)
    assert len(back) == len(frames)
    for src, got in zip(frames, back, strict=True):
        decoded = array_to_bgr8(got.image, got.encoding)
        err = np.abs(decoded.astype(np.int16) - _reference(src.image, encoding))
        assert err.mean() <= _allowed(encoding) + 1e-9, (encoding, err.mean())
