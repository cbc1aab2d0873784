"""ST-GCN training, leave-one-video-out evaluation and bundle writing, end to end.

``rehab train stgcn`` / ``rehab eval stgcn`` are thin wrappers around this
module, and the ``exercise`` preset here is the one command that rebuilds
``models/exercise_stgcn`` from the cached skeletons.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from rehab_core.datasets.augment import RandomAugment, change_speed
from rehab_core.datasets.skeleton_dataset import (
    SkeletonSequence,
    WindowSet,
    build_window_set,
    leave_one_video_out,
    split_by_video,
)
from rehab_core.errors import ConfigError
from rehab_core.recognition.checkpoint import load_pretrained
from rehab_core.recognition.model_bundle import (
    CONFIG,
    LABELS,
    MODEL_ONNX,
    MODEL_PT,
    export_onnx,
    save_torch_model,
)
from rehab_core.recognition.stgcn import STGCN, STGCNConfig, count_parameters
from rehab_core.training.evaluation import EvalResult, write_evaluation
from rehab_core.training.trainer import TrainConfig, predict_proba, train_classifier


@dataclass
class StgcnSpec:
    """What to train: the data view (window, fps, ...) and the model and optimiser settings."""

    labels: list[str]
    layout: str = "coco17"
    window: int = 45
    stride: int = 6
    fps: float = 30.0
    normalization: str = "torso"
    min_score: float = 0.2
    threshold: float = 0.5
    speeds: tuple[float, ...] = (0.8, 1.0, 1.25)
    width: float = 0.5
    dropout: float = 0.2
    extra_fc: int = 0
    #: block channels/temporal strides (None: the published ten blocks scaled by ``width``)
    channels: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    pretrained: str | None = None
    augment: bool = True
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = "stgcn"
    #: input channels per joint: 3 (x, y, score or x, y, z) or 6 (2-D and 3-D together)
    in_channels: int = 3
    #: the network also reads each channel's frame-to-frame change (``STGCNConfig.motion``)
    motion: bool = False
    #: an unknown window is its likeliest exercise that completed a repetition (``rep_evidence``)
    repetition_evidence: bool = False
    #: the legs' stance picks the squat family's member, a lunge or not (``stance``)
    stance: bool = False
    #: a counted exercise whose key joint did not move is unknown (``motion_check``)
    motion_check: bool = False

    def model_config(self) -> STGCNConfig:
        shape = {}
        if self.channels is not None:
            shape = {"channels": tuple(self.channels),
                     "strides": tuple(self.strides or (1,) * len(self.channels))}
        return STGCNConfig(num_classes=len(self.labels), layout=self.layout, width=self.width,
                           dropout=self.dropout, extra_fc=self.extra_fc,
                           in_channels=self.in_channels, motion=self.motion, **shape)

    def streaming_config(self) -> dict:
        """The settings the streaming classifier needs (config.yaml)."""
        return {
            "name": self.name, "layout": self.layout, "window": self.window,
            "stride": max(1, self.window // 6), "fps": self.fps,
            "normalization": self.normalization, "min_score": self.min_score,
            "threshold": self.threshold, "smoothing": "ema", "ema_alpha": 0.5,
            "hysteresis": 2, "input": "(1, 3, window, V): x, y centred/scaled, score",
            "repetition_evidence": self.repetition_evidence, "stance": self.stance,
            "motion_check": self.motion_check,
        }


def exercise_preset() -> tuple[StgcnSpec, dict[str, str]]:
    """The shipped exercise model's settings and its clip -> label map."""
    spec = StgcnSpec(
        labels=["squat", "jumping_jacks", "push_up", "plank", "unknown"],
        window=30, stride=15, fps=30.0, width=0.25, speeds=(0.8, 1.0, 1.25),
        train=TrainConfig(epochs=6, batch_size=32, lr=2e-3, weight_decay=1e-3),
        name="exercise_stgcn",
    )
    videos = {
        "jacks": "jumping_jacks", "squat": "squat", "squat2": "squat",
        "pushup_v1449k": "push_up", "pushup_v1850k": "push_up", "pushup_v961k": "push_up",
        "plank_v1370k": "plank", "plank_v2184k": "plank",
        "clean_and_jerk": "unknown", "skateboarding": "unknown", "ta_chi": "unknown",
    }
    return spec, videos


def make_windows(spec: StgcnSpec, sequences: Sequence[SkeletonSequence],
                 speeds: Sequence[float] = (1.0,)) -> WindowSet:
    """Windows of every sequence, once per playback speed (speed augmentation)."""
    expanded = [seq if s == 1.0 else change_speed(seq, s) for seq in sequences for s in speeds]
    return build_window_set(expanded, spec.labels, spec.window, spec.stride, spec.fps,
                            spec.normalization, spec.min_score)


def build_model(spec: StgcnSpec, log: Callable[[str], None] = print) -> STGCN:
    """A fresh model, initialised from ``spec.train.seed`` (so runs are reproducible)."""
    import torch

    torch.manual_seed(spec.train.seed)
    model = STGCN(spec.model_config())
    if spec.pretrained:
        report = load_pretrained(model, spec.pretrained, strict=False)
        log(f"pretrained {spec.pretrained}: {report.summary()}")
    return model


def fit(spec: StgcnSpec, train_seqs: Sequence[SkeletonSequence],
        val_seqs: Sequence[SkeletonSequence] = (), log: Callable[[str], None] = print,
        desc: str = "train", keep_best: bool | None = None):
    """Train one model; returns (model, history, train windows, val windows)."""
    train_w = make_windows(spec, train_seqs, spec.speeds)
    val_w = make_windows(spec, val_seqs) if val_seqs else None
    if len(train_w) == 0:
        raise ConfigError("no training windows (sequences shorter than the window?)")
    model = build_model(spec, log)
    cfg = spec.train
    if keep_best is not None:
        cfg = TrainConfig(**{**cfg.to_dict(), "keep_best": keep_best})
    augment = RandomAugment(spec.layout, seed=cfg.seed) if spec.augment else None
    history = train_classifier(
        model, train_w.x, train_w.y, cfg, len(spec.labels),
        val_w.x if val_w is not None else None, val_w.y if val_w is not None else None,
        augment=augment, log=log, desc=desc)
    return model.eval(), history, train_w, val_w


def _result(spec: StgcnSpec, model: STGCN, windows: WindowSet) -> EvalResult:
    probs = predict_proba(model, windows.x)
    ids = [f"{v}@{s}" for v, s in zip(windows.video, windows.start_ns)]
    return EvalResult(list(spec.labels), windows.y, probs, windows.video, ids)


def write_bundle(out_dir: Path, spec: StgcnSpec, model: STGCN, metadata: dict) -> None:
    """model.pt, model.onnx, labels.txt, config.yaml into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_torch_model(model, out_dir / MODEL_PT, extra={"spec": _spec_dict(spec)})
    export_onnx(model, out_dir / MODEL_ONNX, spec.window)
    (out_dir / LABELS).write_text("\n".join(spec.labels) + "\n")
    config = {**spec.streaming_config(), "model": spec.model_config().to_dict(),
              "training": _spec_dict(spec), **metadata}
    (out_dir / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))


def _spec_dict(spec: StgcnSpec) -> dict:
    d = asdict(spec)
    d["speeds"] = list(spec.speeds)
    for key in ("channels", "strides"):
        if d[key] is not None:
            d[key] = list(d[key])
    d["train"]["lr_steps"] = list(spec.train.lr_steps)
    return d


def train_and_save(spec: StgcnSpec, sequences: Sequence[SkeletonSequence], out_dir: str | Path,
                   val_videos: Sequence[str] = (), log: Callable[[str], None] = print) -> dict:
    """Train on all videos but ``val_videos``, write the bundle and its evaluation."""
    out = Path(out_dir)
    train_seqs, val_seqs = split_by_video(sequences, val_videos) if val_videos else (
        list(sequences), [])
    t0 = time.time()
    model, history, train_w, val_w = fit(spec, train_seqs, val_seqs, log)
    meta = {
        "parameters": count_parameters(model),
        "train_videos": sorted({s.video_id for s in train_seqs}),
        "val_videos": sorted({s.video_id for s in val_seqs}),
        "train_windows": len(train_w),
        "train_seconds": round(time.time() - t0, 1),
    }
    write_bundle(out, spec, model, {"metadata": meta})
    evaluate_windows = val_w if val_w is not None and len(val_w) else make_windows(spec, train_seqs)
    split = "validation" if val_w is not None and len(val_w) else "training (no held-out videos)"
    summary = write_evaluation(out / "eval", _result(spec, model, evaluate_windows),
                               history.to_list(), {"split": split, **meta},
                               title=f"{spec.name}: {split}")
    log(f"wrote {out}: {meta['parameters']} parameters, {split} window accuracy "
        f"{summary['accuracy']:.3f}")
    return summary


def leave_one_video_out_eval(spec: StgcnSpec, sequences: Sequence[SkeletonSequence],
                             out_dir: str | Path, log: Callable[[str], None] = print) -> dict:
    """Train one model per held-out video (fixed epochs: the held-out video never picks
    the epoch) and evaluate each on its video; writes the pooled evaluation."""
    results = []
    folds = []
    for vid, train_seqs, val_seqs in leave_one_video_out(sequences):
        model, history, _, val_w = fit(spec, train_seqs, (), log, desc=f"lovo {vid}",
                                       keep_best=False)
        val_w = make_windows(spec, val_seqs)
        if len(val_w) == 0:
            log(f"lovo {vid}: no windows in the held-out video, skipped")
            continue
        res = _result(spec, model, val_w)
        acc = float((res.y_pred == res.y_true).mean())
        folds.append({"video": vid, "windows": len(val_w), "window_accuracy": acc,
                      "final_train_loss": history.epochs[-1].train_loss})
        log(f"lovo {vid}: window accuracy {acc:.3f} on {len(val_w)} windows")
        results.append(res)
    if not results:
        raise ConfigError("no fold produced held-out windows")
    pooled = EvalResult(
        list(spec.labels), np.concatenate([r.y_true for r in results]),
        np.concatenate([r.probs for r in results]), np.concatenate([r.groups for r in results]),
        [i for r in results for i in r.sample_ids])
    summary = write_evaluation(Path(out_dir), pooled, None, {"split": "leave-one-video-out",
                               "folds": folds}, title=f"{spec.name}: leave-one-video-out")
    (Path(out_dir) / "folds.json").write_text(json.dumps(folds, indent=2))
    return summary


def evaluate_bundle(model_dir: str | Path, sequences: Sequence[SkeletonSequence],
                    out_dir: str | Path, stride: int | None = None,
                    log: Callable[[str], None] = print) -> dict:
    """Evaluate a saved bundle on labelled sequences with the bundle's own settings."""
    from rehab_core.recognition.model_bundle import load_bundle, load_torch_model

    bundle = load_bundle(model_dir)
    cfg = bundle.config
    training = cfg.get("training", {})
    spec = StgcnSpec(
        labels=bundle.labels, layout=cfg.get("layout", "coco17"),
        window=int(cfg.get("window", 45)),
        stride=int(stride or training.get("stride", cfg.get("stride", 6))),
        fps=float(cfg.get("fps", 30.0)), normalization=cfg.get("normalization", "torso"),
        min_score=float(cfg.get("min_score", 0.2)), name=bundle.name)
    model = load_torch_model(bundle.torch_path)
    unknown = sorted({s.label for s in sequences} - set(spec.labels))
    if unknown:
        raise ConfigError(f"sequences have labels the model does not know: {unknown}")
    windows = make_windows(spec, sequences)
    if cfg.get("binary_score"):  # fed as the streaming classifier feeds it
        windows.x[:, 2] = (windows.x[:, 2] > 0).astype(np.float32)
    summary = write_evaluation(Path(out_dir), _result(spec, model, windows), None,
                               {"split": "evaluation", "model": str(model_dir)},
                               title=f"{spec.name}: evaluation")
    log(f"{len(windows)} windows, accuracy {summary['accuracy']:.3f}")
    return summary
