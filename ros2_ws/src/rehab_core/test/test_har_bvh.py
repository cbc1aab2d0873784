"""BVH reader: hierarchy, channel order, forward kinematics, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import InputSourceError
from rehab_core.har.bvh import bvh_features, load_bvh, parse_bvh

# Root with 6 channels, an arm whose shoulder rotates about Z, a Neuron-style
# joint with its own position channels, and End Sites.
BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0.0 0.0 0.0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Shoulder
  {
    OFFSET 0.0 10.0 0.0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Hand
    {
      OFFSET 5.0 0.0 0.0
      CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
      End Site
      {
        OFFSET 1.0 0.0 0.0
      }
    }
  }
  JOINT Leg
  {
    OFFSET 0.0 -8.0 0.0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0.0 -2.0 0.0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 0 0  0 0 0   0 0 0   5 0 0  0 0 0   0 0 0
1 2 3  0 0 0  90 0 0   5 0 0  0 0 0   0 0 0
0 0 0  90 0 0  0 0 0   4 0 0  0 0 0   90 0 0
"""


def test_hierarchy_and_channels(tmp_path):
    path = tmp_path / "tiny.bvh"
    path.write_text(BVH)
    m = load_bvh(path)
    assert m.joint_names() == ["Hips", "Shoulder", "Hand", "Leg"]
    assert m.joint_names(include_end_sites=True) == [
        "Hips", "Shoulder", "Hand", "Hand_End", "Leg", "Leg_End"]
    assert m.parents == [-1, 0, 1, 2, 0, 4]
    assert m.channels[2][:3] == ["Xposition", "Yposition", "Zposition"]
    assert m.num_frames == 3 and m.fps == pytest.approx(25.0)
    assert m.values.shape == (3, 18)


def test_forward_kinematics_positions():
    m = parse_bvh(BVH)
    p = m.positions(include_end_sites=True)  # (F, 6, 3)
    # frame 0: rest pose
    np.testing.assert_allclose(p[0, 1], [0, 10, 0], atol=1e-9)
    np.testing.assert_allclose(p[0, 2], [5, 10, 0], atol=1e-9)
    np.testing.assert_allclose(p[0, 3], [6, 10, 0], atol=1e-9)
    np.testing.assert_allclose(p[0, 5], [0, -10, 0], atol=1e-9)
    # frame 1: root moved by (1,2,3); shoulder +90 deg about Z turns +x into +y
    np.testing.assert_allclose(p[1, 0], [1, 2, 3], atol=1e-9)
    np.testing.assert_allclose(p[1, 2], [1, 17, 3], atol=1e-9)
    np.testing.assert_allclose(p[1, 3], [1, 18, 3], atol=1e-9)
    # frame 2: root +90 about Z (leg -y -> +x), hand position channel 4 replaces
    # its offset 5; the leg's X rotation 90 turns its end site (0,-2,0) into -z
    np.testing.assert_allclose(p[2, 4], [8, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p[2, 1], [-10, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p[2, 2], [-10, 4, 0], atol=1e-9)
    np.testing.assert_allclose(p[2, 3], [-10, 5, 0], atol=1e-9)
    np.testing.assert_allclose(p[2, 5], [8, 0, -2], atol=1e-9)


def test_features_are_root_relative_and_resampled():
    f = bvh_features(parse_bvh(BVH), frames=10)
    assert f.shape == (10, 4 * 3) and f.dtype == np.float32
    np.testing.assert_allclose(f[:, :3], 0.0, atol=1e-6)
    assert np.abs(f).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("text, match", [
    ("", "HIERARCHY"),
    (BVH.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"), "unknown channel"),
    (BVH.replace("Frames: 3", "Frames: 4"), "need"),
    (BVH.replace("0 0 0  90 0 0  0 0 0   4", "0 0 0  x 0 0  0 0 0   4"), "non-numeric"),
    (BVH.split("MOTION")[0], "MOTION"),
])
def test_malformed_bvh_raises_clear_error(text, match):
    with pytest.raises(InputSourceError, match=match):
        parse_bvh(text)


def test_missing_file(tmp_path):
    with pytest.raises(InputSourceError, match="cannot read"):
        load_bvh(tmp_path / "nope.bvh")
