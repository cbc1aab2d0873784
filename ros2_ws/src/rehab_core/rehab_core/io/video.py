"""Frames from a video file, a stream URL or a camera, as ``Frame`` objects.

Why a wrapper around ``cv2.VideoCapture``: it fails silently (``isOpened()``
false, ``read()`` returning ``(False, None)``), its timestamps can be missing
or go backwards, and whether it applies a phone video's rotation depends on
the OpenCV version and backend. ``VideoSource`` turns those into a clear
``InputSourceError`` at open time, monotonic ``stamp_ns`` values, and upright
frames whatever the backend does.

Rotation: we switch OpenCV's own auto-rotation off (where the backend lets
us) and rotate with ``cv2.rotate`` from ``CAP_PROP_ORIENTATION_META``, so the
result is the same on every OpenCV build. Where the backend refuses to turn
auto-rotation off we trust it to rotate (it is then the one reading the
metadata).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from rehab_core.errors import InputSourceError
from rehab_core.types import Frame

LOG = logging.getLogger(__name__)

_ROTATIONS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
# When the container gives no usable frame rate we still need a time base.
_FALLBACK_FPS = 30.0


def _is_camera(source: str | int | Path) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and source.isdigit())


def _is_stream_url(source: str | int | Path) -> bool:
    return isinstance(source, str) and "://" in source


class VideoSource:
    """Iterate over the frames of a video file, stream URL or camera index.

    ``source``: a path, a URL (``rtsp://...``) or a camera index (int or a
    digit string). A URL is live unless it announces a frame count (a file
    served over HTTP): then it is read as a file. ``max_frames`` stops early
    (handy for tests and previews).

    Attributes after opening: ``fps``, ``width``, ``height`` (of the upright
    frames), ``frame_count`` (-1 when unknown: cameras, streams),
    ``rotation`` (degrees applied), ``name`` (file stem or ``camera<i>``),
    ``is_live``. After iteration, ``ended_early`` tells whether a file
    stopped before its announced frame count (unreadable frame or truncated
    file: the stream ends cleanly at the last good frame, never raises).
    """

    def __init__(
        self,
        source: str | int | Path,
        *,
        frame_id: str = "camera",
        max_frames: int | None = None,
    ) -> None:
        self.frame_id = frame_id
        self.max_frames = max_frames
        self.is_live = _is_camera(source) or _is_stream_url(source)
        self.ended_early = False
        self._index = 0
        self._returned = 0
        self._last_stamp_ns: int | None = None
        self._cap = self._open(source)
        try:
            self._probe()
        except InputSourceError:
            self._cap.release()
            raise

    # -- opening -------------------------------------------------------------

    def _open(self, source: str | int | Path) -> cv2.VideoCapture:
        if _is_camera(source):
            index = int(source)
            self.name = f"camera{index}"
            self.source = index
            cap = cv2.VideoCapture(index)
            if not cap.isOpened():
                cap.release()
                raise InputSourceError(f"camera {index} could not be opened (absent or busy?)")
            return cap
        if _is_stream_url(source):
            self.name = str(source).rsplit("/", 1)[-1] or "stream"
            self.source = str(source)
            cap = cv2.VideoCapture(str(source))
            if not cap.isOpened():
                cap.release()
                raise InputSourceError(f"video stream {source} could not be opened")
            return cap
        path = Path(source)
        self.name = path.stem
        self.source = str(path)
        if not path.exists():
            raise InputSourceError(f"video file not found: {path}")
        if path.is_dir():
            raise InputSourceError(f"expected a video file, got a directory: {path}")
        if not os.access(path, os.R_OK):
            raise InputSourceError(f"video file not readable (permissions): {path}")
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            cap.release()
            raise InputSourceError(f"not a readable video (no decoder could open it): {path}")
        return cap

    def _probe(self) -> None:
        """Read the first frame now so a file that opens but has no frames fails here."""
        cap = self._cap
        self.rotation = 0
        meta = round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        if meta in _ROTATIONS and cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0):
            self.rotation = meta
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps_known = np.isfinite(fps) and 0.5 < fps < 1000.0
        self.fps = fps if self._fps_known else _FALLBACK_FPS
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0
        count = int(count) if np.isfinite(count) else 0
        if self.is_live and count > 0 and not _is_camera(self.source):
            # a recording served over the network (http://host/clip.mp4) announces its
            # length; a camera's stream does not. Read it as the file it is: its own
            # time base, not the wall clock of however fast it downloads
            self.is_live = False
        self.frame_count = count if (count > 0 and not self.is_live) else -1
        self._pending = self._read_one()
        if self._pending is None:
            raise InputSourceError(f"{self.source}: opened but no frame could be decoded")
        self.height, self.width = self._pending.image.shape[:2]

    # -- reading ---------------------------------------------------------------

    def _stamp_ns(self) -> int:
        """Stamp of the frame just read: wall clock for live input, else container time."""
        if self.is_live:
            stamp = time.time_ns()
        else:
            msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            if msec is not None and np.isfinite(msec) and msec >= 0:
                stamp = round(msec * 1e6)
            else:
                stamp = round(self._index * 1e9 / self.fps)
        # Stamps must increase: a container with broken or repeated pts falls
        # back to one frame period after the previous stamp.
        if self._last_stamp_ns is not None and stamp <= self._last_stamp_ns:
            stamp = self._last_stamp_ns + round(1e9 / self.fps)
        self._last_stamp_ns = stamp
        return stamp

    def _read_one(self) -> Frame | None:
        try:
            ok, image = self._cap.read()
        except cv2.error as exc:  # a corrupt packet can raise inside the decoder
            LOG.warning("%s: decoder error at frame %d: %s", self.name, self._index, exc)
            return None
        if not ok or image is None or image.size == 0:
            return None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if self.rotation:
            image = cv2.rotate(image, _ROTATIONS[self.rotation])
        frame = Frame(
            image=np.ascontiguousarray(image),
            stamp_ns=self._stamp_ns(),
            index=self._index,
            encoding="bgr8",
            frame_id=self.frame_id,
        )
        self._index += 1
        return frame

    def read(self) -> Frame | None:
        """Next frame, or None at the end (or after ``max_frames``)."""
        if self._cap is None:
            return None
        if self.max_frames is not None and self._returned >= self.max_frames:
            return None
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            frame = self._read_one()
        if frame is not None:
            self._returned += 1
            return frame
        if self.frame_count > 0 and self._index < self.frame_count - 1:
            # Containers often over-announce by a frame; more than that is a stop.
            self.ended_early = True
            LOG.warning(
                "%s: stream ended at frame %d of %d announced",
                self.name, self._index, self.frame_count,
            )
        return None

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    @property
    def duration_s(self) -> float:
        """Announced duration (frame count / fps); NaN for live input."""
        return self.frame_count / self.fps if self.frame_count > 0 else float("nan")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()

    def __repr__(self) -> str:
        return (
            f"VideoSource({self.source!r}, {self.width}x{self.height} @ {self.fps:.2f} fps, "
            f"frames={self.frame_count}, rotation={self.rotation})"
        )


def read_frames(source: str | Path, indices: Iterable[int]) -> list[Frame]:
    """The frames at ``indices`` of a video file, decoded sequentially (exact, no seeking).

    Seeking is avoided because its accuracy depends on the codec's keyframes;
    decoding up to the last wanted index is slower but always the right frame.
    Indices past the end are simply missing from the result.
    """
    wanted = {int(i) for i in indices}
    if not wanted:
        return []
    out = []
    with VideoSource(source, max_frames=max(wanted) + 1) as video:
        for frame in video:
            if frame.index in wanted:
                out.append(frame)
    return out
