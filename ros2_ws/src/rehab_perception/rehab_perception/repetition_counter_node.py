"""Repetition counter: ``skeletons`` (+ ``action``) -> ``repetitions`` (RepetitionEvent).

With ``exercise`` set, it counts that exercise. Left empty, it follows the
action classifier: each new recognised label starts a counter for it (an
"unknown" label keeps the current one).
"""

from __future__ import annotations

from dataclasses import dataclass

from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for
from rehab_runtime.subject import main_skeleton


@dataclass(frozen=True)
class RepetitionCounterConfig:
    exercise: str
    follow_action: bool
    use_3d: bool


class RepetitionCounterNode(LifecycleComponent):
    DEFAULT_NAME = "repetition_counter"
    Config = RepetitionCounterConfig
    PARAMS = (
        ParamSpec("exercise", "", "exercise to count ('' = the generic counter)"),
        ParamSpec("follow_action", True, "switch exercise when the recognised action changes"),
        ParamSpec("use_3d", True, "count and measure on 3-D joints when the skeletons carry "
                  "them (depth camera, or the pose model's own 3-D); the repetition's "
                  "quality.angle_space says which"),
    )

    def configure(self, cfg: RepetitionCounterConfig) -> None:
        from rehab_core.repetition.config import get_exercise_config
        from rehab_core.repetition.counter import RepetitionCounter
        from rehab_core.repetition.quality import assess_repetition

        self._counter_cls = RepetitionCounter
        self._config_of = get_exercise_config
        self._assess = assess_repetition
        self.counter = RepetitionCounter(cfg.exercise or None, use_3d=cfg.use_3d)
        self.out_reps = self.create_output("repetitions", codecs.REPETITION)

    def activate(self) -> None:
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)
        if self.config.follow_action and not self.config.exercise:
            self.create_input("action", codecs.ACTION, self.on_action)

    def on_action(self, p: codecs.ActionPayload) -> None:
        label = p.prediction.label
        if not label or label == "unknown":
            return
        known = self._config_of(label)
        name = known.name if known is not None else label  # aliases: "jacks" = jumping_jacks
        if name != self.counter.exercise:
            self.counter = self._counter_cls(label, use_3d=self.config.use_3d)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        subject = main_skeleton(p)
        for rep in self.counter.update(subject, p.stamp_ns):
            self.out_reps.publish(codecs.RepetitionPayload(
                stamp_ns=p.stamp_ns,
                frame_id=p.frame_id,
                track_id=subject.track_id if subject is not None else -1,
                exercise=rep.exercise,
                count=self.counter.count,
                start_ns=round(rep.start_t * 1e9),
                end_ns=round(rep.end_t * 1e9),
                quality=self._assess(rep),
            ))

    def deactivate(self) -> None:
        self.counter = self._counter_cls(self.config.exercise or None,
                                         use_3d=self.config.use_3d)

    def cleanup(self) -> None:
        self.counter = None


main = main_for(RepetitionCounterNode)
