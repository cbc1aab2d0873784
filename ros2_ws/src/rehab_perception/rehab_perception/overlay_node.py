"""Overlay: ``image`` + results -> ``image_annotated`` (sensor_msgs/Image) and ``markers``
(keypoints, bones and the exercise label with its count, in image pixels; see
docs/ros-tools.md).

With ``video_path`` set it also writes the annotated frames to that video file
(``rehab run``'s annotated.mp4); nothing is written by default (privacy).

Drawn when a frame's skeletons arrive (the pose stage runs on every frame),
on the image with the same stamp; detections, action and reach are the
latest ones not newer than that frame. Nothing is drawn for an image whose
skeletons never come (e.g. dropped by the pose stage).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np
from geometry_msgs.msg import Point
from visualization_msgs.msg import Marker, MarkerArray

from rehab_core.reach.state import ReachPhase
from rehab_core.skeleton import get_layout
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_runtime import codecs
from rehab_runtime import conversions as conv
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

_COLOURS = [(0, 200, 255), (255, 128, 0), (0, 255, 0), (255, 0, 255), (255, 255, 0)]
_IMAGE_CACHE = 30




@dataclass(frozen=True)
class OverlayConfig:
    min_keypoint_score: float
    video_path: str
    video_fps: float


class OverlayNode(LifecycleComponent):
    DEFAULT_NAME = "overlay"
    Config = OverlayConfig
    PARAMS = (
        ParamSpec("min_keypoint_score", 0.3, "keypoints drawn above this score", 0.0, 1.0),
        ParamSpec("video_path", "", "also write annotated frames to this video file ('' = no)"),
        ParamSpec("video_fps", 30.0, "frame rate of the written video", 1.0, 240.0),
    )

    def configure(self, cfg: OverlayConfig) -> None:
        self._writer: cv2.VideoWriter | None = None
        self._video_size: tuple[int, int] = (0, 0)
        self._video_failed = False
        self._repetitions: dict[str, int] = {}
        self.out_image = self.create_output("image_annotated", codecs.IMAGE)
        self.marker_pub = self.create_lifecycle_publisher(MarkerArray, "markers", 10)
        self._images: OrderedDict[int, Frame] = OrderedDict()
        self._latest: dict[str, object] = {}

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, self.on_image)
        self.create_input("detections", codecs.DETECTIONS, self._keep("detections"))
        self.create_input("action", codecs.ACTION, self._keep("action"))
        self.create_input("reach", codecs.REACH, self._keep_reach, check_stamps=False)
        self.create_input("repetitions", codecs.REPETITION, self._keep_repetition)
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)

    def _keep(self, kind: str):
        def keep(payload: object) -> None:
            self._latest[kind] = payload
        return keep

    def _keep_reach(self, payload: codecs.ReachPayload) -> None:
        self._latest[f"reach_{payload.state.side}"] = payload

    def _keep_repetition(self, payload: codecs.RepetitionPayload) -> None:
        self._repetitions[payload.exercise] = payload.count

    def on_image(self, frame: Frame) -> None:
        self._images[frame.stamp_ns] = frame
        while len(self._images) > _IMAGE_CACHE:
            self._images.popitem(last=False)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        frame = self._images.pop(p.stamp_ns, None)
        if frame is None:
            self.diag.drop(f"no image for skeletons: stamp {p.stamp_ns}")
            return
        canvas = as_bgr8(frame.image, frame.encoding).copy()  # never draw on a shared buffer
        self._draw(canvas, p)
        self.out_image.publish(Frame(canvas, p.stamp_ns, frame.index, "bgr8", p.frame_id))
        self._write_video(canvas)
        if self.marker_pub.get_subscription_count() > 0:
            self.marker_pub.publish(self._markers(p))

    def _draw(self, canvas: np.ndarray, p: codecs.SkeletonsPayload) -> None:
        thr = self.config.min_keypoint_score
        dets = self._latest.get("detections")
        if dets is not None and dets.stamp_ns <= p.stamp_ns:
            for d in dets.detections:
                x1, y1, x2, y2 = (int(v) for v in d.box)
                cv2.rectangle(canvas, (x1, y1), (x2, y2), (200, 200, 200), 1)
                cv2.putText(canvas, d.label, (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                            0.4, (200, 200, 200), 1)
        for s in p.skeletons:
            colour = _COLOURS[max(s.track_id, 0) % len(_COLOURS)]
            kp = s.keypoints
            try:
                edges = get_layout(s.layout).edges
            except ValueError:
                edges = ()
            for a, b in edges:
                if max(a, b) < len(kp) and kp[a, 2] >= thr and kp[b, 2] >= thr:
                    cv2.line(canvas, (int(kp[a, 0]), int(kp[a, 1])),
                             (int(kp[b, 0]), int(kp[b, 1])), colour, 2)
            for x, y, score in kp:
                if score >= thr:
                    cv2.circle(canvas, (int(x), int(y)), 3, colour, -1)
        lines = []
        action = self._latest.get("action")
        if action is not None:
            pred = action.prediction
            lines.append(f"{pred.label} {pred.confidence:.2f}")
        lines += [f"{name}: {count} reps" for name, count in self._repetitions.items()]
        for side in ("left", "right"):
            reach = self._latest.get(f"reach_{side}")
            if reach is not None and reach.state.phase is not ReachPhase.NO_REACH:
                lines.append(f"reach {side}: {reach.state.phase.value}")
        for i, text in enumerate(lines):
            cv2.putText(canvas, text, (8, 22 + 22 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        (0, 255, 255), 2)

    def _write_video(self, canvas: np.ndarray) -> None:
        """Append to the annotated video; frames of another size than the first are skipped."""
        if not self.config.video_path or self._video_failed:
            return
        size = (canvas.shape[1], canvas.shape[0])
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(self.config.video_path, fourcc,
                                           self.config.video_fps, size)
            self._video_size = size
            if not self._writer.isOpened():
                self.get_logger().error(f"cannot write video {self.config.video_path}")
                self._writer, self._video_failed = None, True
                return
        if size == self._video_size:
            self._writer.write(canvas)
        else:
            self.diag.drop(f"annotated video: frame size {size} != {self._video_size}")

    def _markers(self, p: codecs.SkeletonsPayload) -> MarkerArray:
        """Per skeleton: keypoints (POINTS), bones (LINE_LIST) and a label with the
        recognised exercise and count (TEXT_VIEW_FACING), in image pixels (x right, y
        down) in the image's frame. A DELETEALL first, so people who left disappear."""
        header = conv.make_header(p.stamp_ns, p.frame_id)
        thr = self.config.min_keypoint_score
        markers = [Marker(header=header, action=Marker.DELETEALL)]
        action = self._latest.get("action")
        label = action.prediction.label if action is not None else ""
        if label and label in self._repetitions:
            label = f"{label}: {self._repetitions[label]}"
        for i, s in enumerate(p.skeletons):
            kp = s.keypoints
            seen = kp[:, 2] >= thr
            points = Marker(header=header, ns="skeletons", id=i, type=Marker.POINTS,
                            action=Marker.ADD)
            points.scale.x = points.scale.y = 4.0
            points.color.r, points.color.g, points.color.a = 0.0, 1.0, 1.0
            points.points = [Point(x=float(x), y=float(y), z=0.0) for x, y, _ in kp[seen]]
            bones = Marker(header=header, ns="bones", id=i, type=Marker.LINE_LIST,
                           action=Marker.ADD)
            bones.scale.x = 2.0
            bones.color.r, bones.color.g, bones.color.b, bones.color.a = 1.0, 0.8, 0.0, 1.0
            try:
                edges = get_layout(s.layout).edges
            except ValueError:
                edges = ()
            for a, b in edges:
                if max(a, b) < len(kp) and seen[a] and seen[b]:
                    bones.points += [Point(x=float(kp[a, 0]), y=float(kp[a, 1]), z=0.0),
                                     Point(x=float(kp[b, 0]), y=float(kp[b, 1]), z=0.0)]
            markers += [points, bones]
            if label and seen.any() and (p.main_track_id < 0 or s.track_id == p.main_track_id):
                text = Marker(header=header, ns="labels", id=i, type=Marker.TEXT_VIEW_FACING,
                              action=Marker.ADD, text=label)
                text.pose.position.x = float(kp[seen, 0].mean())
                text.pose.position.y = float(kp[seen, 1].min()) - 20.0
                text.pose.orientation.w = 1.0
                text.scale.z = 24.0
                text.color.r = text.color.g = text.color.b = text.color.a = 1.0
                markers.append(text)
        return MarkerArray(markers=markers)

    def deactivate(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def cleanup(self) -> None:
        self._images = OrderedDict()
        self._latest = {}
        self._repetitions = {}


main = main_for(OverlayNode)
