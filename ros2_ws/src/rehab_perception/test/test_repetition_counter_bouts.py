"""The repetition_counter node without a goal: bouts through the real rclpy component.

A synthetic squat set is labelled "deadlift" (a sibling) for its first
seconds, then "squat": the node must publish every repetition, the bout's
under "squat" once the majority turns, and never two messages on one stamp
(consumers drop the second).
"""

from __future__ import annotations

import numpy as np

from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.types import Skeleton
from rehab_runtime import codecs
from rehab_runtime.component import SUCCESS
from rehab_runtime.container import component_class
from rehab_testing.synthetic_reps import sequence


def test_a_relabelled_bout_publishes_every_repetition_once_per_stamp(ros_context):
    from rclpy.parameter import Parameter

    node = component_class("repetition_counter")(
        context=ros_context,
        parameter_overrides=[Parameter("exercise", value=""),
                             Parameter("follow_action", value=True)])
    published: list[codecs.RepetitionPayload] = []
    try:
        assert node.trigger_configure() == SUCCESS, node.last_error
        assert node.trigger_activate() == SUCCESS, node.last_error
        real_publish = node.out_reps.publish

        def publish(p: codecs.RepetitionPayload) -> None:
            published.append(p)
            real_publish(p)

        node.out_reps.publish = publish
        frames, stamps, spans = sequence("squat", 6, fps=30.0, period_s=1.6)
        switch = spans[2][0]  # "deadlift" over the first two reps
        next_label = 0.0
        for kp, ns in zip(frames, stamps, strict=True):
            t = ns * 1e-9
            if t >= next_label:
                next_label = t + 0.5
                label, conf = ("deadlift", 0.65) if t < switch else ("squat", 0.8)
                node.on_action(codecs.ActionPayload(int(ns), "camera", ActionPrediction(
                    label, conf, {label: conf}, int(ns), int(ns), "test")))
            people = [] if kp is None else [Skeleton("coco17", np.asarray(kp), track_id=1)]
            node.on_skeletons(codecs.SkeletonsPayload(int(ns), "camera", 1280, 720, people))
    finally:
        node.destroy_node()
    squats = [p for p in published if p.exercise == "squat"]
    assert len(squats) == 6, [(p.exercise, p.count) for p in published]
    assert [p.count for p in squats] == [1, 2, 3, 4, 5, 6]
    assert len({p.stamp_ns for p in published}) == len(published)
    # what a report keeps: the deadlift reps are overlapped by the squat ones that re-count them
    for p in published:
        if p.exercise == "deadlift":
            assert any(q.start_ns < p.end_ns and p.start_ns < q.end_ns for q in squats)
