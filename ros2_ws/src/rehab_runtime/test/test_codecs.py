"""Every codec: payload -> message -> payload gives the same payload (the core types).

Values are chosen representable in float32 (the messages' type) so equality is
exact; what a message does not carry is stated where it matters.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from rehab_core.reach.state import PHASES, ReachPhase, ReachState
from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.repetition.quality import RepetitionQuality
from rehab_core.types import Detection, Frame, Skeleton
from rehab_runtime import codecs
from rehab_runtime.conversions import make_header
from rehab_testing.compare import same

STAMP = 1_700_000_000_123_456_789


def round_trip(codec: codecs.Codec, payload: object) -> object:
    return codec.from_msg(codec.to_msg(payload))


def _skeleton(track: int, with_3d: bool = False) -> Skeleton:
    kp = np.array([[10.5 + i, 20.25 + i, 0.5] for i in range(17)], np.float32)
    k3 = np.array([[0.25, -0.5, 2.0 + i / 8, 0.75] for i in range(17)], np.float32)
    return Skeleton("coco17", kp, box=np.array([1, 2, 30.5, 40.5], np.float32), score=0.875,
                    track_id=track, keypoints_3d=k3 if with_3d else None,
                    space_3d="camera" if with_3d else "")


def test_image_round_trip():
    image = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    frame = Frame(image, STAMP, -1, "bgr8", "cam")  # the frame index is local, not on the wire
    assert same(round_trip(codecs.IMAGE, frame), frame)


def test_compressed_image_is_input_only_and_decodes_losslessly():
    image = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    msg = CompressedImage(header=make_header(STAMP, "cam"), format="png",
                          data=cv2.imencode(".png", image)[1].tobytes())
    frame = codecs.COMPRESSED_IMAGE.from_msg(msg)
    assert frame.stamp_ns == STAMP and np.array_equal(frame.image, image)
    with pytest.raises(NotImplementedError):
        codecs.COMPRESSED_IMAGE.to_msg(frame)


def test_skeletons_round_trip():
    p = codecs.SkeletonsPayload(STAMP, "cam", 640, 480, [_skeleton(3), _skeleton(-1)], 3)
    assert same(round_trip(codecs.SKELETONS, p), p)


def test_skeletons_round_trip_keeps_3d_and_its_space():
    """Skeletons carry their 3-D: another process's tracker/counter gets what the container's
    does (mixed spaces and a skeleton without 3-D in one frame included)."""
    model = dataclasses.replace(_skeleton(5, with_3d=True), space_3d="model")
    p = codecs.SkeletonsPayload(STAMP, "cam", 640, 480,
                                [_skeleton(3, with_3d=True), _skeleton(-1), model], 3)
    msg = codecs.SKELETONS.to_msg(p)
    assert [len(s.keypoints_3d) for s in msg.skeletons] == [17, 0, 17]
    assert [s.space_3d for s in msg.skeletons] == ["camera", "", "model"]
    back = round_trip(codecs.SKELETONS, p)
    assert same(back, p)
    assert back.skeletons[1].keypoints_3d is None and back.skeletons[1].space_3d == ""


def test_non_finite_3d_never_reaches_the_skeleton_message():
    sk = _skeleton(3, with_3d=True)
    sk.keypoints_3d[2] = [np.nan, 0.5, 1.0, 0.9]  # set after construction, past its check
    sk.keypoints_3d[4, 2] = np.inf
    msg = codecs.SKELETONS.to_msg(codecs.SkeletonsPayload(STAMP, "cam", 64, 48, [sk]))
    values = [v for k in msg.skeletons[0].keypoints_3d for v in (k.x, k.y, k.z, k.score)]
    assert np.isfinite(values).all()
    back = codecs.SKELETONS.from_msg(msg).skeletons[0]
    assert (back.keypoints_3d[[2, 4]] == 0.0).all()  # no 3-D for those joints (score 0)
    assert same(back.keypoints_3d[5:], sk.keypoints_3d[5:])


def test_skeleton_message_with_bad_3d_is_refused_with_a_reason():
    """A count that does not match the 2-D keypoints, or an unknown space: ValueError (the
    input channel drops the message with this reason as a diagnostic)."""
    msg = codecs.SKELETONS.to_msg(codecs.SkeletonsPayload(
        STAMP, "cam", 64, 48, [_skeleton(3, with_3d=True)]))
    msg.skeletons[0].keypoints_3d = msg.skeletons[0].keypoints_3d[:5]
    with pytest.raises(ValueError, match="keypoints_3d must be"):
        codecs.SKELETONS.from_msg(msg)
    msg = codecs.SKELETONS.to_msg(codecs.SkeletonsPayload(
        STAMP, "cam", 64, 48, [_skeleton(3, with_3d=True)]))
    msg.skeletons[0].space_3d = "world"
    with pytest.raises(ValueError, match="space_3d must be"):
        codecs.SKELETONS.from_msg(msg)


def test_skeletons_3d_round_trip():
    sk = _skeleton(3, with_3d=True)
    sk = dataclasses.replace(sk, keypoints=np.zeros((17, 3), np.float32),
                             box=np.zeros(4, np.float32))  # 3-D only: no 2-D on this topic
    p = codecs.SkeletonsPayload(STAMP, "cam", 0, 0, [sk])
    assert same(round_trip(codecs.SKELETONS_3D, p), p)


def test_detections_round_trip():
    dets = [Detection("toy", 0.625, np.array([1.5, 2, 3, 4], np.float32), 2, 7),
            Detection("hand", 0.5, np.array([5, 6, 7.25, 8], np.float32))]
    p = codecs.DetectionsPayload(STAMP, "cam", dets)
    assert same(round_trip(codecs.DETECTIONS, p), p)


def test_action_round_trip():
    pred = ActionPrediction("squat", 0.75, {"squat": 0.75, "lunge": 0.25}, STAMP - 10**9,
                            STAMP, "exercise_stgcn")  # raw_* / extra stay in the classifier
    p = codecs.ActionPayload(STAMP, "cam", pred, track_id=4)
    assert same(round_trip(codecs.ACTION, p), p)


@pytest.mark.parametrize("quality", [
    RepetitionQuality(2.5, 85.5, "knee", (1.25, 1.25), 3.5, "3d"),
    RepetitionQuality(2.0, float("nan"), "hip_height", (0.75, 1.25), None, "2d"),
])
def test_repetition_round_trip_keeps_the_concentric_tempo(quality):
    p = codecs.RepetitionPayload(STAMP, "cam", 2, "squat", 5, STAMP - 2 * 10**9, STAMP,
                                   quality)
    back = round_trip(codecs.REPETITION, p)
    assert same(back, p)
    assert back.quality.tempo_s[1] == quality.tempo_s[1]  # was lost over DDS


def _reach(phase: ReachPhase, scores: dict[str, float], **kw: object) -> ReachState:
    from rehab_core.reach.state import phase_probability

    return ReachState("left", phase, -1, STAMP, scores, phase_probability(phase, scores), **kw)


@pytest.mark.parametrize("phase", PHASES)
def test_reach_round_trip(phase):
    scores = {"RN": 0.125, "RF": 0.0625, "R": 0.25, "NoR": 0.5625}
    state = _reach(phase, scores, distance=0.375, iou=0.125, object_label="toy",
                   onset_stamp_ns=STAMP - 10**8, offset_stamp_ns=STAMP)
    p = codecs.ReachPayload(STAMP, "cam", state)
    assert same(round_trip(codecs.REACH, p), p)
    no_object = codecs.ReachPayload(STAMP, "cam", _reach(phase, scores))  # NaN, no stamps
    assert same(round_trip(codecs.REACH, no_object), no_object)


def test_reach_message_scores_in_documented_order_and_confidence_of_the_phase():
    """ReachState.msg: scores [NO_REACH, ONSET, REACH, OFFSET]; confidence = P(phase)."""
    scores = {"RN": 0.125, "RF": 0.0625, "R": 0.25, "NoR": 0.5625}  # NoR is the top score
    msg = codecs.REACH.to_msg(codecs.ReachPayload(STAMP, "cam",
                                                      _reach(ReachPhase.REACH, scores)))
    assert list(msg.scores) == [0.5625, 0.125, 0.25, 0.0625]
    assert msg.phase == 2 and msg.confidence == 0.25  # not max(scores) = P(NoR)
    assert msg.scores[msg.phase] == msg.confidence


def test_session_result_round_trip_carries_the_report():
    """The RunExercise result carries the whole report of a goal: quality, timeline, every
    verdict and every ignored repetition (``rehab session`` reads nothing else)."""
    from rehab_core.coaching import (
        IgnoredRepetition,
        RepetitionVerdict,
        SessionResult,
        SessionState,
        TimelineSample,
    )
    from rehab_runtime import conversions

    nan = float("nan")
    result = SessionResult(
        "squat", False, 2, [2.5, 2.25], 0.75, "timeout",
        [RepetitionQuality(2.5, 85.5, "knee", (1.25, 1.25), 3.5, "3d"),
         RepetitionQuality(2.25, nan, "hip_height", (nan, nan), None, "2d")],
        1_700_000_010.125, 1_700_000_030.5,
        ignored=[IgnoredRepetition(1_700_000_020.25, "squat",
                                   "recognised exercise was 'push_up' (confidence 0.91)")],
        verdicts=[RepetitionVerdict(1_700_000_011.0, 1_700_000_013.5, "counted", "squat", 0.75, 4),
                  RepetitionVerdict(1_700_000_014.0, 1_700_000_016.25, "counted_unconfirmed",
                                    "unknown", 0.25, 2),
                  RepetitionVerdict(1_700_000_017.75, 1_700_000_020.25,
                                    "rejected_other_exercise", "push_up", 0.875, 3)],
        timeline=[TimelineSample(1_700_000_010.5, "squat", 0.75, 0, SessionState.EXERCISING),
                  TimelineSample(1_700_000_019.0, "push_up", 0.875, 2,
                                 SessionState.WRONG_EXERCISE)])
    back = conversions.session_result_from_msg(conversions.session_result_to_msg(result),
                                               "squat")
    assert same(back, result)
    assert back.counted_end_t == [1_700_000_013.5, 1_700_000_016.25]
    assert back.to_dict()["timeline"][1]["state"] == "WRONG_EXERCISE"
    assert back.to_dict()["quality"][1]["range_of_motion_deg"] is None
