"""Repetition counter: ``skeletons`` (+ ``action``) -> ``repetitions`` (RepetitionEvent).

With ``exercise`` set, it counts that exercise. Left empty, it follows the
action classifier: each new recognised label starts a counter for it (an
"unknown" label keeps the current one).
"""

from __future__ import annotations

from dataclasses import dataclass

from rehab_perception import payloads
from rehab_perception._subject import main_skeleton
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for


@dataclass(frozen=True)
class RepetitionCounterConfig:
    exercise: str
    follow_action: bool


class RepetitionCounterNode(LifecycleComponent):
    DEFAULT_NAME = "repetition_counter"
    Config = RepetitionCounterConfig
    PARAMS = (
        ParamSpec("exercise", "", "exercise to count ('' = the generic counter)"),
        ParamSpec("follow_action", True, "switch exercise when the recognised action changes"),
    )

    def configure(self, cfg: RepetitionCounterConfig) -> None:
        from rehab_core.repetition.counter import RepetitionCounter

        self._counter_cls = RepetitionCounter
        self.counter = RepetitionCounter(cfg.exercise or None)
        self.out_reps = self.create_output("repetitions", payloads.REPETITION)

    def activate(self) -> None:
        self.create_input("skeletons", payloads.SKELETONS, self.on_skeletons)
        if self.config.follow_action and not self.config.exercise:
            self.create_input("action", payloads.ACTION, self.on_action)

    def on_action(self, p: payloads.ActionPayload) -> None:
        label = p.prediction.label
        if label and label != "unknown" and label != self.counter.exercise:
            self.counter = self._counter_cls(label)

    def on_skeletons(self, p: payloads.SkeletonsPayload) -> None:
        subject = main_skeleton(p)
        for rep in self.counter.update(subject, p.stamp_ns):
            self.out_reps.publish(payloads.RepetitionPayload(
                stamp_ns=p.stamp_ns,
                frame_id=p.frame_id,
                track_id=subject.track_id if subject is not None else -1,
                exercise=rep.exercise,
                count=self.counter.count,
                start_ns=round(rep.start_t * 1e9),
                end_ns=round(rep.end_t * 1e9),
                quality={
                    "duration_s": rep.duration_s,
                    "range_of_motion_deg": rep.amplitude if rep.unit == "deg" else 0.0,
                    "key_joint": rep.signal,
                    "tempo_s": rep.extreme_t - rep.start_t,
                },
            ))

    def deactivate(self) -> None:
        self.counter = self._counter_cls(self.config.exercise or None)

    def cleanup(self) -> None:
        self.counter = None


main = main_for(RepetitionCounterNode)
