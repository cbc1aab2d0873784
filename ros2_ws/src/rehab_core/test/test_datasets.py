"""Dataset readers, video-level splits and augmentations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rehab_core.datasets.augment import RandomAugment, change_speed, flip_horizontal, rotate, zoom
from rehab_core.datasets.exercise_clips import label_from_name, load_clip_folder, load_skeleton_npz
from rehab_core.datasets.kinetics_skeleton import read_kinetics_skeleton
from rehab_core.datasets.ntu import read_ntu_skeleton
from rehab_core.datasets.skeleton_dataset import (
    SkeletonSequence,
    build_window_set,
    cut_windows,
    leave_one_video_out,
    split_by_video,
)
from rehab_core.datasets.synthetic import synthetic_sequence
from rehab_core.datasets.ui_prmd import (
    UIPRMD22_PARENTS,
    read_ui_prmd,
    read_ui_prmd_xyz,
    relative_to_absolute,
)
from rehab_core.errors import ConfigError, InputSourceError
from rehab_core.skeleton.layouts import get_layout

# ---------------------------------------------------------------- Kinetics-skeleton


def test_kinetics_skeleton_json(tmp_path):
    pose_a = np.linspace(0.1, 0.9, 36).round(3).tolist()
    pose_b = np.full(36, 0.5).tolist()
    doc = {
        "data": [
            {"frame_index": 1, "skeleton": [
                {"pose": pose_b, "score": [0.1] * 18},
                {"pose": pose_a, "score": [0.9] * 17 + [0.0]}]},
            {"frame_index": 3, "skeleton": [{"pose": pose_a, "score": [0.8] * 18}]},
        ],
        "label": "squat", "label_index": 7,
    }
    path = tmp_path / "clip01.json"
    path.write_text(json.dumps(doc))
    seq = read_kinetics_skeleton(path)
    assert seq.layout == "openpose18" and seq.label == "squat" and seq.video_id == "clip01"
    assert seq.keypoints.shape == (3, 18, 3)  # frame 2 missing -> unseen frame
    assert seq.keypoints[0, 0, 0] == pytest.approx(0.1 * 340)  # best-scoring person, px
    assert seq.keypoints[0, 0, 1] == pytest.approx(pose_a[1] * 256)
    assert seq.keypoints[0, 17, 2] == 0 and np.all(seq.keypoints[1] == 0)
    assert seq.meta["label_index"] == 7
    (tmp_path / "bad.json").write_text("{\"data\": 3}")
    with pytest.raises(InputSourceError):
        read_kinetics_skeleton(tmp_path / "bad.json")


# ---------------------------------------------------------------- NTU RGB+D


def _ntu_text(frames: list[list[np.ndarray]]) -> str:
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for b, joints in enumerate(bodies):
            lines.append(f"7205{b} 0 1 1 1 1 0 0.1 0.2 2")
            lines.append("25")
            for j in joints:
                lines.append(" ".join(f"{v:.4f}" for v in j))
    return "\n".join(lines) + "\n"


def _ntu_joints(offset: float, state: int = 2) -> np.ndarray:
    rows = np.zeros((25, 12))
    rows[:, 0] = np.arange(25) * 0.01 + offset  # x metres
    rows[:, 2] = 3.0
    rows[:, 5] = 900 + np.arange(25) + offset * 100  # colour x px
    rows[:, 6] = 500 + np.arange(25)
    rows[:, 11] = state
    return rows


def test_ntu_skeleton_file(tmp_path):
    still = _ntu_joints(0.0)
    frames = [[_ntu_joints(0.1 * f), still] for f in range(3)]
    frames[1][0][4, 11] = 1  # one inferred joint
    path = tmp_path / "S001C001P001R001A023.skeleton"
    path.write_text(_ntu_text(frames))
    seq = read_ntu_skeleton(path)
    assert seq.layout == "kinect25" and seq.label == "A023" and seq.keypoints.shape == (3, 25, 3)
    # The moving body is the actor.
    assert seq.keypoints[2, 0, 0] == pytest.approx(900 + 0.2 * 100, abs=1e-3)
    assert seq.keypoints[1, 4, 2] == 0.5 and seq.keypoints[1, 3, 2] == 1.0
    assert seq.meta["xyz"].shape == (3, 25, 3)
    (tmp_path / "cut.skeleton").write_text(_ntu_text(frames)[:200])
    with pytest.raises(InputSourceError):
        read_ntu_skeleton(tmp_path / "cut.skeleton")


# ---------------------------------------------------------------- UI-PRMD


def test_ui_prmd_layout_registered():
    lay = get_layout("uiprmd22")
    assert lay.num_keypoints == 22 and len(lay.edges) == 21
    assert lay.index("left_hip") == 14 and lay.index("right_shoulder") == 11


def test_ui_prmd_forward_kinematics_on_synthetic_offsets(tmp_path):
    offsets = np.zeros((2, 22, 3))
    offsets[:, 0] = [10.0, 90.0, -200.0]
    offsets[:, 1:] = [0.0, 10.0, 0.0]  # every bone 10 cm along the parent's y axis
    flat = relative_to_absolute(offsets, np.zeros((2, 22, 3)))
    np.testing.assert_allclose(flat[0, 5], [10, 140, -200])  # head tip: 5 bones up the spine
    angles = np.zeros((2, 22, 3))
    angles[1, 0, 2] = 90.0  # waist rotated 90 deg about z: the whole body turns
    turned = relative_to_absolute(offsets, angles)
    np.testing.assert_allclose(turned[1, 1], [0, 90, -200], atol=1e-9)
    lengths = np.linalg.norm(turned[:, 1:] - turned[:, list(UIPRMD22_PARENTS[1:])], axis=2)
    np.testing.assert_allclose(lengths, 10.0)
    # Files: positions + angles side by side, 66 comma-separated columns.
    np.savetxt(tmp_path / "m01_s01_e01_positions.txt", offsets.reshape(2, 66), delimiter=",")
    np.savetxt(tmp_path / "m01_s01_e01_angles.txt", angles.reshape(2, 66), delimiter=",")
    seq = read_ui_prmd(tmp_path / "m01_s01_e01_positions.txt")
    assert seq.label == "m01" and seq.layout == "uiprmd22"
    assert seq.keypoints[0, 5, 1] == pytest.approx(-140)  # y flipped to point down
    (tmp_path / "m01_s01_e01_angles.txt").unlink()
    with pytest.raises(InputSourceError, match="angles"):
        read_ui_prmd(tmp_path / "m01_s01_e01_positions.txt")


@pytest.mark.shared
def test_ui_prmd_real_deep_squat_keeps_feet_on_the_floor(shared_dir):
    path = shared_dir / "skeletons" / "ui_prmd" / "m01_s01_e01_positions.txt"
    xyz = read_ui_prmd_xyz(path)
    assert xyz.shape[1:] == (22, 3)
    waist_travel = np.ptp(xyz[:, 0, 1])
    feet_motion = xyz[:, [16, 17, 20, 21]].std(axis=0).mean()
    print(f"UI-PRMD m01: waist travel {waist_travel:.1f} cm, feet std {feet_motion:.1f} cm")
    assert waist_travel > 30  # a deep squat
    assert feet_motion < 5  # feet stay put
    head = xyz[:, 4, 1].mean()
    assert head > xyz[:, 0, 1].mean() > xyz[:, 16, 1].mean()  # head above waist above ankle
    seq = read_ui_prmd(path)
    windows, _ = cut_windows(seq, 30, 10, 30.0)
    assert windows.shape[1:] == (3, 30, 22) and len(windows) >= 3


# ---------------------------------------------------------------- windows and splits


def _seqs() -> list[SkeletonSequence]:
    rng = np.random.default_rng(0)
    return [synthetic_sequence(k, seconds=3, rng=rng, video_id=f"{k}{i}")
            for k in ("squat", "jumping_jacks") for i in range(2)]


def test_windows_are_split_by_video_never_by_window():
    seqs = _seqs()
    labels = ["squat", "jumping_jacks"]
    folds = list(leave_one_video_out(seqs))
    assert [vid for vid, _, _ in folds] == sorted(s.video_id for s in seqs)
    for vid, train, held in folds:
        tw = build_window_set(train, labels, 30, 10, 30.0)
        hw = build_window_set(held, labels, 30, 10, 30.0)
        assert set(hw.video) == {vid} and vid not in set(tw.video)
    with pytest.raises(ConfigError):
        split_by_video(seqs, ["nope"])
    with pytest.raises(ConfigError):
        list(leave_one_video_out(seqs[:1]))


def test_cut_windows_resamples_and_skips_empty_windows():
    seq = synthetic_sequence("squat", seconds=4, fps=15.0, rng=np.random.default_rng(1))
    seq.keypoints[30:, :, 2] = 0.0  # person lost after 2 s
    w, starts = cut_windows(seq, 30, 15, fps=30.0)
    assert w.shape[1:] == (3, 30, 17)
    # Windows start at 0, 0.5, 1.0, 1.5 s; the last is half seen (the minimum), later none.
    assert len(w) == 4
    assert np.all(np.diff(starts) == 500_000_000)


# ---------------------------------------------------------------- augmentation


def test_flip_swaps_left_and_right():
    seq = synthetic_sequence("jumping_jacks", seconds=1, rng=np.random.default_rng(2))
    w = cut_windows(seq, 30, 30, 30.0)[0][0]
    f = flip_horizontal(w, "coco17")
    lay = get_layout("coco17")
    lw, rw = lay.index("left_wrist"), lay.index("right_wrist")
    np.testing.assert_allclose(f[0, :, lw], -w[0, :, rw])
    np.testing.assert_allclose(f[1:, :, lw], w[1:, :, rw])
    np.testing.assert_allclose(flip_horizontal(f, "coco17"), w)


def test_zoom_rotate_and_speed():
    w = np.zeros((3, 4, 17), np.float32)
    w[0], w[1], w[2] = 1.0, 0.0, 0.9
    np.testing.assert_allclose(zoom(w, 2.0)[0], 2.0)
    r = rotate(w, 90.0)
    np.testing.assert_allclose(r[:2, 0, 0], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(r[2], w[2])  # scores untouched
    seq = synthetic_sequence("squat", seconds=2, rng=np.random.default_rng(3))
    fast = change_speed(seq, 2.0)
    assert fast.stamps_ns[-1] == pytest.approx(seq.stamps_ns[-1] / 2, abs=1)
    assert len(cut_windows(fast, 30, 30, 30.0)[0]) < len(cut_windows(seq, 30, 30, 30.0)[0])
    aug = RandomAugment("coco17", seed=0)
    out = aug(np.ones((3, 10, 17), np.float32))
    assert out.shape == (3, 10, 17) and np.isfinite(out).all()


# ---------------------------------------------------------------- exercise clips


@pytest.mark.parametrize("stem,label", [
    ("jacks", "jumping_jacks"), ("squat", "squat"), ("squat2", "squat"),
    ("pushup_v961k", "push_up"), ("plank_v1370k", "plank"), ("Jumping-Jacks_02", "jumping_jacks"),
    ("ta_chi", None),
])
def test_labels_from_file_names(stem, label):
    assert label_from_name(stem) == label


def test_npz_folder_loading(tmp_path):
    seq = synthetic_sequence("squat", seconds=1, rng=np.random.default_rng(4))
    for stem in ("squat", "ta_chi"):
        np.savez(tmp_path / f"{stem}.npz", keypoints=seq.keypoints, stamps_ns=seq.stamps_ns,
                 fps=30.0, layout="coco17", width=640, height=480)
    loaded = load_skeleton_npz(tmp_path / "squat.npz", layout="openpose18")
    assert loaded.keypoints.shape == (30, 18, 3) and loaded.meta["width"] == 640
    seqs, skipped = load_clip_folder(tmp_path)
    assert [s.label for s in seqs] == ["squat"] and skipped == ["ta_chi"]
    seqs, skipped = load_clip_folder(tmp_path, default_label="unknown")
    assert sorted(s.label for s in seqs) == ["squat", "unknown"] and not skipped
    (tmp_path / "broken.npz").write_bytes(b"xx")
    with pytest.raises(InputSourceError):
        load_skeleton_npz(tmp_path / "broken.npz")
