"""Core types <-> ROS messages, in one place (no cv_bridge: it is a few lines).

Everything that crosses the ROS edge goes through here, so the components stay
msg -> core -> msg and the conversions are tested once. Image conversion avoids
needless copies: ``image_to_msg`` copies the pixels exactly once (into the
message's byte buffer) and ``msg_to_image`` returns a view of the message's
buffer (no copy at all).
"""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from rehab_core.coaching.session_types import (
    IgnoredRepetition,
    RepetitionVerdict,
    SessionResult,
    SessionState,
    TimelineSample,
)
from rehab_core.errors import BadFrameError
from rehab_core.repetition.quality import RepetitionQuality
from rehab_core.types import Detection, Skeleton
from rehab_core.vision import encodings
from rehab_interfaces.action import RunExercise
from rehab_interfaces.msg import (
    BoundingBox2D,
    Detection2D,
    Detection2DArray,
    Keypoint2D,
    Keypoint3D,
    SessionSample,
    Skeleton2D,
    Skeleton2DArray,
    Skeleton3D,
    Skeleton3DArray,
)
from rehab_interfaces.msg import IgnoredRepetition as IgnoredRepetitionMsg
from rehab_interfaces.msg import RepetitionQuality as RepetitionQualityMsg
from rehab_interfaces.msg import RepetitionVerdict as RepetitionVerdictMsg


def ns_to_stamp(stamp_ns: int) -> Time:
    """Nanoseconds since the epoch (or since the start of a video) -> Time."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def make_header(stamp_ns: int, frame_id: str = "camera") -> Header:
    return Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id)


def image_to_msg(
    image: np.ndarray, stamp_ns: int, frame_id: str = "camera", encoding: str = "bgr8"
) -> Image:
    """Unpadded array in ``encoding`` -> sensor_msgs/Image (one copy, into the message)."""
    enc = encodings.lookup(encoding)
    if image.dtype != enc.dtype or image.ndim not in (2, 3) or image.size == 0:
        raise BadFrameError(f"expected a non-empty {np.dtype(enc.dtype).name} image for "
                            f"{enc.name}, got {image.dtype} {image.shape}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels != enc.channels:
        raise BadFrameError(f"{enc.name} needs {enc.channels} channels, got {channels}")
    rows, width = image.shape[:2]
    msg = Image(
        header=make_header(stamp_ns, frame_id),
        height=rows * enc.rows_den // enc.rows_num,
        width=width,
        encoding=enc.name,
        is_bigendian=int(sys.byteorder == "big"),
        step=width * enc.bytes_per_pixel,
    )
    # one copy, straight into the array.array the message keeps (bytes would be copied twice)
    data = array.array("B")
    data.frombytes(memoryview(np.ascontiguousarray(image)).cast("B"))
    msg.data = data
    return msg


def msg_to_image(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> array (see ``decode_image_msg``; non-native encodings are bgr8)."""
    return decode_image_msg(msg)[0]


def decode_image_msg(msg: Image) -> tuple[np.ndarray, str]:
    """sensor_msgs/Image -> (array, encoding) through the stack's one encoding table.

    The five native 8-bit encodings come back as a view of the message buffer
    (no copy); every other supported encoding (YUV 4:2:2, NV12/NV21, Bayer,
    16 bit) is converted once to bgr8 here. ``step`` padding and
    ``is_bigendian`` are honoured. Raises BadFrameError (the caller counts a
    dropped frame) for an unknown encoding, an empty image or data shorter than
    step x height.
    """
    return encodings.decode_buffer(msg.data, msg.encoding, msg.width, msg.height, msg.step,
                                   bool(msg.is_bigendian))


def compressed_to_image(msg: CompressedImage) -> tuple[np.ndarray, str]:
    """sensor_msgs/CompressedImage (JPEG/PNG, as image_transport sends it) -> (bgr8, "bgr8")."""
    return encodings.decode_compressed(msg.data, msg.format)


def _box_msg(box: np.ndarray) -> BoundingBox2D:
    x1, y1, x2, y2 = (float(v) for v in box)
    return BoundingBox2D(x_min=x1, y_min=y1, x_max=x2, y_max=y2)


def _box_array(box: BoundingBox2D) -> np.ndarray:
    return np.array([box.x_min, box.y_min, box.x_max, box.y_max], np.float32)


def _keypoints3d_msg(k3: np.ndarray) -> list[Keypoint3D]:
    """3-D rows -> messages; a row with any non-finite value is sent as "no 3-D" (zeros)."""
    ok = np.isfinite(k3).all(axis=1)
    return [Keypoint3D(x=float(x), y=float(y), z=float(z), score=float(c)) if good
            else Keypoint3D() for (x, y, z, c), good in zip(k3, ok)]


def skeleton_to_msg(skeleton: Skeleton) -> Skeleton2D:
    """Skeleton -> message, 3-D included, so a consumer in another process sees what one in
    the same process does (its joint angles use the same 3-D)."""
    k3 = skeleton.keypoints_3d
    return Skeleton2D(
        layout=skeleton.layout,
        track_id=int(skeleton.track_id),
        score=float(skeleton.score),
        box=_box_msg(skeleton.box),
        keypoints=[
            Keypoint2D(x=float(x), y=float(y), score=float(s)) for x, y, s in skeleton.keypoints
        ],
        keypoints_3d=[] if k3 is None else _keypoints3d_msg(k3),
        space_3d="" if k3 is None else skeleton.space_3d,
    )


def msg_to_skeleton(msg: Skeleton2D) -> Skeleton:
    """Message -> Skeleton; ``keypoints_3d`` stays None when the message has no 3-D.

    Bad 3-D (wrong count, unknown space) raises ValueError from Skeleton, like bad 2-D.
    """
    kps = np.array([(k.x, k.y, k.score) for k in msg.keypoints], np.float32).reshape(-1, 3)
    k3 = None
    if msg.keypoints_3d:
        k3 = np.array([(k.x, k.y, k.z, k.score) for k in msg.keypoints_3d],
                      np.float32).reshape(-1, 4)
    return Skeleton(
        layout=msg.layout,
        keypoints=kps,
        box=_box_array(msg.box),
        score=msg.score,
        track_id=msg.track_id,
        keypoints_3d=k3,
        space_3d=msg.space_3d if k3 is not None else "",
    )


def skeletons_to_msg(
    skeletons: Sequence[Skeleton],
    header: Header,
    width: int,
    height: int,
    main_track_id: int = -1,
) -> Skeleton2DArray:
    return Skeleton2DArray(
        header=header,
        image_width=int(width),
        image_height=int(height),
        skeletons=[skeleton_to_msg(s) for s in skeletons],
        main_track_id=int(main_track_id),
    )


def msg_to_skeletons(msg: Skeleton2DArray) -> list[Skeleton]:
    return [msg_to_skeleton(s) for s in msg.skeletons]


def skeletons3d_to_msg(skeletons: Sequence[Skeleton], header: Header) -> Skeleton3DArray:
    """The 3-D keypoints of ``skeletons`` (those that have them) -> Skeleton3DArray.

    ``space`` is the skeletons' ``space_3d`` ("camera" or "model"); a frame
    whose skeletons mix spaces keeps the first one's and leaves the others out.
    """
    with3d = [s for s in skeletons if s.keypoints_3d is not None]
    space = with3d[0].space_3d if with3d else ""
    return Skeleton3DArray(
        header=header,
        space=space,
        skeletons=[
            Skeleton3D(
                layout=s.layout, track_id=int(s.track_id), score=float(s.score),
                keypoints=_keypoints3d_msg(s.keypoints_3d),
            )
            for s in with3d if s.space_3d == space
        ],
    )


def attach_3d(skeletons: Sequence[Skeleton], msg: Skeleton3DArray) -> None:
    """Give each skeleton the 3-D keypoints of the same track (or position) in ``msg``."""
    by_track = {s.track_id: s for s in msg.skeletons if s.track_id >= 0}
    for i, skeleton in enumerate(skeletons):
        match = by_track.get(skeleton.track_id)
        if match is None and i < len(msg.skeletons) and skeleton.track_id < 0:
            match = msg.skeletons[i]
        if match is None or len(match.keypoints) != len(skeleton.keypoints):
            continue
        skeleton.keypoints_3d = np.array([(k.x, k.y, k.z, k.score) for k in match.keypoints],
                                         np.float32)
        skeleton.space_3d = msg.space


def detections_to_msg(detections: Sequence[Detection], header: Header) -> Detection2DArray:
    return Detection2DArray(
        header=header,
        detections=[
            Detection2D(
                label=d.label,
                class_id=int(d.class_id),
                score=float(d.score),
                box=_box_msg(d.box),
                track_id=int(d.track_id),
            )
            for d in detections
        ],
    )


def msg_to_detections(msg: Detection2DArray) -> list[Detection]:
    return [
        Detection(
            label=d.label,
            score=d.score,
            box=_box_array(d.box),
            class_id=d.class_id,
            track_id=d.track_id,
        )
        for d in msg.detections
    ]


def quality_to_msg(q: RepetitionQuality) -> RepetitionQualityMsg:
    """-1 on the wire marks "not applicable" (no angle, no tempo, no reference repetition)."""
    rom, tempo = float(q.range_of_motion_deg), float(q.tempo_s[0])
    return RepetitionQualityMsg(
        duration_s=float(q.duration_s), range_of_motion_deg=rom if np.isfinite(rom) else -1.0,
        key_joint=q.key_joint, angle_space=q.space,
        tempo_s=tempo if np.isfinite(tempo) else -1.0,
        reference_distance=-1.0 if q.reference_distance is None else float(q.reference_distance))


def quality_from_msg(q: RepetitionQualityMsg) -> RepetitionQuality:
    """The concentric time is the rest of the duration after the eccentric ``tempo_s``."""
    rom, tempo, nan = float(q.range_of_motion_deg), float(q.tempo_s), float("nan")
    return RepetitionQuality(
        duration_s=float(q.duration_s), range_of_motion_deg=rom if rom >= 0.0 else nan,
        key_joint=q.key_joint,
        tempo_s=(tempo, float(q.duration_s) - tempo) if tempo >= 0.0 else (nan, nan),
        reference_distance=None if q.reference_distance < 0.0 else float(q.reference_distance),
        space=q.angle_space or "2d")


def session_result_to_msg(r: SessionResult) -> RunExercise.Result:
    """A goal's core result -> the RunExercise result (everything the session report needs)."""
    return RunExercise.Result(
        success=r.success, repetitions_done=r.repetitions_done,
        repetition_durations_s=[float(d) for d in r.repetition_durations_s],
        mean_confidence=float(r.mean_confidence), reason=r.reason,
        quality=[quality_to_msg(q) for q in r.quality],
        started_t=float(r.started_t), ended_t=float(r.ended_t),
        timeline=[SessionSample(t=float(s.t), label=s.label, confidence=float(s.confidence),
                                repetitions=int(s.repetitions), state=int(s.state))
                  for s in r.timeline],
        verdicts=[RepetitionVerdictMsg(start_t=float(v.start_t), end_t=float(v.end_t),
                                       verdict=v.verdict, label=v.label,
                                       confidence=float(v.confidence), votes=int(v.votes))
                  for v in r.verdicts],
        ignored=[IgnoredRepetitionMsg(t=float(i.t), exercise=i.exercise, reason=i.reason)
                 for i in r.ignored])


def session_result_from_msg(msg: RunExercise.Result, exercise: str) -> SessionResult:
    """The RunExercise result -> the core result (the goal's ``exercise`` is not in it)."""
    return SessionResult(
        exercise=exercise, success=bool(msg.success), repetitions_done=int(msg.repetitions_done),
        repetition_durations_s=[float(d) for d in msg.repetition_durations_s],
        mean_confidence=float(msg.mean_confidence), reason=msg.reason,
        quality=[quality_from_msg(q) for q in msg.quality],
        started_t=float(msg.started_t), ended_t=float(msg.ended_t),
        ignored=[IgnoredRepetition(float(i.t), i.exercise, i.reason) for i in msg.ignored],
        verdicts=[RepetitionVerdict(float(v.start_t), float(v.end_t), v.verdict, v.label,
                                    float(v.confidence), int(v.votes)) for v in msg.verdicts],
        timeline=[TimelineSample(float(s.t), s.label, float(s.confidence), int(s.repetitions),
                                 SessionState(s.state)) for s in msg.timeline])
