"""What flows between components, and how each kind crosses the ROS edge.

Components only ever see these payloads (core objects plus the source stamp),
whether the producer sits in the same process (the payload object itself is
handed over, see ``channel``) or in another process (the payload is rebuilt
from the message by the codec). That keeps one code path per component, so
the container and separate processes compute the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from rehab_core.types import Detection, Frame, Skeleton
from rehab_interfaces.msg import (
    ActionPrediction,
    Detection2DArray,
    ReachState,
    RepetitionEvent,
    Skeleton2DArray,
    Skeleton3DArray,
)
from rehab_perception import conversions as conv

P = TypeVar("P")

#: results are small and must not be lost between stages
RESULT_QOS = QoSProfile(depth=10)


@dataclass
class SkeletonsPayload:
    stamp_ns: int
    frame_id: str
    width: int
    height: int
    skeletons: list[Skeleton]
    main_track_id: int = -1


@dataclass
class DetectionsPayload:
    stamp_ns: int
    frame_id: str
    detections: list[Detection]


@dataclass
class ActionPayload:
    """A classifier prediction; ``prediction`` has the fields ``action_to_msg`` reads."""

    stamp_ns: int
    frame_id: str
    prediction: Any


@dataclass
class RepetitionPayload:
    """One completed repetition (fields mirror rehab_interfaces/RepetitionEvent)."""

    stamp_ns: int
    frame_id: str
    track_id: int
    exercise: str
    count: int
    start_ns: int
    end_ns: int
    quality: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReachPayload:
    """Reach state of one hand; ``state`` has the fields ``reach_to_msg`` reads."""

    stamp_ns: int
    frame_id: str
    state: Any


@dataclass(frozen=True)
class Codec(Generic[P]):
    """One payload kind: its message type, QoS and both conversions."""

    name: str
    msg_type: type
    to_msg: Callable[[P], Any]
    from_msg: Callable[[Any], P]
    qos: QoSProfile


def _image_from_msg(msg: Image) -> Frame:
    image, encoding = conv.decode_image_msg(msg)
    return Frame(
        image=image,
        stamp_ns=conv.stamp_to_ns(msg.header.stamp),
        index=-1,
        encoding=encoding,
        frame_id=msg.header.frame_id,
    )


def _image_to_msg(frame: Frame) -> Image:
    return conv.image_to_msg(frame.image, frame.stamp_ns, frame.frame_id, frame.encoding)


def _header(p: Any) -> Any:
    return conv.make_header(p.stamp_ns, p.frame_id)


def _skeletons_from_msg(msg: Skeleton2DArray) -> SkeletonsPayload:
    return SkeletonsPayload(
        stamp_ns=conv.stamp_to_ns(msg.header.stamp),
        frame_id=msg.header.frame_id,
        width=msg.image_width,
        height=msg.image_height,
        skeletons=conv.msg_to_skeletons(msg),
        main_track_id=msg.main_track_id,
    )


def _skeletons_to_msg(p: SkeletonsPayload) -> Skeleton2DArray:
    return conv.skeletons_to_msg(p.skeletons, _header(p), p.width, p.height, p.main_track_id)


def _skeletons3d_from_msg(msg: Skeleton3DArray) -> SkeletonsPayload:
    """3-D only (2-D keypoints left at score 0): for consumers of ``skeletons_3d``."""
    skeletons = []
    for s in msg.skeletons:
        k3 = np.array([(k.x, k.y, k.z, k.score) for k in s.keypoints], np.float32).reshape(-1, 4)
        skeletons.append(Skeleton(s.layout, np.zeros((len(k3), 3), np.float32), score=s.score,
                                  track_id=s.track_id, keypoints_3d=k3,
                                  space_3d=msg.space or "camera"))
    return SkeletonsPayload(conv.stamp_to_ns(msg.header.stamp), msg.header.frame_id, 0, 0,
                            skeletons)


def _detections_from_msg(msg: Detection2DArray) -> DetectionsPayload:
    return DetectionsPayload(
        conv.stamp_to_ns(msg.header.stamp), msg.header.frame_id, conv.msg_to_detections(msg)
    )


@dataclass
class _Prediction:
    """An ActionPrediction message read back into the duck-typed prediction fields."""

    label: str
    confidence: float
    class_names: list[str]
    class_scores: list[float]
    window_start_ns: int
    window_end_ns: int
    model_name: str
    track_id: int


def _action_from_msg(msg: ActionPrediction) -> ActionPayload:
    pred = _Prediction(
        label=msg.label,
        confidence=msg.confidence,
        class_names=list(msg.class_names),
        class_scores=[float(s) for s in msg.class_scores],
        window_start_ns=conv.stamp_to_ns(msg.window_start),
        window_end_ns=conv.stamp_to_ns(msg.window_end),
        model_name=msg.model_name,
        track_id=msg.track_id,
    )
    return ActionPayload(conv.stamp_to_ns(msg.header.stamp), msg.header.frame_id, pred)


def _repetition_to_msg(p: RepetitionPayload) -> RepetitionEvent:
    msg = RepetitionEvent(
        header=_header(p),
        track_id=int(p.track_id),
        exercise=p.exercise,
        count=int(p.count),
        start=conv.ns_to_stamp(p.start_ns),
        end=conv.ns_to_stamp(p.end_ns),
    )
    q = p.quality
    msg.quality.duration_s = float(q.get("duration_s", (p.end_ns - p.start_ns) * 1e-9))
    msg.quality.range_of_motion_deg = float(q.get("range_of_motion_deg", 0.0))
    msg.quality.key_joint = str(q.get("key_joint", ""))
    msg.quality.angle_space = str(q.get("angle_space", "2d"))
    msg.quality.tempo_s = float(q.get("tempo_s", 0.0))
    msg.quality.reference_distance = float(q.get("reference_distance", -1.0))
    return msg


def _repetition_from_msg(msg: RepetitionEvent) -> RepetitionPayload:
    q = msg.quality
    return RepetitionPayload(
        stamp_ns=conv.stamp_to_ns(msg.header.stamp),
        frame_id=msg.header.frame_id,
        track_id=msg.track_id,
        exercise=msg.exercise,
        count=msg.count,
        start_ns=conv.stamp_to_ns(msg.start),
        end_ns=conv.stamp_to_ns(msg.end),
        quality={
            "duration_s": q.duration_s,
            "range_of_motion_deg": q.range_of_motion_deg,
            "key_joint": q.key_joint,
            "angle_space": q.angle_space or "2d",
            "tempo_s": q.tempo_s,
            "reference_distance": q.reference_distance,
        },
    )


@dataclass
class _Reach:
    phase: int
    side: str
    object_label: str
    confidence: float
    scores: list[float]
    onset_ns: int | None
    offset_ns: int | None
    distance: float
    iou: float


def _reach_from_msg(msg: ReachState) -> ReachPayload:
    onset = conv.stamp_to_ns(msg.onset_stamp)
    offset = conv.stamp_to_ns(msg.offset_stamp)
    state = _Reach(
        phase=msg.phase,
        side=msg.side,
        object_label=msg.object_label,
        confidence=msg.confidence,
        scores=[float(s) for s in msg.scores],
        onset_ns=onset or None,
        offset_ns=offset or None,
        distance=msg.hand_object_distance,
        iou=msg.hand_object_iou,
    )
    return ReachPayload(conv.stamp_to_ns(msg.header.stamp), msg.header.frame_id, state)


IMAGE: Codec[Frame] = Codec("image", Image, _image_to_msg, _image_from_msg,
                            qos_profile_sensor_data)
#: what ``image_qos`` parameters accept: best effort (matches any camera driver) or reliable
IMAGE_QOS_CHOICES = ("sensor_data", "reliable")


def image_qos(name: str) -> QoSProfile:
    """Sensor-data QoS (best effort, keep last 5) or the same depth, reliable."""
    if name == "reliable":
        return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    return qos_profile_sensor_data


def _compressed_from_msg(msg: CompressedImage) -> Frame:
    image, encoding = conv.compressed_to_image(msg)
    return Frame(image=image, stamp_ns=conv.stamp_to_ns(msg.header.stamp), index=-1,
                 encoding=encoding, frame_id=msg.header.frame_id)


def _no_compressed_output(frame: Frame) -> CompressedImage:
    raise NotImplementedError("the stack reads compressed images, it does not publish them")


#: ``<image>/compressed`` as image_transport publishes it (JPEG / PNG); input only
COMPRESSED_IMAGE: Codec[Frame] = Codec(
    "compressed_image", CompressedImage, _no_compressed_output, _compressed_from_msg,
    qos_profile_sensor_data,
)
SKELETONS: Codec[SkeletonsPayload] = Codec(
    "skeletons", Skeleton2DArray, _skeletons_to_msg, _skeletons_from_msg, RESULT_QOS
)
#: the 3-D keypoints of the same skeletons, beside ``skeletons`` (see Skeleton3DArray)
SKELETONS_3D: Codec[SkeletonsPayload] = Codec(
    "skeletons_3d", Skeleton3DArray,
    lambda p: conv.skeletons3d_to_msg(p.skeletons, _header(p)), _skeletons3d_from_msg, RESULT_QOS,
)
DETECTIONS: Codec[DetectionsPayload] = Codec(
    "detections", Detection2DArray,
    lambda p: conv.detections_to_msg(p.detections, _header(p)), _detections_from_msg, RESULT_QOS,
)
ACTION: Codec[ActionPayload] = Codec(
    "action", ActionPrediction, lambda p: conv.action_to_msg(p.prediction, _header(p)),
    _action_from_msg, RESULT_QOS,
)
REPETITION: Codec[RepetitionPayload] = Codec(
    "repetition", RepetitionEvent, _repetition_to_msg, _repetition_from_msg, RESULT_QOS
)
REACH: Codec[ReachPayload] = Codec(
    "reach", ReachState, lambda p: conv.reach_to_msg(p.state, _header(p)), _reach_from_msg,
    RESULT_QOS,
)
