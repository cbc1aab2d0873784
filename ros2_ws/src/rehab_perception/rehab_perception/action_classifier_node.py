"""Action classifier: ``skeletons`` -> ``action`` (rehab_interfaces/ActionPrediction).

``classifier`` picks the model family: "stgcn" (skeleton windows, the
default) or "har" (the core's HAR classifier). Both are streaming: a
prediction is published whenever the window slides (every ``stride`` frames).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from rehab_core.errors import ModelLoadError
from rehab_core.paths import repo_file
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for
from rehab_runtime.subject import main_skeleton


@dataclass(frozen=True)
class ActionClassifierConfig:
    classifier: str
    model_dir: str
    runtime: str
    threshold: float
    repetition_evidence: bool
    stance: bool
    motion_check: bool


_CLASSIFIER_MODULES = {
    "stgcn": "rehab_core.recognition.streaming",
    "har": "rehab_core.har.streaming",
}


class ActionClassifierNode(LifecycleComponent):
    DEFAULT_NAME = "action_classifier"
    Config = ActionClassifierConfig
    PARAMS = (
        ParamSpec("classifier", "stgcn", "model family", choices=tuple(_CLASSIFIER_MODULES)),
        ParamSpec("model_dir", "models/exercise_stgcn", "model bundle folder"),
        ParamSpec("runtime", "auto", "model runtime", choices=("auto", "onnx", "torch")),
        ParamSpec("threshold", 0.5, "below this confidence the label is 'unknown'", 0.0, 1.0),
        ParamSpec("repetition_evidence", True,
                  "an 'unknown' window is named after the best-ranked exercise (at least as "
                  "likely as 'unknown') whose repetition counter completed a repetition in "
                  "the last 4 s"),
        ParamSpec("stance", True,
                  "a squat-family window is a lunge exactly when the legs are split at the "
                  "bottom (needs the pose model's 3-D)"),
        ParamSpec("motion_check", True,
                  "a window named as an exercise whose key joint did not move through a "
                  "repetition's range in the last 4 s is 'unknown' (jumping jacks: the feet "
                  "open for jacks, stay put for an arm raise, judged in 3-D)"),
    )

    def configure(self, cfg: ActionClassifierConfig) -> None:
        model_dir = repo_file(cfg.model_dir)  # models/... from any working directory
        if not model_dir.is_dir():
            raise ModelLoadError(f"action model folder not found: {cfg.model_dir}")
        module = importlib.import_module(_CLASSIFIER_MODULES[cfg.classifier])
        self.classifier = module.StreamingClassifier.from_bundle(
            model_dir, runtime=cfg.runtime, threshold=cfg.threshold,
            repetition_evidence=cfg.repetition_evidence, stance=cfg.stance,
            motion_check=cfg.motion_check,
        )
        self.out_action = self.create_output("action", codecs.ACTION)

    def activate(self) -> None:
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        subject = main_skeleton(p)
        prediction = self.classifier.update(subject, p.stamp_ns)
        if prediction is not None:
            track = subject.track_id if subject is not None else -1
            self.out_action.publish(
                codecs.ActionPayload(p.stamp_ns, p.frame_id, prediction, track)
            )

    def deactivate(self) -> None:
        self.classifier.reset()

    def cleanup(self) -> None:
        if self.classifier is not None:
            self.classifier.close()  # its worker thread
        self.classifier = None


main = main_for(ActionClassifierNode)
