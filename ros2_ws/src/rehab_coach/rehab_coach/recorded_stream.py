"""Replay a recorded skeleton stream as the perception stack's messages.

Why: the RunExercise server only needs skeletons, predictions and repetition
events. Replaying cached skeletons (``rehab_core.io.skeleton_store``) through
the core's streaming classifier and repetition counter gives exactly those
messages in seconds, with no camera or pose model, so sessions and tests run
on real footage cheaply. The counter follows the classifier's label like
``rehab_perception``'s repetition_counter node does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from rehab_core.coaching import same_exercise
from rehab_core.io.skeleton_store import SkeletonSequence
from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.repetition.quality import assess_repetition
from rehab_core.types import Skeleton
from rehab_runtime import codecs

TRACK_ID = 0


class FrameClassifier(Protocol):
    def update(self, skeleton: Skeleton | None, stamp_ns: int) -> ActionPrediction | None:
        """The core streaming classifier's prediction when its window slid, else None."""


@dataclass
class StreamFrame:
    """One frame's messages as payloads (convert with ``codecs.*.to_msg``)."""

    skeletons: codecs.SkeletonsPayload
    action: codecs.ActionPayload | None = None
    repetitions: list[codecs.RepetitionPayload] = field(default_factory=list)


def sequence_frames(seq: SkeletonSequence, classifier: FrameClassifier | None,
                    frame_id: str = "camera") -> Iterator[StreamFrame]:
    """Per frame: the subject's skeleton (3-D included), the classifier's prediction,
    completed reps."""
    counter: RepetitionCounter | None = None
    for i, stamp in enumerate(seq.stamps_ns):
        stamp = int(stamp)
        # with the file's 3-D keypoints when it has them: the classifier's fused input and
        # the counter's 3-D angles, as live
        skeleton = seq.skeleton(i, track_id=TRACK_ID)
        frame = StreamFrame(codecs.SkeletonsPayload(
            stamp, frame_id, seq.width, seq.height, [skeleton] if skeleton else [],
            TRACK_ID if skeleton else -1))
        if classifier is not None:
            pred = classifier.update(skeleton, stamp)
            if pred is not None:
                frame.action = codecs.ActionPayload(stamp, frame_id, pred, TRACK_ID)
                label = pred.label
                if label and label != "unknown" and (
                        counter is None or not same_exercise(counter.exercise, label)):
                    counter = RepetitionCounter(label)
        if counter is not None:
            for rep in counter.update(skeleton, stamp):
                frame.repetitions.append(codecs.RepetitionPayload(
                    stamp_ns=stamp, frame_id=frame_id, track_id=TRACK_ID,
                    exercise=rep.exercise, count=counter.count,
                    start_ns=round(rep.start_t * 1e9), end_ns=round(rep.end_t * 1e9),
                    quality=assess_repetition(rep),  # as the live repetition_counter does
                ))
        yield frame


class StreamPublisher:
    """Publishes ``StreamFrame``s on ``skeletons``, ``action`` and ``repetitions``."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.pubs = {
            name: node.create_publisher(codec.msg_type, name, codec.qos)
            for name, codec in (("skeletons", codecs.SKELETONS), ("action", codecs.ACTION),
                                ("repetitions", codecs.REPETITION))
        }

    def publish(self, frame: StreamFrame) -> None:
        self.pubs["skeletons"].publish(codecs.SKELETONS.to_msg(frame.skeletons))
        if frame.action is not None:
            self.pubs["action"].publish(codecs.ACTION.to_msg(frame.action))
        for rep in frame.repetitions:
            self.pubs["repetitions"].publish(codecs.REPETITION.to_msg(rep))

    def destroy(self) -> None:
        for pub in self.pubs.values():
            self.node.destroy_publisher(pub)


#: the topics a recorded stream feeds (the RunExercise server's inputs)
STREAM_TOPICS = ("/skeletons", "/action", "/repetitions")


class BusFeed:
    """Hands ``StreamFrame``s to co-located consumers through the container's in-process bus.

    Why: a file replay runs faster than real time; over DDS a busy executor fell behind
    and the server's queues overwrote skeletons (repetitions lost, goals ended
    ``person_lost``). On the bus each payload is handed over in the caller's thread, in
    order, and nothing can be dropped. Register the producers (``register``) before the
    consumers activate, so their inputs take the bus instead of a subscription.
    """

    def __init__(self, bus: Any) -> None:
        self.bus = bus

    @staticmethod
    def register(bus: Any) -> None:
        for topic in STREAM_TOPICS:
            bus.add_producer(topic)

    def publish(self, frame: StreamFrame) -> None:
        skeletons, action, repetitions = STREAM_TOPICS
        self.bus.deliver(skeletons, frame.skeletons)
        if frame.action is not None:
            self.bus.deliver(action, frame.action)
        for rep in frame.repetitions:
            self.bus.deliver(repetitions, rep)
