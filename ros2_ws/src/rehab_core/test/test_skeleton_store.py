"""Skeleton sequences: npz round trip, bad files, and video -> skeletons extraction."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rehab_core.datasets.extract import extract_skeletons, extract_to_cache
from rehab_core.errors import BadFrameError, InputSourceError
from rehab_core.io.skeleton_store import SkeletonSequence, load_skeletons, save_skeletons
from rehab_core.pose.blazepose import BlazePoseEstimator
from rehab_core.types import Skeleton


def make_sequence(t: int = 20) -> SkeletonSequence:
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 300, (t, 17, 3)).astype(np.float32)
    kp[..., 2] = rng.uniform(0.1, 1.0, (t, 17))
    kp[5] = 0  # nobody in frame 5
    return SkeletonSequence(
        keypoints=kp, stamps_ns=np.arange(t) * 33_366_667, layout="coco17", fps=29.97,
        source="clip", width=340, height=256, pose_model="blazepose",
    )


def test_round_trip(tmp_path: Path) -> None:
    seq = make_sequence()
    path = save_skeletons(tmp_path / "sub" / "clip", seq)
    assert path.name == "clip.npz" and path.is_file()
    assert not list(path.parent.glob(".*tmp*"))  # no temp file left behind
    back = load_skeletons(path)
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    np.testing.assert_array_equal(back.stamps_ns, seq.stamps_ns)
    assert back.keypoints.dtype == np.float32 and back.stamps_ns.dtype == np.int64
    assert (back.layout, back.source, back.pose_model) == ("coco17", "clip", "blazepose")
    assert (back.width, back.height) == (340, 256) and back.fps == pytest.approx(29.97)
    assert back.track_ids[5] == -1 and back.track_ids[4] == 0
    assert back.detection_rate == pytest.approx(19 / 20)
    assert back.duration_s == pytest.approx(19 * 0.033366667)


def test_layout_conversion_and_normalisation() -> None:
    seq = make_sequence()
    op = seq.to_layout("openpose18")
    assert op.keypoints.shape == (20, 18, 3) and op.layout == "openpose18"
    neck = op.keypoints[:, 1, :2]
    np.testing.assert_allclose(neck, seq.keypoints[:, [5, 6], :2].mean(axis=1), rtol=1e-6)
    norm = seq.normalized()
    assert norm[..., 0].max() <= 300 / 340 + 1e-6


def test_invalid_sequences_are_refused() -> None:
    with pytest.raises(ValueError, match="keypoints must be"):
        SkeletonSequence(np.zeros((3, 33, 3)), np.arange(3), "coco17", 30)
    with pytest.raises(ValueError, match="unknown keypoint layout"):
        SkeletonSequence(np.zeros((3, 17, 3)), np.arange(3), "coco18", 30)
    with pytest.raises(ValueError, match="track_ids"):
        SkeletonSequence(np.zeros((3, 17, 3)), np.arange(3), "coco17", 30, track_ids=[1])


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputSourceError, match="not found"):
        load_skeletons(tmp_path / "none.npz")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(InputSourceError, match="unreadable"):
        load_skeletons(text)
    other = tmp_path / "other.npz"
    np.savez(other, something=np.zeros(3))
    with pytest.raises(InputSourceError, match="missing"):
        load_skeletons(other)
    seq = make_sequence(6)
    future = tmp_path / "future.npz"
    np.savez(future, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns, layout="coco17",
             fps=30.0, format_version=99)
    with pytest.raises(InputSourceError, match="newer"):
        load_skeletons(future)


def with_3d(seq: SkeletonSequence) -> SkeletonSequence:
    """``seq`` with model-space 3-D rows (none on frame 5, like its 2-D)."""
    rng = np.random.default_rng(1)
    k3 = rng.uniform(-0.8, 0.8, (len(seq), 17, 4)).astype(np.float32)
    k3[..., 3] = rng.uniform(0.2, 1.0, (len(seq), 17))
    k3[5] = 0
    seq.keypoints_3d, seq.space_3d = k3, "model"
    seq._check_3d()
    return seq


def test_round_trip_keeps_3d(tmp_path: Path) -> None:
    seq = with_3d(make_sequence())
    back = load_skeletons(save_skeletons(tmp_path / "clip3d", seq))
    assert back.keypoints_3d is not None and back.keypoints_3d.dtype == np.float32
    np.testing.assert_array_equal(back.keypoints_3d, seq.keypoints_3d)
    assert back.space_3d == "model"
    # a frame's Skeleton carries the 3-D (what replays hand the classifier and counter)
    sk = back.skeleton(4)
    assert sk is not None and sk.space_3d == "model" and sk.track_id == 0
    np.testing.assert_array_equal(sk.keypoints_3d, seq.keypoints_3d[4])
    assert back.skeleton(5) is None  # nobody found
    # 2-D but no 3-D on a frame: the Skeleton has none (not an all-zero 3-D)
    back.keypoints_3d[6] = 0
    assert back.skeleton(6).keypoints_3d is None and back.skeleton(6).space_3d == ""
    # without 3-D nothing is written, and nothing comes back
    plain = load_skeletons(save_skeletons(tmp_path / "clip2d", make_sequence()))
    assert plain.keypoints_3d is None and plain.space_3d == ""
    assert plain.skeleton(4).keypoints_3d is None
    with np.load(tmp_path / "clip2d.npz") as data:
        assert "keypoints_3d" not in data.files


def test_old_format_file_loads(tmp_path: Path) -> None:
    """A file written before 3-D existed (format 1, no 3-D keys) loads unchanged."""
    seq = make_sequence(6)
    old = tmp_path / "old.npz"
    np.savez_compressed(old, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns,
                        track_ids=seq.track_ids, layout=np.str_("coco17"), fps=np.float64(30.0),
                        source=np.str_("clip"), width=np.int64(340), height=np.int64(256),
                        pose_model=np.str_("blazepose"), format_version=np.int64(1))
    back = load_skeletons(old)
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    assert back.keypoints_3d is None and back.space_3d == "" and back.skeleton(0) is not None


def test_corpus_cache_file_loads_with_its_world_landmarks(tmp_path: Path) -> None:
    """``corpus_extract`` keeps BlazePose's 33 world landmarks as ``world33``: replaying such a
    file (``rehab run clip.npz``) gives model-space 3-D, as the live stack had, not 2-D only."""
    seq = make_sequence(6)
    world = np.zeros((6, 33, 4), np.float32)
    world[:, 25] = (0.1, 0.5, -0.05, 0.9)  # BlazePose left knee
    world[0] = 0.0  # nobody seen in the first frame
    cache = tmp_path / "exercise__squat.npz"
    np.savez_compressed(cache, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns,
                        layout=np.str_("coco17"), fps=np.float64(30.0), world33=world,
                        keypoints33=np.zeros((6, 33, 3), np.float32))
    back = load_skeletons(cache)
    assert back.space_3d == "model" and back.keypoints_3d.shape == (6, 17, 4)
    np.testing.assert_allclose(back.keypoints_3d[1:, 13], np.tile([0.1, 0.5, -0.05, 0.9], (5, 1)))
    assert not back.keypoints_3d[0].any()
    short = tmp_path / "short.npz"
    np.savez(short, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns, layout="coco17",
             fps=30.0, world33=world[:4])
    with pytest.raises(InputSourceError, match=r"world33 \(4, 33, 4\) does not match"):
        load_skeletons(short)


def test_3d_that_does_not_match_is_refused(tmp_path: Path) -> None:
    seq = make_sequence(6)
    with pytest.raises(ValueError, match="keypoints_3d must be"):
        SkeletonSequence(seq.keypoints, seq.stamps_ns, "coco17", 30,
                         keypoints_3d=np.zeros((5, 17, 4)), space_3d="model")
    with pytest.raises(ValueError, match="space_3d"):
        SkeletonSequence(seq.keypoints, seq.stamps_ns, "coco17", 30,
                         keypoints_3d=np.zeros((6, 17, 4)), space_3d="")
    bad = tmp_path / "bad3d.npz"
    np.savez(bad, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns, layout="coco17", fps=30.0,
             keypoints_3d=np.zeros((6, 33, 4), np.float32), space_3d="model")
    with pytest.raises(InputSourceError, match=r"keypoints_3d \(6, 33, 4\) do not match"):
        load_skeletons(bad)
    nospace = tmp_path / "nospace.npz"
    np.savez(nospace, keypoints=seq.keypoints, stamps_ns=seq.stamps_ns, layout="coco17",
             fps=30.0, keypoints_3d=np.zeros((6, 17, 4), np.float32))
    with pytest.raises(InputSourceError, match="unknown space"):
        load_skeletons(nospace)


def test_layout_conversion_converts_3d() -> None:
    """``to_layout`` converts the 3-D rows too: ``as_coco17(..., use_3d=True)`` reads them in
    the Skeleton's own layout, so 2-D and 3-D must always share it."""
    seq = with_3d(make_sequence())
    op = seq.to_layout("openpose18")
    assert op.keypoints_3d.shape == (20, 18, 4) and op.space_3d == "model"
    np.testing.assert_allclose(op.keypoints_3d[:, 1, :3],
                               seq.keypoints_3d[:, [5, 6], :3].mean(axis=1), rtol=1e-6)
    back = op.to_layout("coco17")
    np.testing.assert_allclose(back.keypoints_3d[:, 5], seq.keypoints_3d[:, 5], rtol=1e-6)
    assert make_sequence().to_layout("openpose18").keypoints_3d is None


class ScriptedPose:
    """A pose stage that finds one person on even frames and refuses frame 3."""

    name = "scripted"
    layout = "blazepose33"

    def __init__(self, world_from: int | None = None) -> None:
        self.calls = 0
        self.resets = 0
        self.world_from = world_from  # 3-D world landmarks from this frame on (None: never)

    def estimate(self, image: np.ndarray) -> list[Skeleton]:
        i = self.calls
        self.calls += 1
        if i == 3:
            raise BadFrameError("scripted bad frame")
        if i % 2:
            return []
        kp = np.full((33, 3), 0.9, np.float32)
        kp[:, 0] = np.arange(33) + i  # moves slowly: same track throughout
        kp[:, 1] = 100.0
        world = None
        if self.world_from is not None and i >= self.world_from:
            world = np.full((33, 4), 0.8, np.float32)
            world[:, 0] = np.arange(33) * 0.01 + i
        return [Skeleton("blazepose33", kp, box=np.array([0, 50, 60, 150]), score=0.9,
                         keypoints_3d=world, space_3d="model" if world is not None else "")]

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        pass


def write_video(path: Path, n: int = 8, size: tuple[int, int] = (96, 64)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, size)
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
    writer.release()
    return path


def test_extract_streams_frames_keeps_main_subject(tmp_path: Path) -> None:
    video = write_video(tmp_path / "synthetic.mp4")
    pose = ScriptedPose()
    seq = extract_skeletons(video, pose)
    assert pose.resets == 1 and pose.calls == 8
    assert len(seq) == 8 and seq.layout == "coco17" and seq.keypoints.shape == (8, 17, 3)
    assert (seq.width, seq.height, seq.source, seq.pose_model) == (96, 64, "synthetic", "scripted")
    assert seq.fps == pytest.approx(12.0)
    np.testing.assert_allclose(np.diff(seq.stamps_ns), 1e9 / 12, atol=2e6)
    # found on frames 0, 2, 4, 6; frame 3 was refused (counted as nobody)
    np.testing.assert_array_equal(seq.detected, [True, False, True, False] * 2)
    assert set(seq.track_ids[seq.detected]) == {0}
    assert np.all(seq.track_ids[~seq.detected] == -1)
    # blazepose33 converted to coco17: coco left_shoulder is blazepose landmark 11
    assert seq.keypoints[2, 5, 0] == pytest.approx(11 + 2)
    assert seq.keypoints_3d is None and seq.space_3d == ""  # the estimator gave no 3-D


def test_extract_keeps_the_estimators_3d(tmp_path: Path) -> None:
    """World landmarks survive extraction, a file round trip and a replay's Skeletons."""
    video = write_video(tmp_path / "synthetic.mp4")
    seq = extract_skeletons(video, ScriptedPose(world_from=2))
    assert seq.space_3d == "model" and seq.keypoints_3d.shape == (8, 17, 4)
    with_3d = (seq.keypoints_3d[..., 3] > 0).any(axis=1)
    np.testing.assert_array_equal(with_3d, [False, False] + [True, False] * 3)
    assert np.all(seq.keypoints_3d[~with_3d] == 0)  # frames without 3-D: zeros, score 0
    assert seq.keypoints_3d[2, 5, 0] == pytest.approx(0.11 + 2)  # blazepose 11 -> coco 5
    back = load_skeletons(save_skeletons(tmp_path / "synthetic", seq))
    assert back.skeleton(0).keypoints_3d is None  # 2-D found, no 3-D yet
    sk = back.skeleton(4)
    assert sk.space_3d == "model" and sk.keypoints_3d[5, 0] == pytest.approx(0.11 + 4)


def test_extract_with_blazepose_on_an_empty_video(tmp_path: Path) -> None:
    video = write_video(tmp_path / "empty_room.mp4", n=5)
    with BlazePoseEstimator() as est:
        seq = extract_skeletons(video, est)
    assert len(seq) == 5 and seq.detection_rate == 0.0
    assert np.all(seq.keypoints == 0)


def test_extract_to_cache_writes_and_skips(tmp_path: Path, capsys) -> None:
    video = write_video(tmp_path / "v1.mp4", n=4)
    out = tmp_path / "cache"
    (path, seq), = extract_to_cache([tmp_path], out)
    assert path == out / "v1.npz" and seq is not None and len(load_skeletons(path)) == 4
    (path, seq), = extract_to_cache([video], out)
    assert seq is None and "skip" in capsys.readouterr().out


def test_extract_missing_video(tmp_path: Path) -> None:
    with pytest.raises(InputSourceError):
        extract_skeletons(tmp_path / "missing.mp4", ScriptedPose())


@pytest.mark.shared
def test_extract_real_clip(shared_dir: Path) -> None:
    seq = extract_skeletons(shared_dir / "media/exercise/squat.mp4", max_frames=48)
    assert len(seq) == 48 and seq.layout == "coco17" and seq.pose_model == "blazepose"
    assert seq.detection_rate > 0.95
    assert set(seq.track_ids[seq.detected]) == {0}
    hips_y = seq.keypoints[seq.detected][:, [11, 12], 1].mean()
    shoulders_y = seq.keypoints[seq.detected][:, [5, 6], 1].mean()
    assert shoulders_y < hips_y
    # BlazePose's metric world landmarks are kept (origin between the hips, y down)
    assert seq.space_3d == "model" and seq.keypoints_3d.shape == (48, 17, 4)
    world = seq.keypoints_3d[seq.detected]
    assert (world[:, :, 3] > 0).any(axis=1).mean() > 0.95
    assert world[:, [5, 6], 1].mean() < world[:, [11, 12], 1].mean() < world[:, [15, 16], 1].mean()


def test_a_skeleton_file_is_a_graph_input(tmp_path: Path) -> None:
    """``.npz`` opens as a skeleton source (after the pose stage), 3-D in its Skeletons."""
    from rehab_core.io.skeleton_store import SkeletonFileSource
    from rehab_core.io.sources import SKELETON_KINDS, input_kind, open_frame_source

    path = save_skeletons(tmp_path / "clip", with_3d(make_sequence()))
    assert input_kind(str(path)) == "skeleton_file" in SKELETON_KINDS
    source = open_frame_source(str(path), max_frames=7)
    assert isinstance(source, SkeletonFileSource) and not source.is_live
    assert (source.frame_count, source.fps) == (20, pytest.approx(29.97))
    frames = list(source)
    assert [f.index for f in frames] == list(range(7))
    assert frames[5].skeletons == [] and frames[5].main_track_id == -1
    sk = frames[4].skeletons[0]
    assert frames[4].main_track_id == sk.track_id == 0 and sk.space_3d == "model"
    assert (frames[4].width, frames[4].height, frames[4].stamp_ns) == (340, 256, 4 * 33_366_667)
    with pytest.raises(InputSourceError, match="not found"):
        open_frame_source(str(tmp_path / "missing.npz"))
