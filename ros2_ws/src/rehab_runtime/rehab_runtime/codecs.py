"""What flows between components, and how each kind crosses the ROS edge.

Components only ever see these payloads (core objects plus the source stamp),
whether the producer sits in the same process (the payload object itself is
handed over, see ``channel``) or in another process (the payload is rebuilt
from the message by the codec). That keeps one code path per component, so
the container and separate processes compute the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from rehab_core.reach.state import ReachPhase, ReachState
from rehab_core.recognition.prediction import ActionPrediction as Prediction
from rehab_core.repetition.quality import RepetitionQuality
from rehab_core.types import Detection, Frame, Skeleton
from rehab_interfaces.msg import (
    ActionPrediction,
    Detection2DArray,
    RepetitionEvent,
    Skeleton2DArray,
    Skeleton3DArray,
)
from rehab_interfaces.msg import ReachState as ReachStateMsg
from rehab_runtime import conversions as conv

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
    """The core classifier's prediction for the person ``track_id`` (-1: nobody)."""

    stamp_ns: int
    frame_id: str
    prediction: Prediction
    track_id: int = -1


@dataclass
class RepetitionPayload:
    """One completed repetition with the core's quality (rehab_interfaces/RepetitionEvent)."""

    stamp_ns: int
    frame_id: str
    track_id: int
    exercise: str
    count: int
    start_ns: int
    end_ns: int
    quality: RepetitionQuality


@dataclass
class ReachPayload:
    """The core reach state of one hand (rehab_interfaces/ReachState)."""

    stamp_ns: int
    frame_id: str
    state: ReachState


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


def _action_to_msg(p: ActionPayload) -> ActionPrediction:
    """Only what a consumer reads crosses: the smoothed label and scores, window, model."""
    pred = p.prediction
    return ActionPrediction(
        header=_header(p), track_id=int(p.track_id), label=str(pred.label),
        confidence=float(pred.confidence), class_names=[str(n) for n in pred.scores],
        class_scores=[float(v) for v in pred.scores.values()],
        window_start=conv.ns_to_stamp(pred.window_start_ns),
        window_end=conv.ns_to_stamp(pred.window_end_ns), model_name=str(pred.model),
    )


def _action_from_msg(msg: ActionPrediction) -> ActionPayload:
    pred = Prediction(
        label=msg.label,
        confidence=float(msg.confidence),
        scores={str(n): float(v) for n, v in zip(msg.class_names, msg.class_scores)},
        window_start_ns=conv.stamp_to_ns(msg.window_start),
        window_end_ns=conv.stamp_to_ns(msg.window_end),
        model=msg.model_name,
    )
    return ActionPayload(conv.stamp_to_ns(msg.header.stamp), msg.header.frame_id, pred,
                         msg.track_id)


def _repetition_to_msg(p: RepetitionPayload) -> RepetitionEvent:
    return RepetitionEvent(
        header=_header(p), track_id=int(p.track_id), exercise=p.exercise, count=int(p.count),
        start=conv.ns_to_stamp(p.start_ns), end=conv.ns_to_stamp(p.end_ns),
        quality=conv.quality_to_msg(p.quality),
    )


def _repetition_from_msg(msg: RepetitionEvent) -> RepetitionPayload:
    return RepetitionPayload(
        stamp_ns=conv.stamp_to_ns(msg.header.stamp), frame_id=msg.header.frame_id,
        track_id=msg.track_id, exercise=msg.exercise, count=msg.count,
        start_ns=conv.stamp_to_ns(msg.start), end_ns=conv.stamp_to_ns(msg.end),
        quality=conv.quality_from_msg(msg.quality),
    )


def _reach_to_msg(p: ReachPayload) -> ReachStateMsg:
    """Scores in the message's phase order; no object -> distance -1; no onset -> zero stamp."""
    s = p.state
    distance = float(s.distance)
    return ReachStateMsg(
        header=_header(p), phase=s.phase.number, side=s.side, object_label=s.object_label,
        confidence=float(s.confidence), scores=s.phase_scores(),
        onset_stamp=conv.ns_to_stamp(s.onset_stamp_ns) if s.onset_stamp_ns >= 0 else Time(),
        offset_stamp=conv.ns_to_stamp(s.offset_stamp_ns) if s.offset_stamp_ns >= 0 else Time(),
        hand_object_distance=distance if distance == distance else -1.0,
        hand_object_iou=float(s.iou),
    )


def _reach_from_msg(msg: ReachStateMsg) -> ReachPayload:
    stamp = conv.stamp_to_ns(msg.header.stamp)
    onset, offset = conv.stamp_to_ns(msg.onset_stamp), conv.stamp_to_ns(msg.offset_stamp)
    distance = float(msg.hand_object_distance)
    state = ReachState(
        side=msg.side, phase=ReachPhase.from_number(msg.phase), index=-1, stamp_ns=stamp,
        scores=ReachState.scores_from_phase_order(list(msg.scores)),
        confidence=float(msg.confidence),
        distance=distance if distance >= 0.0 else float("nan"), iou=float(msg.hand_object_iou),
        object_label=msg.object_label,
        onset_stamp_ns=onset or -1, offset_stamp_ns=offset or -1,
    )
    return ReachPayload(stamp, msg.header.frame_id, state)


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
    "action", ActionPrediction, _action_to_msg, _action_from_msg, RESULT_QOS
)
REPETITION: Codec[RepetitionPayload] = Codec(
    "repetition", RepetitionEvent, _repetition_to_msg, _repetition_from_msg, RESULT_QOS
)
REACH: Codec[ReachPayload] = Codec(
    "reach", ReachStateMsg, _reach_to_msg, _reach_from_msg, RESULT_QOS
)
