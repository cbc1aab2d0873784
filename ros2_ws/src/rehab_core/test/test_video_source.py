"""VideoSource: real clips, clips the test writes itself, rotation metadata, bad input."""

from __future__ import annotations

import functools
import http.server
import socketserver
import struct
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from rehab_core.errors import InputSourceError
from rehab_core.io.video import VideoSource
from rehab_core.types import Frame

W, H, FPS, N = 64, 48, 10.0, 12


def _quadrant_frame(i: int) -> np.ndarray:
    """Red top-left quadrant (so rotation is visible) and a brightness that encodes i."""
    img = np.full((H, W, 3), (10 * i) % 250, np.uint8)
    img[: H // 2, : W // 2] = (0, 0, 255)
    return img


def write_video(path: Path, fourcc: str = "mp4v", n: int = N) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (W, H))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for i in range(n):
        writer.write(_quadrant_frame(i))
    writer.release()
    return path


def set_mp4_rotation(src: Path, dst: Path, degrees: int) -> Path:
    """Copy an mp4 with its track header's display matrix set to ``degrees`` (like a phone)."""
    data = bytearray(src.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    # version/flags, times + track id + reserved + duration, reserved, layer..volume
    offset = at + 4 + 4 + (20 if version == 0 else 32) + 8 + 8
    one = 0x10000
    matrices = {
        90: (0, one, 0, -one, 0, 0, 0, 0, 0x40000000),
        180: (-one, 0, 0, 0, -one, 0, 0, 0, 0x40000000),
        270: (0, -one, 0, one, 0, 0, 0, 0, 0x40000000),
    }
    data[offset : offset + 36] = struct.pack(">9i", *matrices[degrees])
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4")


def test_written_clip_frames_stamps_and_properties(clip: Path) -> None:
    with VideoSource(clip, frame_id="cam_test") as video:
        assert (video.width, video.height) == (W, H)
        assert video.fps == pytest.approx(FPS)
        assert video.frame_count == N
        assert video.rotation == 0
        assert video.name == "clip"
        frames = list(video)
    assert len(frames) == N
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == list(range(N))
    assert all(f.encoding == "bgr8" and f.frame_id == "cam_test" for f in frames)
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)
    stamps = np.array([f.stamp_ns for f in frames])
    # container timestamps: one frame period (100 ms) apart, starting at 0
    np.testing.assert_allclose(stamps, np.arange(N) * 1e8, atol=1e6)
    # content round-trips (lossy codec, so loosely): brightness encodes the index
    assert abs(int(frames[5].image[-5, -5].mean()) - 50) < 12
    assert not video.ended_early


def test_max_frames_and_read_after_close(clip: Path) -> None:
    video = VideoSource(clip, max_frames=3)
    assert len(list(video)) == 3
    video.close()
    assert video.read() is None


@pytest.mark.parametrize(("degrees", "upright_hw"), [(90, (W, H)), (180, (H, W)), (270, (W, H))])
def test_rotation_metadata_gives_upright_frames(
    clip: Path, tmp_path: Path, degrees: int, upright_hw: tuple[int, int]
) -> None:
    rotated = set_mp4_rotation(clip, tmp_path / f"rot{degrees}.mp4", degrees)
    with VideoSource(rotated) as video:
        assert video.rotation == degrees
        assert (video.height, video.width) == upright_hw
        frame = video.read()
    assert frame is not None and frame.image.shape[:2] == upright_hw
    # the red quadrant moves where a viewer applying the rotation would see it
    h, w = upright_hw
    corners = {
        "tl": frame.image[2, 2], "tr": frame.image[2, w - 3],
        "bl": frame.image[h - 3, 2], "br": frame.image[h - 3, w - 3],
    }
    expected = {90: "tr", 180: "br", 270: "bl"}[degrees]
    red = [name for name, px in corners.items() if px[2] > 200 and px[0] < 60]
    assert red == [expected]


def test_truncated_stream_ends_cleanly(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.avi", fourcc="MJPG", n=30)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoSource(cut) as video:
        frames = list(video)
    assert 0 < len(frames) < 30
    assert video.ended_early


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputSourceError, match="not found"):
        VideoSource(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video\n")
    with pytest.raises(InputSourceError, match=r"not a readable video|no frame"):
        VideoSource(bogus)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputSourceError, match="directory"):
        VideoSource(tmp_path)


def test_camera_that_does_not_open() -> None:
    with pytest.raises(InputSourceError, match="camera 97"):
        VideoSource(97)


@pytest.mark.shared
def test_real_clip(shared_dir: Path) -> None:
    with VideoSource(shared_dir / "media/exercise/squat.mp4", max_frames=48) as video:
        assert (video.width, video.height) == (1280, 720)
        assert video.fps == pytest.approx(23.976, abs=0.01)
        assert video.frame_count > 900
        frames = list(video)
    assert len(frames) == 48
    steps = np.diff([f.stamp_ns for f in frames]) / 1e6
    assert np.all(steps > 0)
    assert np.median(steps) == pytest.approx(1000 / 23.976, abs=1.0)
    assert frames[0].image.shape == (720, 1280, 3)


@pytest.mark.shared
def test_portrait_phone_video_reaches_the_pose_model_upright(
    shared_dir: Path, tmp_path: Path
) -> None:
    """A phone stores portrait video as sideways frames plus a 90° rotation flag."""
    from rehab_core.io.video import read_frames
    from rehab_core.pose.blazepose import BlazePoseEstimator

    frames = read_frames(shared_dir / "media/exercise/squat.mp4", range(0, 12, 3))
    stored = [cv2.rotate(f.image, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in frames]
    h, w = stored[0].shape[:2]  # 1280 x 720: sideways
    path = tmp_path / "phone.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for image in stored:
        writer.write(image)
    writer.release()
    phone = set_mp4_rotation(path, tmp_path / "phone_rot.mp4", 90)
    with VideoSource(phone) as video, BlazePoseEstimator() as pose:
        assert (video.width, video.height) == (1280, 720)
        for frame in video:
            (skel,) = pose.estimate(frame.image)
            kp = skel.keypoints
            assert kp[0, 1] < kp[[5, 6], 1].mean() < kp[[11, 12], 1].mean() < kp[[15, 16], 1].mean()


def _serve(handler) -> socketserver.TCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _MjpegCamera(http.server.BaseHTTPRequestHandler):
    """An IP camera's MJPEG stream (multipart/x-mixed-replace): no length, paced by the camera."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for i in range(N):
            jpeg = cv2.imencode(".jpg", _quadrant_frame(i))[1].tobytes()
            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                             b"Content-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg))
            time.sleep(0.02)

    def log_message(self, *args) -> None:
        pass


def test_a_camera_stream_url_is_a_live_input() -> None:
    """An IP camera's URL (rtsp://, http://) is a live input: `rehab run URL`, `rehab up
    --input URL` and `input:=URL` used to refuse it as "input not found: rtsp:/..." (the
    URL taken for a path). Here a camera's MJPEG stream, served by the test."""
    from rehab_core.io.sources import LIVE_KINDS, input_kind, open_frame_source

    server = _serve(_MjpegCamera)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
        assert input_kind(url) == "stream" and "stream" in LIVE_KINDS
        source = open_frame_source(url)
        frames = list(source)
        assert len(frames) == N and source.is_live and source.frame_count == -1
        assert frames[0].image.shape == (H, W, 3)
        stamps = [f.stamp_ns for f in frames]
        assert stamps == sorted(stamps)
        assert abs(stamps[-1] - time.time_ns()) < 5e9  # the wall clock, as a camera's
    finally:
        server.shutdown()
        server.server_close()


def test_a_video_file_served_over_http_keeps_its_own_time_base(tmp_path: Path) -> None:
    """A recording behind a URL (http://host/clip.mp4) announces its length: it is read as
    the file it is. It was read as live, stamped with the wall clock of however fast it
    downloaded: a 1.2 s clip arrived in a few ms, and the classifier and counters saw its
    movements tens of times too fast."""
    from rehab_core.io.sources import open_frame_source

    write_video(tmp_path / "clip.avi", "MJPG")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = _serve(handler)
    try:
        source = open_frame_source(f"http://127.0.0.1:{server.server_address[1]}/clip.avi")
        frames = list(source)
    finally:
        server.shutdown()
        server.server_close()
    assert not source.is_live and source.frame_count == N and len(frames) == N
    stamps = np.array([f.stamp_ns for f in frames])
    np.testing.assert_allclose(np.diff(stamps), 1e9 / FPS, rtol=1e-3)


def test_an_unreachable_stream_is_one_clear_error() -> None:
    from rehab_core.io.sources import open_frame_source

    with pytest.raises(InputSourceError, match=r"video stream rtsp://127\.0\.0\.1:9/cam could not"):
        open_frame_source("rtsp://127.0.0.1:9/cam")
