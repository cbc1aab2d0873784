"""The motion check: a counted exercise is named only while its own key joint moves through a
repetition's range (``recognition/motion_check.py``). Rule units on signals, the tracker on a
synthetic stream, the live classifier with a stub network, the evaluation's labelling, and
the shipped bundle's setting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rehab_core.recognition.motion_check import (
    LOOKBACK_S,
    Companion,
    MotionTracker,
    checked_label,
    companion_signals,
    covers,
    key_signals,
)
from rehab_core.types import Skeleton
from rehab_testing.synthetic_reps import jack_pose, sequence

LABELS = ["squat", "push_up", "plank", "jumping_jacks", "unknown"]
MODEL = Path(__file__).resolve().parents[4] / "models" / "exercise_stgcn"


def test_key_signals_are_the_counters_own():
    signals = key_signals(LABELS)
    assert signals["squat"] == ("knee_angle", 35.0) and signals["push_up"][0] == "elbow_angle"
    assert "plank" not in signals and "unknown" not in signals  # a hold; not an exercise


def test_covers_needs_the_range_between_the_5th_and_95th_percentile():
    assert covers(np.linspace(90, 170, 50), 35.0)
    assert not covers(np.full(50, 170.0), 35.0)
    assert not covers(np.r_[np.full(60, 170.0), 90.0], 35.0)  # one glitch is no movement
    assert not covers(np.array([90.0, 170.0, np.nan]), 35.0)  # too few samples
    assert not covers(np.array([]), 35.0)


def test_checked_label_refuses_only_a_still_exercise():
    signals = key_signals(LABELS)
    still = {"knee_angle": np.full(30, 175.0), "elbow_angle": np.full(30, 170.0)}
    moving = {"knee_angle": np.linspace(80, 175, 30), "elbow_angle": np.full(30, 170.0)}
    assert checked_label("squat", signals, still.get) == "unknown"
    assert checked_label("squat", signals, moving.get) == "squat"
    assert checked_label("push_up", signals, moving.get) == "unknown"  # elbows straight
    assert checked_label("plank", signals, still.get) == "plank"
    assert checked_label("unknown", signals, still.get) == "unknown"


def _stream(exercise: str, reps: int = 4):
    frames, stamps, _ = sequence(exercise, reps, 2.0, 30.0)
    return [(int(t), None if f is None else Skeleton("coco17", f)) for f, t in zip(frames, stamps)]


def test_tracker_on_squats_then_standing_still():
    tracker = MotionTracker(LABELS)
    stream = _stream("squat")
    for stamp, sk in stream:
        tracker.update(sk, stamp)
    assert tracker.check("squat") == "squat"
    assert tracker.check("push_up") == "unknown"  # the elbows did not bend
    last = stream[-1][0]
    still = next(sk for _, sk in stream if sk is not None)  # the first frame: standing
    for k in range(1, int(LOOKBACK_S * 30) + 2):
        tracker.update(still, last + k * 33_333_333)
    assert tracker.check("squat") == "unknown"  # standing for the whole look-back
    tracker.update(still, 0)  # time went back: a new stream, nothing seen yet
    assert tracker.check("squat") == "unknown"


def _jacks(feet_open: bool, with_3d: bool = True, legs_seen: bool = True, fps: float = 30.0):
    """6 s of arm swings (1.5 s each) with or without the feet opening; 3-D as the pose model
    gives it (x, y, z, visibility), the legs' joints unseen when ``legs_seen`` is False."""
    out = []
    for i in range(int(6 * fps)):
        x = 0.5 - 0.5 * math.cos(2 * math.pi * i / fps / 1.5)
        kp = jack_pose(15.0 + 150.0 * x, 0.1 + (0.5 * x if feet_open else 0.0))
        if not legs_seen:
            kp[13:17, 2] = 0.0  # knees and ankles out of the frame
        world = np.concatenate([kp[:, :2] * [1.0, -1.0], np.zeros((17, 1)), kp[:, 2:]], axis=1)
        kp[:, :2] = kp[:, :2] * 200.0 + 400.0
        out.append((int(i * 1e9 / fps), Skeleton(
            "coco17", kp, keypoints_3d=world.astype(np.float32) if with_3d else None,
            space_3d="model" if with_3d else "")))
    return out


def test_jumping_jacks_also_need_the_feet_to_open_in_3d():
    """The arms alone move as in an arm raise: a jack's feet open too (its companion signal),
    judged on 3-D frames. The feet pick the family member both ways: arms with still or
    unseen feet are the sibling arm raise where the model knows it (``unknown`` where it
    does not), and an "arm raise" whose feet open is a jack; 2-D alone (a side view hides
    the feet apart) is not judged."""
    assert companion_signals([*LABELS, "arm_raise"]) == {
        "jumping_jacks": Companion("ankle_spread", 0.3, "arm_raise")}
    cases = {"jack": _jacks(True), "arms only": _jacks(False),
             "legs unseen": _jacks(True, legs_seen=False), "arms only, 2-D": _jacks(False, False)}
    verdicts, without_arm_raise = {}, {}
    for name, stream in cases.items():
        tracker = MotionTracker([*LABELS, "arm_raise"])
        jacks_only = MotionTracker(LABELS)
        for stamp, sk in stream:
            tracker.update(sk, stamp)
            jacks_only.update(sk, stamp)
        verdicts[name] = (tracker.check("jumping_jacks"), tracker.check("arm_raise"))
        without_arm_raise[name] = jacks_only.check("jumping_jacks")
    assert verdicts == {"jack": ("jumping_jacks", "jumping_jacks"),
                        "arms only": ("arm_raise", "arm_raise"),
                        "legs unseen": ("arm_raise", "arm_raise"),
                        "arms only, 2-D": ("jumping_jacks", "arm_raise")}
    assert without_arm_raise == {"jack": "jumping_jacks", "arms only": "unknown",
                                 "legs unseen": "unknown", "arms only, 2-D": "jumping_jacks"}


def test_the_feet_pick_the_member_only_while_the_arms_move():
    signals = key_signals([*LABELS, "arm_raise"])
    companions = companion_signals([*LABELS, "arm_raise"])
    feet = {"still": {"ankle_spread": np.full(30, 0.1)}.get,
            "opening": {"ankle_spread": np.linspace(0.2, 1.2, 30)}.get,
            "unseen": {"ankle_spread": np.full(30, np.nan)}.get,
            "no 3-D": lambda name: None}
    arms = {"moving": {"shoulder_angle": np.linspace(15, 165, 30)}.get,
            "still": {"shoulder_angle": np.full(30, 20.0)}.get}
    verdicts = {(label, a, f): checked_label(label, signals, arms[a], companions, feet[f])
                for label in ("jumping_jacks", "arm_raise") for a in arms for f in feet}
    assert verdicts == {
        ("jumping_jacks", "moving", "still"): "arm_raise",
        ("jumping_jacks", "moving", "opening"): "jumping_jacks",
        ("jumping_jacks", "moving", "unseen"): "arm_raise",
        ("jumping_jacks", "moving", "no 3-D"): "jumping_jacks",
        ("arm_raise", "moving", "still"): "arm_raise",
        ("arm_raise", "moving", "opening"): "jumping_jacks",
        ("arm_raise", "moving", "unseen"): "arm_raise",
        ("arm_raise", "moving", "no 3-D"): "arm_raise",
        **{(label, "still", f): "unknown" for label in ("jumping_jacks", "arm_raise")
           for f in feet},
    }
    # a model without arm raise: jacks without the feet are unknown; no jacks class: an
    # arm raise is never turned into one
    assert checked_label("jumping_jacks", key_signals(LABELS), arms["moving"],
                         companion_signals(LABELS), feet["still"]) == "unknown"
    no_jacks = ["arm_raise", "unknown"]
    assert checked_label("arm_raise", key_signals(no_jacks), arms["moving"],
                         companion_signals(no_jacks), feet["opening"]) == "arm_raise"


def test_evaluation_judges_the_companion_as_the_live_rule_does():
    from rehab_core.datasets.corpus import CorpusClip
    from rehab_core.training.recognition_eval import label_windows

    out = {}
    for labels in (LABELS, [*LABELS[:-1], "arm_raise", "unknown"]):
        probs = np.full((1, len(labels)), 0.2 / (len(labels) - 1))
        probs[0, labels.index("jumping_jacks")] = 0.8
        for name, stream in {"arms only": _jacks(False), "arms only, 2-D": _jacks(False, False),
                             "jack": _jacks(True)}.items():
            kp = np.stack([sk.keypoints for _, sk in stream])
            world = None if stream[0][1].keypoints_3d is None else \
                np.stack([sk.keypoints_3d for _, sk in stream])
            clip = CorpusClip(name, "jumping_jacks", "test", kp,
                              np.array([t for t, _ in stream], np.int64), 30.0, world=world)
            names, conf = label_windows(probs, labels, 0.5, starts_s=np.array([3.0]),
                                        span_s=2.0, motion_clip=clip)
            out[name, len(labels)] = (names[0], round(conf[0], 3))
    unknown = round(0.2 / (len(LABELS) - 1), 3)
    jacks = ("jumping_jacks", 0.8)
    assert out == {("arms only", 5): ("unknown", unknown),
                   ("arms only, 2-D", 5): jacks, ("jack", 5): jacks,
                   ("arms only", 6): ("arm_raise", 0.8),  # the sibling keeps the family's score
                   ("arms only, 2-D", 6): jacks, ("jack", 6): jacks}


def test_live_classifier_lets_the_feet_pick_jacks_or_arm_raise():
    """A stub network always says jumping_jacks, or always arm_raise (0.9): over arm swings
    with the feet still the live label is arm_raise, over jacks jumping_jacks, with the
    network's score for the family, as the evaluation labels it."""
    from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig

    labels = [*LABELS[:-1], "arm_raise", "unknown"]
    out = {}
    for named in ("jumping_jacks", "arm_raise"):
        probs = np.full(len(labels), 0.02)
        probs[labels.index(named)] = 0.9
        streams = {"jack": _jacks(True, fps=15.0), "arms only": _jacks(False, fps=15.0)}
        for name, stream in streams.items():
            config = StreamingConfig(window=30, stride=5, fps=15.0, hysteresis=1,
                                     smoothing="none", motion_check=True)
            clf = StreamingClassifier(lambda x, p=probs: np.log(p), labels, config)
            preds = [p for stamp, sk in stream if (p := clf.update(sk, stamp))]
            out[named, name] = (preds[-1].label, round(preds[-1].confidence, 3))
    assert out == {("jumping_jacks", "jack"): ("jumping_jacks", 0.9),
                   ("jumping_jacks", "arms only"): ("arm_raise", 0.9),
                   ("arm_raise", "jack"): ("jumping_jacks", 0.9),
                   ("arm_raise", "arms only"): ("arm_raise", 0.9)}


def test_a_companion_must_be_a_known_signal_with_a_range():
    from rehab_core.errors import ConfigError
    from rehab_core.repetition.config import get_exercise_config

    with pytest.raises(ConfigError, match="companion"):
        get_exercise_config("jumping_jacks", companion=("ankle_width", 0.3))
    with pytest.raises(ConfigError, match="companion"):
        get_exercise_config("jumping_jacks", companion=("ankle_spread", 0.0))
    for bad in ("squat", "jumping_jacks", "arm_rise"):  # another key signal, itself, a typo
        with pytest.raises(ConfigError, match="without_companion"):
            get_exercise_config("jumping_jacks", without_companion=bad)
    with pytest.raises(ConfigError, match="without_companion"):
        get_exercise_config("arm_raise", without_companion="jumping_jacks")  # no companion


def test_live_classifier_refuses_a_named_exercise_that_does_not_move():
    """A stub network always says push_up (0.9): over real push-up motion the label stands;
    over squats (elbows straight) the motion check makes it unknown, with unknown's score."""
    from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig

    logits = np.log(np.array([0.02, 0.9, 0.02, 0.02, 0.04]))
    out = {}
    for exercise in ("pushup", "squat"):
        config = StreamingConfig(window=30, stride=5, fps=15.0, hysteresis=1,
                                 smoothing="none", motion_check=True)
        clf = StreamingClassifier(lambda x: logits, LABELS, config)
        preds = [p for stamp, sk in _stream(exercise) if (p := clf.update(sk, stamp))]
        out[exercise] = preds[-1]
    assert out["pushup"].label == "push_up" and out["pushup"].confidence == pytest.approx(0.9)
    assert out["squat"].label == "unknown" and out["squat"].confidence == pytest.approx(0.04)
    assert out["squat"].raw_label == "push_up"


def test_evaluation_labels_windows_as_the_live_rule_does():
    from rehab_core.datasets.corpus import CorpusClip
    from rehab_core.training.recognition_eval import label_windows

    stream = _stream("squat")
    kp = np.stack([sk.keypoints if sk is not None else np.zeros((17, 3), np.float32)
                   for _, sk in stream])
    stamps = np.array([t for t, _ in stream], np.int64)
    clip = CorpusClip("synthetic_squat", "squat", "test", kp, stamps, 30.0)
    probs = np.array([[0.8, 0.05, 0.05, 0.05, 0.05], [0.05, 0.8, 0.05, 0.05, 0.05]])
    starts = np.array([4.0, 4.0])
    labels_w, conf = label_windows(probs, LABELS, 0.5, starts_s=starts, span_s=2.0,
                                   motion_clip=clip)
    assert labels_w == ["squat", "unknown"] and conf == pytest.approx([0.8, 0.05])


def test_shipped_bundle_and_its_fallback_share_one_motion_tracker():
    from rehab_core.recognition.streaming import StreamingClassifier

    clf = StreamingClassifier.from_bundle(MODEL)
    assert clf.config.motion_check and clf.motion is not None
    assert clf.fallback.motion is clf.motion
    off = StreamingClassifier.from_bundle(MODEL, motion_check=False)
    assert off.motion is None and off.fallback.motion is None


@pytest.mark.parametrize("on", [False, True])
def test_training_writes_the_motion_check_setting_into_the_bundle(on: bool):
    from rehab_core.training.stgcn_pipeline import StgcnSpec

    assert StgcnSpec(labels=LABELS, motion_check=on).streaming_config()["motion_check"] is on
