"""Keypoint layouts: graph sanity and conversions between layouts."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.skeleton.layouts import (
    BLAZEPOSE33,
    COCO17,
    KINECT25,
    LAYOUTS,
    OPENPOSE18,
    KeypointLayout,
    convert_keypoints,
    get_layout,
    register_layout,
)


def numbered(layout: KeypointLayout, t: int | None = None) -> np.ndarray:
    """Keypoints whose x encodes the joint index, y = 10 * index, score by index."""
    k = layout.num_keypoints
    kp = np.stack([np.arange(k), 10 * np.arange(k), np.linspace(0.5, 1.0, k)], axis=1)
    kp = kp.astype(np.float32)
    return kp if t is None else np.repeat(kp[None], t, axis=0)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=lambda lay: lay.name)
def test_graph_is_valid_and_connected(layout: KeypointLayout) -> None:
    k = layout.num_keypoints
    assert len(set(layout.names)) == k
    assert all(0 <= a < k and 0 <= b < k and a != b for a, b in layout.edges)
    assert 0 <= layout.center < k
    reached, frontier = {layout.center}, [layout.center]
    while frontier:
        node = frontier.pop()
        for a, b in layout.edges:
            for nxt in ((b,) if a == node else (a,) if b == node else ()):
                if nxt not in reached:
                    reached.add(nxt)
                    frontier.append(nxt)
    assert reached == set(range(k)), f"{layout.name}: unreachable {set(range(k)) - reached}"


@pytest.mark.parametrize("layout", [COCO17, OPENPOSE18, BLAZEPOSE33, KINECT25], ids=str)
def test_flip_permutation_swaps_left_and_right(layout: KeypointLayout) -> None:
    perm = layout.flip_permutation()
    assert sorted(perm) == list(range(layout.num_keypoints))
    assert np.array_equal(perm[perm], np.arange(layout.num_keypoints))
    for i, name in enumerate(layout.names):
        flipped = layout.names[perm[i]]
        if name.startswith("left_"):
            assert flipped == "right_" + name[5:]
        elif not name.startswith("right_"):
            assert flipped == name


def test_blazepose33_to_coco17_picks_the_named_landmarks() -> None:
    out = convert_keypoints(numbered(BLAZEPOSE33), "blazepose33", "coco17")
    assert out.shape == (17, 3)
    for i, name in enumerate(COCO17.names):
        assert out[i, 0] == BLAZEPOSE33.index(name)
    # e.g. COCO left_eye is BlazePose left_eye (2), not left_eye_inner (1)
    assert out[COCO17.index("left_eye"), 0] == 2
    assert out[COCO17.index("right_ankle"), 0] == 28


def test_coco17_to_openpose18_builds_the_neck() -> None:
    kp = numbered(COCO17)
    out = convert_keypoints(kp, "coco17", "openpose18")
    neck = out[OPENPOSE18.index("neck")]
    np.testing.assert_allclose(neck[:2], kp[[5, 6], :2].mean(axis=0))
    assert neck[2] == pytest.approx(min(kp[5, 2], kp[6, 2]))
    # every other OpenPose joint is a COCO joint of the same name
    for i, name in enumerate(OPENPOSE18.names):
        if name != "neck":
            assert out[i, 0] == COCO17.index(name)
    back = convert_keypoints(out, "openpose18", "coco17")
    np.testing.assert_allclose(back, kp)


def test_missing_joints_get_score_zero() -> None:
    out = convert_keypoints(numbered(KINECT25), "kinect25", "coco17")
    names = COCO17.names
    for joint in ("left_eye", "right_eye", "left_ear", "right_ear"):
        assert out[names.index(joint), 2] == 0.0
    assert out[names.index("nose"), 0] == KINECT25.index("head")
    assert out[names.index("left_wrist"), 0] == KINECT25.index("left_wrist")
    assert out[names.index("right_knee"), 2] > 0


def test_sequences_and_identity() -> None:
    seq = numbered(BLAZEPOSE33, t=5)
    out = convert_keypoints(seq, "blazepose33", "openpose18")
    assert out.shape == (5, 18, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[3], convert_keypoints(seq[3], "blazepose33", "openpose18"))
    same = convert_keypoints(numbered(COCO17), "coco17", "coco17")
    np.testing.assert_array_equal(same, numbered(COCO17))


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 17, 3\)"):
        convert_keypoints(np.zeros((18, 3)), "coco17", "openpose18")
    with pytest.raises(ValueError, match="unknown keypoint layout 'nope'"):
        get_layout("nope")
    with pytest.raises(ValueError, match="has no joint"):
        COCO17.index("tail")


def test_register_layout() -> None:
    tiny = KeypointLayout("test_tiny3", ("nose", "left_wrist", "right_wrist"),
                          ((0, 1), (0, 2)), 0, ((1, 2),))
    register_layout(tiny)
    try:
        out = convert_keypoints(numbered(tiny), "test_tiny3", "coco17")
        assert out[COCO17.index("right_wrist"), 0] == 2
        assert out[COCO17.index("left_hip"), 2] == 0
    finally:
        LAYOUTS.pop("test_tiny3")
