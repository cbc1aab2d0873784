"""The stance rule: a squat-family window is a lunge exactly when the legs are split at the
bottom (``recognition/stance.py``). Synthetic skeletons for the geometry and the rule, the
live classifier and the evaluation's recount for the plumbing, and BlazePose on real corpus
footage (a reverse lunge, a side-view squat) for the anatomy it rests on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.recognition.stance import (
    FrameStance,
    StanceTracker,
    clip_verdicts,
    family_member,
    frame_stance,
    is_split,
)
from rehab_core.types import Skeleton

LABELS = ["squat", "lunge", "deadlift", "push_up", "sit_to_stand", "unknown"]
MODEL = Path(__file__).resolve().parents[4] / "models" / "exercise_stgcn"
THIGH = SHIN = 0.45  # m; a leg is 0.9 m


def _leg(hip: np.ndarray, knee_flexion_deg: float, forward: float) -> tuple[np.ndarray, ...]:
    """Knee and ankle of a leg in the sagittal plane (x across, y down, z forward): the
    thigh tilted forward by ``forward`` rad, the shin bent back by the knee flexion."""
    knee = hip + THIGH * np.array([0.0, np.cos(forward), np.sin(forward)])
    shin = forward - np.radians(knee_flexion_deg)
    ankle = knee + SHIN * np.array([0.0, np.cos(shin), np.sin(shin)])
    return knee, ankle


def skeleton3d(left: tuple[float, float], right: tuple[float, float],
               spread: float = 0.2, lift: float = 0.0) -> np.ndarray:
    """(17, 4) COCO-17 3-D: each leg (knee flexion deg, thigh forward rad); the ankles put
    ``spread`` m apart sideways and the left one ``lift`` m higher."""
    kp = np.zeros((17, 4), np.float32)
    kp[:, 3] = 0.9
    hips = {11: np.array([0.1, 0.0, 0.0]), 12: np.array([-0.1, 0.0, 0.0])}
    kp[5, :3], kp[6, :3] = [0.15, -0.5, 0.0], [-0.15, -0.5, 0.0]
    for (hip, knee_i, ankle_i), (flex, fwd), side in (
            ((11, 13, 15), left, 1.0), ((12, 14, 16), right, -1.0)):
        knee, ankle = _leg(hips[hip], flex, fwd)
        kp[hip, :3], kp[knee_i, :3], kp[ankle_i, :3] = hips[hip], knee, ankle
        kp[ankle_i, 0] = side * spread / 2
    kp[15, 1] -= lift
    return kp


SQUAT = skeleton3d((90, 0.8), (90, 0.8))  # both knees bent, feet side by side
LUNGE = skeleton3d((90, 1.4), (95, -0.4))  # forward: the front thigh level, the rear down


def side_lunge() -> np.ndarray:
    """The left leg deeply bent (the hips low), the right one straight and out to the side,
    its ankle on the floor with the left one's."""
    kp = skeleton3d((120, 1.3), (120, 1.3))
    hip, floor = kp[12, :3].astype(np.float64), float(kp[15, 1])
    tilt = np.arccos(floor / (THIGH + SHIN))  # the straight leg's angle from vertical
    direction = np.array([-np.sin(tilt), np.cos(tilt), 0.0])
    kp[14, :3], kp[16, :3] = hip + THIGH * direction, hip + (THIGH + SHIN) * direction
    return kp


SIDE_LUNGE = side_lunge()  # one leg bent, the other straight, wide
SUMO = skeleton3d((90, 0.8), (90, 0.8), spread=0.9)  # wide, both bent


def test_frame_stance_tells_a_lunge_from_squats():
    squat, lunge, side, sumo = (frame_stance(k) for k in (SQUAT, LUNGE, SIDE_LUNGE, SUMO))
    assert squat.flexion_deg == pytest.approx(90, abs=1) and squat.split < 0.1
    assert not squat.lunge and not sumo.lunge
    assert lunge.split > 0.5 and lunge.lunge
    assert side.asymmetry_deg > 80 and side.spread > 1.0 and side.lunge
    assert sumo.spread > 0.8 and sumo.asymmetry_deg < 1  # as wide, both knees bent


def test_frame_stance_refuses_missing_legs_and_a_lifted_foot():
    hidden = SQUAT.copy()
    hidden[16, 3] = 0.05  # a hidden ankle
    assert frame_stance(hidden) is None
    assert frame_stance(np.full((17, 4), np.nan, np.float32)) is None
    assert frame_stance(skeleton3d((90, 0.8), (90, 0.8), lift=0.6)) is None  # not grounded
    assert frame_stance(np.zeros((33, 4), np.float32)) is None


def test_verdict_is_the_majority_of_bottom_frames():
    bent, straight = frame_stance(LUNGE), frame_stance(skeleton3d((10, 0.1), (10, 0.1)))
    assert is_split([]) is None and is_split([straight] * 5) is None  # no bottom
    assert is_split([bent, bent, frame_stance(SQUAT)]) is True
    assert is_split([bent, frame_stance(SQUAT), frame_stance(SQUAT)]) is False
    assert isinstance(bent, FrameStance)


def test_family_member_only_chooses_within_the_squat_family():
    probs = np.array([0.5, 0.05, 0.3, 0.1, 0.04, 0.01])
    assert family_member("squat", probs, LABELS, True) == "lunge"
    assert family_member("deadlift", probs, LABELS, True) == "lunge"
    assert family_member("push_up", probs, LABELS, True) == "push_up"
    assert family_member("unknown", probs, LABELS, True) == "unknown"
    assert family_member("squat", probs, LABELS, None) == "squat"  # no verdict
    assert family_member("squat", probs, LABELS, False) == "squat"
    # a lunge label on level legs: the family's best other member
    assert family_member("lunge", probs, LABELS, False) == "squat"
    assert family_member("squat", probs[[0, 2, 3]], ["squat", "deadlift", "push_up"],
                         True) == "squat"  # no lunge class


def _sk(kp3d):
    """A skeleton carrying ``kp3d``, its 2-D the 3-D seen from the front (pixels)."""
    flat = np.concatenate([kp3d[:, :2] * 200 + [320, 240], kp3d[:, 3:]], axis=1)
    return Skeleton("coco17", flat.astype(np.float32), keypoints_3d=kp3d, space_3d="model")


def test_tracker_looks_back_and_starts_again_when_time_goes_back():
    tracker = StanceTracker(lookback_s=1.0)
    assert tracker.split() is None
    for k in range(10):
        tracker.update(_sk(LUNGE), k * 100_000_000)
    assert tracker.split() is True
    tracker.update(_sk(LUNGE), 900_000_000)  # the same stamp again: fed once
    for k in range(10, 40):
        tracker.update(_sk(SQUAT), k * 100_000_000)
    assert tracker.split() is False  # the lunges are over a second old
    tracker.update(None, 5_000_000_000)
    tracker.update(Skeleton("coco17", np.ones((17, 3), np.float32)), 6_000_000_000)  # no 3-D
    assert tracker.split() is None
    tracker.update(_sk(LUNGE), 100)  # back in time: a new stream
    assert tracker.split() is True


def test_clip_verdicts_read_as_the_tracker_does():
    stamps = np.arange(40, dtype=np.int64) * 100_000_000
    world = np.stack([LUNGE] * 20 + [SQUAT] * 20)
    assert clip_verdicts(None, stamps, [1.0]) == [None]
    assert clip_verdicts(world, stamps, [1.5, 3.9], lookback_s=1.0) == [True, False]


def test_live_classifier_names_a_squat_family_window_by_the_stance():
    """Model-free: a stub network always says squat (0.9); with the stance rule on, split
    legs make the reported label lunge with the network's squat score."""
    from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig

    logits = np.log(np.array([0.9, 0.02, 0.02, 0.02, 0.02, 0.02]))
    results = {}
    for stance in (False, True):
        config = StreamingConfig(window=10, stride=5, fps=10.0, hysteresis=1,
                                 smoothing="none", stance=stance)
        clf = StreamingClassifier(lambda x: logits, LABELS, config)
        out = [clf.update(_sk(LUNGE), k * 100_000_000) for k in range(30)]
        results[stance] = [p for p in out if p is not None][-1]
    assert results[False].label == "squat"
    assert results[True].label == "lunge" and results[True].confidence == pytest.approx(0.9)
    assert results[True].raw_label == "squat"


def test_shipped_bundle_and_its_fallback_share_one_stance_tracker():
    from rehab_core.recognition.streaming import StreamingClassifier

    clf = StreamingClassifier.from_bundle(MODEL)
    assert clf.config.stance and clf.stance is not None and clf.fallback.stance is clf.stance
    off = StreamingClassifier.from_bundle(MODEL, stance=False)
    assert off.stance is None and off.fallback.stance is None


def _blazepose_world(video: Path) -> tuple[np.ndarray, np.ndarray]:
    from rehab_core.datasets.extract import extract_skeletons

    seq = extract_skeletons(video)  # BlazePose, its world landmarks as keypoints_3d
    assert seq.keypoints_3d is not None
    return seq.keypoints_3d, seq.stamps_ns


@pytest.mark.parametrize("clip, lunge", [("lunge/rnhrn_reverse_lunge.mp4", True),
                                         ("squat/atharva_lowerbody_squat.mp4", False)])
def test_real_footage_stance(shared_dir, clip, lunge):
    """BlazePose's 3-D on real corpus clips: a reverse lunge (side view) reads split at its
    bottoms, a side-view squat level: the anatomy the rule rests on, on footage we did
    not make."""
    video = shared_dir / "corpus" / "media" / clip
    world, stamps = _blazepose_world(video)
    ends = stamps[::15] * 1e-9
    verdicts = [v for v in clip_verdicts(world, stamps, ends) if v is not None]
    assert len(verdicts) >= 5
    share = sum(verdicts) / len(verdicts)
    assert (share > 0.7) if lunge else (share == 0.0), (clip, verdicts)


def test_evaluation_labels_windows_as_the_live_rule_does():
    """``label_windows`` with a clip: squat windows over split legs become lunge (confidence
    kept), those over level legs stay squat, a push-up window is left alone."""
    from rehab_core.datasets.corpus import CorpusClip
    from rehab_core.training.recognition_eval import label_windows

    stamps = np.arange(60, dtype=np.int64) * 100_000_000  # 6 s at 10 fps
    world = np.stack([LUNGE] * 30 + [SQUAT] * 30)
    clip = CorpusClip("synthetic", "lunge", "test", np.ones((60, 17, 3), np.float32),
                      stamps, 10.0, world=world)
    squat = [0.8, 0.05, 0.05, 0.05, 0.03, 0.02]
    probs = np.array([squat, squat, [0.05, 0.05, 0.05, 0.8, 0.03, 0.02]])
    starts = np.array([0.5, 4.0, 0.5])  # 2-s windows ending at 2.5, 6.0 and 2.5 s
    labels_w, conf = label_windows(probs, LABELS, 0.5, starts_s=starts, span_s=2.0,
                                   stance_clip=clip)
    assert labels_w == ["lunge", "squat", "push_up"] and conf == pytest.approx([0.8] * 3)
    assert label_windows(probs, LABELS, 0.5, starts_s=starts, span_s=2.0)[0] == \
        ["squat", "squat", "push_up"]


@pytest.mark.parametrize("on", [False, True])
def test_training_writes_the_stance_setting_into_the_bundle(on: bool):
    from rehab_core.recognition.streaming import StreamingConfig
    from rehab_core.training.stgcn_pipeline import StgcnSpec

    settings = StgcnSpec(labels=LABELS, stance=on).streaming_config()
    assert settings["stance"] is on and StreamingConfig.from_dict(settings).stance is on
