"""The one image-encoding table of the stack: what a camera driver sends -> BGR8.

Every place that turns pixels into something a model reads (live topics,
bags, in-process frames) goes through ``ENCODINGS``, so a new encoding is
added here once. Names follow ``sensor_msgs/image_encodings.hpp`` (with the
common aliases ``yuyv``/``uyvy``). ROS ``yuv422`` is UYVY byte order and
``yuv422_yuy2`` is YUYV, as in cv_bridge.

The five 8-bit RGB/gray encodings are "native": a message of one of them is
handed on as a zero-copy view and converted to BGR only by the model that
needs it. Every other encoding is converted to ``bgr8`` exactly once, where the
message is read (``decode_buffer``). 16-bit colour and gray keep the top byte
(full-scale 16 bit, as cv_bridge does); depth images (``16UC1``, ``32FC1``)
are not colour and are read by ``rehab_core.pose.depth``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cv2
import numpy as np

from rehab_core.errors import BadFrameError


@dataclass(frozen=True)
class Encoding:
    """How one encoding is laid out in memory and turned into BGR8.

    ``channels``: array elements per pixel (YUV 4:2:2 packs 2 bytes a pixel).
    ``rows_num/rows_den``: rows of the buffer per image row (NV12: 3/2).
    ``to_bgr``: OpenCV conversion code (None: already BGR).
    """

    name: str
    dtype: type
    channels: int
    to_bgr: int | None
    native: bool = False
    rows_num: int = 1
    rows_den: int = 1
    even_size: bool = False
    depth: bool = False

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * np.dtype(self.dtype).itemsize

    def buffer_rows(self, height: int) -> int:
        return height * self.rows_num // self.rows_den


def _table() -> dict[str, Encoding]:
    u8, u16 = np.uint8, np.uint16
    entries = [
        Encoding("bgr8", u8, 3, None, native=True),
        Encoding("rgb8", u8, 3, cv2.COLOR_RGB2BGR, native=True),
        Encoding("bgra8", u8, 4, cv2.COLOR_BGRA2BGR, native=True),
        Encoding("rgba8", u8, 4, cv2.COLOR_RGBA2BGR, native=True),
        Encoding("mono8", u8, 1, cv2.COLOR_GRAY2BGR, native=True),
        Encoding("mono16", u16, 1, cv2.COLOR_GRAY2BGR),
        Encoding("bgr16", u16, 3, None),
        Encoding("rgb16", u16, 3, cv2.COLOR_RGB2BGR),
        Encoding("yuv422", u8, 2, cv2.COLOR_YUV2BGR_UYVY, even_size=True),
        Encoding("uyvy", u8, 2, cv2.COLOR_YUV2BGR_UYVY, even_size=True),
        Encoding("yuv422_yuy2", u8, 2, cv2.COLOR_YUV2BGR_YUY2, even_size=True),
        Encoding("yuyv", u8, 2, cv2.COLOR_YUV2BGR_YUY2, even_size=True),
        Encoding("nv12", u8, 1, cv2.COLOR_YUV2BGR_NV12, rows_num=3, rows_den=2, even_size=True),
        Encoding("nv21", u8, 1, cv2.COLOR_YUV2BGR_NV21, rows_num=3, rows_den=2, even_size=True),
        # ROS names the 2x2 pattern from the top-left pixel; OpenCV's old names are
        # shifted by one, so spell out the pattern (cv_bridge: rggb8 -> BayerBG2BGR).
        Encoding("bayer_rggb8", u8, 1, cv2.COLOR_BayerBG2BGR, even_size=True),
        Encoding("bayer_bggr8", u8, 1, cv2.COLOR_BayerRG2BGR, even_size=True),
        Encoding("bayer_gbrg8", u8, 1, cv2.COLOR_BayerGR2BGR, even_size=True),
        Encoding("bayer_grbg8", u8, 1, cv2.COLOR_BayerGB2BGR, even_size=True),
        # depth: read (step, byte order) here, turned into metres by rehab_core.pose.depth
        Encoding("16UC1", u16, 1, None, depth=True),
        Encoding("32FC1", np.float32, 1, None, depth=True),
    ]
    return {e.name: e for e in entries}


#: encoding name -> layout and conversion (the whole stack's table)
ENCODINGS: dict[str, Encoding] = _table()
#: colour / gray encodings a model can read (depth is not among them)
SUPPORTED_ENCODINGS = tuple(n for n, e in ENCODINGS.items() if not e.depth)
NATIVE_ENCODINGS = tuple(n for n, e in ENCODINGS.items() if e.native)
_BIG_ENDIAN_HOST = sys.byteorder == "big"


def lookup(encoding: str, depth: bool = False) -> Encoding:
    """The colour (with ``depth``: any) table entry, or BadFrameError naming what is supported."""
    enc = ENCODINGS.get(str(encoding)) or ENCODINGS.get(str(encoding).lower())
    if enc is not None and enc.depth and not depth:
        raise BadFrameError(f"{encoding} is a depth image, not colour: give it to the pose "
                            "estimator's depth input")
    if enc is None:
        raise BadFrameError(
            f"unknown encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    return enc


def expected_shape(enc: Encoding, width: int, height: int) -> tuple[int, ...]:
    """Array shape of an unpadded image of this encoding."""
    rows = enc.buffer_rows(height)
    return (rows, width) if enc.channels == 1 else (rows, width, enc.channels)


def array_to_bgr8(image: np.ndarray, encoding: str) -> np.ndarray:
    """An unpadded array in ``encoding`` (shape as ``expected_shape``) -> HxWx3 uint8 BGR.

    A single-channel array may be HxW or HxWx1. Raises BadFrameError for a
    wrong dtype, channel count or an odd size where chroma is subsampled.
    """
    enc = lookup(encoding)
    if image.dtype != enc.dtype:
        raise BadFrameError(
            f"frame dtype must be {np.dtype(enc.dtype).name} for {enc.name}, got {image.dtype} "
            "(no implicit rescaling)"
        )
    if image.ndim == 3 and image.shape[2] == 1 and enc.channels == 1:
        image = image[:, :, 0]
    channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else -1
    if channels != enc.channels:
        raise BadFrameError(
            f"encoding {enc.name} needs {enc.channels} channel(s), got array of shape {image.shape}"
        )
    height = image.shape[0] * enc.rows_den // enc.rows_num
    if enc.buffer_rows(height) != image.shape[0]:
        raise BadFrameError(f"{enc.name} needs a row count divisible by {enc.rows_num}")
    if enc.even_size and (height % 2 or image.shape[1] % 2):
        raise BadFrameError(f"{enc.name} needs an even width and height, got "
                            f"{image.shape[1]}x{height}")
    if enc.dtype is np.uint16:
        image = (image >> 8).astype(np.uint8)  # full-scale 16 bit -> top byte
    if enc.to_bgr is None:
        return image if image.flags.c_contiguous else np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image), enc.to_bgr)


def buffer_view(
    data: bytes | bytearray | memoryview | np.ndarray,
    encoding: str,
    width: int,
    height: int,
    step: int = 0,
    is_bigendian: bool = False,
) -> np.ndarray:
    """A ROS image buffer as an unpadded array in its own encoding (a view when possible).

    ``step`` (bytes per buffer row; 0 = packed) padding is cut off and 16-bit
    data in the other byte order is swapped. Raises BadFrameError for an
    unknown encoding, an empty image, a step shorter than a row, or data shorter
    than ``step`` x rows. Depth encodings (16UC1, 32FC1) are read here too.
    """
    enc = lookup(encoding, depth=True)
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise BadFrameError(f"empty image ({width}x{height})")
    row = width * enc.bytes_per_pixel
    step = int(step) or row
    rows = enc.buffer_rows(height)
    flat = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if step < row:
        raise BadFrameError(f"{enc.name} {width}x{height}: step {step} is shorter than a row "
                            f"({row} bytes)")
    if flat.size < step * rows:
        raise BadFrameError(
            f"image data has {flat.size} bytes; {width}x{height} {enc.name} "
            f"with step {step} needs {step * rows}"
        )
    pixels = flat[: step * rows].reshape(rows, step)[:, :row]
    if enc.dtype is not np.uint8:
        pixels = np.ascontiguousarray(pixels).view(enc.dtype)
        if bool(is_bigendian) != _BIG_ENDIAN_HOST:
            pixels = pixels.byteswap()
    return pixels.reshape(expected_shape(enc, width, height))


def decode_buffer(
    data: bytes | bytearray | memoryview | np.ndarray,
    encoding: str,
    width: int,
    height: int,
    step: int = 0,
    is_bigendian: bool = False,
) -> tuple[np.ndarray, str]:
    """A ROS image buffer -> (array, encoding) the rest of the stack reads.

    Native encodings come back as a zero-copy view in their own encoding;
    everything else is converted once to ``bgr8``. Errors as ``buffer_view``.
    """
    enc = lookup(encoding)
    pixels = buffer_view(data, enc.name, width, height, step, is_bigendian)
    if enc.native:
        return pixels, enc.name
    return array_to_bgr8(pixels, enc.name), "bgr8"


_BAYER_OFFSETS = {  # ROS pattern -> (row, col) of R and of B in the 2x2 tile
    "bayer_rggb8": ((0, 0), (1, 1)),
    "bayer_bggr8": ((1, 1), (0, 0)),
    "bayer_gbrg8": ((1, 0), (0, 1)),
    "bayer_grbg8": ((0, 1), (1, 0)),
}


def bgr8_to_array(bgr: np.ndarray, encoding: str) -> np.ndarray:
    """HxWx3 uint8 BGR -> an unpadded array in ``encoding`` (what a driver would send).

    The inverse of ``array_to_bgr8`` up to the encoding's loss (chroma
    subsampling, Bayer mosaic); used by the bag tools and the tests.
    """
    enc = lookup(encoding)
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise BadFrameError(f"expected HxWx3 uint8 BGR, got {bgr.dtype} {bgr.shape}")
    h, w = bgr.shape[:2]
    if enc.even_size and (h % 2 or w % 2):
        raise BadFrameError(f"{enc.name} needs an even width and height, got {w}x{h}")
    bgr = np.ascontiguousarray(bgr)
    name = enc.name
    if name == "bgr8":
        return bgr
    if name in ("rgb8", "bgra8", "rgba8", "mono8"):
        code = {"rgb8": cv2.COLOR_BGR2RGB, "bgra8": cv2.COLOR_BGR2BGRA,
                "rgba8": cv2.COLOR_BGR2RGBA, "mono8": cv2.COLOR_BGR2GRAY}[name]
        return cv2.cvtColor(bgr, code)
    if name in ("mono16", "bgr16", "rgb16"):
        src = {"mono16": cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), "bgr16": bgr,
               "rgb16": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}[name]
        return src.astype(np.uint16) * np.uint16(257)  # 0..255 -> 0..65535
    if name in ("yuv422", "uyvy"):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_UYVY)
    if name in ("yuv422_yuy2", "yuyv"):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUY2)
    if name in ("nv12", "nv21"):
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).reshape(-1)
        y, rest = i420[: h * w], i420[h * w:]
        u, v = rest[: rest.size // 2], rest[rest.size // 2:]
        uv = np.empty(rest.size, np.uint8)
        uv[0::2], uv[1::2] = (u, v) if name == "nv12" else (v, u)
        return np.concatenate([y, uv]).reshape(h * 3 // 2, w)
    (r_off, b_off) = _BAYER_OFFSETS[name]
    mosaic = bgr[:, :, 1].copy()
    mosaic[r_off[0]::2, r_off[1]::2] = bgr[r_off[0]::2, r_off[1]::2, 2]
    mosaic[b_off[0]::2, b_off[1]::2] = bgr[b_off[0]::2, b_off[1]::2, 0]
    return mosaic


def decode_compressed(data: bytes | bytearray | memoryview | np.ndarray,
                      fmt: str = "") -> tuple[np.ndarray, str]:
    """A CompressedImage payload (JPEG or PNG, image_transport style) -> (bgr8, "bgr8").

    ``fmt`` is the message's ``format`` ("jpeg", "png", "bgr8; jpeg compressed
    bgr8", ...); ``compressedDepth`` (a depth codec with its own header) is
    refused with a clear error, as is anything OpenCV cannot decode.
    """
    if "compresseddepth" in str(fmt).lower():
        raise BadFrameError(f"compressed depth ({fmt!r}) is not a colour image; subscribe to "
                            "the raw depth topic instead")
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if buf.size == 0:
        raise BadFrameError(f"empty compressed image (format {fmt!r})")
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None:
        raise BadFrameError(f"undecodable compressed image (format {fmt!r}, {buf.size} bytes; "
                            "JPEG and PNG are supported)")
    return image, "bgr8"
