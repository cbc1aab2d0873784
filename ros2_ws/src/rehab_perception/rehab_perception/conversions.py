"""Core types <-> ROS messages, in one place (no cv_bridge: it is a few lines).

Everything that crosses the ROS edge goes through here, so the components stay
msg -> core -> msg and the conversions are tested once. Image conversion avoids
needless copies: ``image_to_msg`` copies the pixels exactly once (into the
message's byte buffer) and ``msg_to_image`` returns a view of the message's
buffer (no copy at all).
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from rehab_core.errors import BadFrameError
from rehab_core.types import Detection, Skeleton
from rehab_interfaces.msg import (
    ActionPrediction,
    BoundingBox2D,
    Detection2D,
    Detection2DArray,
    Keypoint2D,
    ReachState,
    Skeleton2D,
    Skeleton2DArray,
)

#: channels per pixel of the 8-bit encodings the stack accepts
IMAGE_CHANNELS = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1}


def _unsupported(encoding: str) -> str:
    return f"unsupported encoding {encoding!r}; use one of {sorted(IMAGE_CHANNELS)}"


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
    """HxWxC uint8 array -> sensor_msgs/Image (one copy, into the message)."""
    if encoding not in IMAGE_CHANNELS:
        raise BadFrameError(_unsupported(encoding))
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise BadFrameError(f"expected a non-empty uint8 image, got {image.dtype} {image.shape}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels != IMAGE_CHANNELS[encoding]:
        raise BadFrameError(f"{encoding} needs {IMAGE_CHANNELS[encoding]} channels, got {channels}")
    height, width = image.shape[:2]
    msg = Image(
        header=make_header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels,
    )
    # one copy, straight into the array.array the message keeps (bytes would be copied twice)
    data = array.array("B")
    data.frombytes(memoryview(np.ascontiguousarray(image)).cast("B"))
    msg.data = data
    return msg


def msg_to_image(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> HxWxC uint8 view of the message buffer (no copy).

    Raises BadFrameError (the caller counts a dropped frame) for an unknown
    encoding, an empty image or a data length that does not match the header.
    """
    channels = IMAGE_CHANNELS.get(msg.encoding)
    if channels is None:
        raise BadFrameError(_unsupported(msg.encoding))
    if msg.height == 0 or msg.width == 0:
        raise BadFrameError(f"empty image ({msg.width}x{msg.height})")
    row = msg.width * channels
    step = msg.step or row
    if step < row or len(msg.data) < step * msg.height:
        raise BadFrameError(
            f"image data has {len(msg.data)} bytes; {msg.width}x{msg.height} {msg.encoding} "
            f"with step {step} needs {step * msg.height}"
        )
    flat = np.frombuffer(msg.data, dtype=np.uint8, count=step * msg.height)
    rows = flat.reshape(msg.height, step)[:, :row]
    if channels == 1:
        return rows
    return rows.reshape(msg.height, msg.width, channels)


def _box_msg(box: np.ndarray) -> BoundingBox2D:
    x1, y1, x2, y2 = (float(v) for v in box)
    return BoundingBox2D(x_min=x1, y_min=y1, x_max=x2, y_max=y2)


def _box_array(box: BoundingBox2D) -> np.ndarray:
    return np.array([box.x_min, box.y_min, box.x_max, box.y_max], np.float32)


def skeleton_to_msg(skeleton: Skeleton) -> Skeleton2D:
    return Skeleton2D(
        layout=skeleton.layout,
        track_id=int(skeleton.track_id),
        score=float(skeleton.score),
        box=_box_msg(skeleton.box),
        keypoints=[
            Keypoint2D(x=float(x), y=float(y), score=float(s)) for x, y, s in skeleton.keypoints
        ],
    )


def msg_to_skeleton(msg: Skeleton2D) -> Skeleton:
    kps = np.array([(k.x, k.y, k.score) for k in msg.keypoints], np.float32).reshape(-1, 3)
    return Skeleton(
        layout=msg.layout,
        keypoints=kps,
        box=_box_array(msg.box),
        score=msg.score,
        track_id=msg.track_id,
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


def action_to_msg(prediction: Any, header: Header) -> ActionPrediction:
    """A streaming classifier's prediction -> ActionPrediction.

    Duck-typed on purpose (ST-GCN and HAR classifiers share the fields):
    label, confidence, class_names, class_scores, window_start_ns,
    window_end_ns, model_name, track_id.
    """
    return ActionPrediction(
        header=header,
        track_id=int(getattr(prediction, "track_id", -1)),
        label=str(prediction.label),
        confidence=float(prediction.confidence),
        class_names=[str(n) for n in prediction.class_names],
        class_scores=[float(s) for s in prediction.class_scores],
        window_start=ns_to_stamp(prediction.window_start_ns),
        window_end=ns_to_stamp(prediction.window_end_ns),
        model_name=str(prediction.model_name),
    )


def reach_to_msg(state: Any, header: Header) -> ReachState:
    """A reach detector's per-side state -> ReachState (duck-typed, see the msg)."""
    scores = [float(s) for s in getattr(state, "scores", (0.0, 0.0, 0.0, 0.0))]
    onset = getattr(state, "onset_ns", None)
    offset = getattr(state, "offset_ns", None)
    return ReachState(
        header=header,
        phase=int(state.phase),
        side=str(state.side),
        object_label=str(getattr(state, "object_label", "") or ""),
        confidence=float(getattr(state, "confidence", 0.0)),
        scores=scores,
        onset_stamp=ns_to_stamp(onset) if onset is not None else Time(),
        offset_stamp=ns_to_stamp(offset) if offset is not None else Time(),
        hand_object_distance=float(getattr(state, "distance", 0.0)),
        hand_object_iou=float(getattr(state, "iou", 0.0)),
    )
