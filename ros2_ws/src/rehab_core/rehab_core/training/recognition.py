"""The view-robust exercise classifier: its recipe and the shipped bundle.

``rehab eval recognition`` runs ``leave_sources_out`` (``recognition_folds.py``):
the real corpus's sources are held out in turn and every held-out clip is
measured. ``rehab train recognition`` trains the same recipe (one model, or
one per seed averaged as an ensemble) on everything and writes the bundle
(``models/exercise_stgcn``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rehab_core.datasets.corpus import CorpusClip
from rehab_core.errors import ConfigError
from rehab_core.recognition.stgcn import count_parameters
from rehab_core.training.recognition_data import RecognitionData
from rehab_core.training.recognition_eval import evaluate_clip, summarize_clips
from rehab_core.training.recognition_folds import (
    combine,
    data_dict,
    fit_members,
    leave_sources_out,
    render_seeds,
    write_outputs,
)
from rehab_core.training.stgcn_pipeline import StgcnSpec, write_bundle
from rehab_core.training.trainer import TrainConfig, thesis_sgd

__all__ = ["evaluate_bundle_on_clips", "leave_sources_out", "recognition_spec", "train_bundle"]

#: the shipped classifier's block shape (sized by held-out accuracy and the 5 ms budget)
CHANNELS = (32, 32, 64, 64)
STRIDES = (1, 2, 1, 2)


def recognition_spec(data: RecognitionData, optimizer: str = "adamw", epochs: int = 4,
                     name: str = "exercise_stgcn", threads: int = 1) -> StgcnSpec:
    """The model and optimiser settings; ``optimizer`` "sgd" is the thesis's recipe."""
    if optimizer == "sgd":
        train = thesis_sgd(epochs, batch_size=64, num_threads=threads, progress=False,
                           keep_best=False)
    elif optimizer == "adamw":
        train = TrainConfig(epochs=epochs, batch_size=64, lr=3e-3, weight_decay=1e-3,
                            label_smoothing=0.05, num_threads=threads, progress=False,
                            keep_best=False, lr_steps=(max(1, 3 * epochs // 4),))
    else:
        raise ConfigError(f"optimizer must be adamw or sgd, got {optimizer!r}")
    return StgcnSpec(
        labels=list(data.labels), window=data.window, stride=data.stride, fps=data.fps,
        normalization=data.normalization, min_score=data.min_score, threshold=0.5,
        speeds=(1.0,), width=1.0, dropout=0.2, channels=CHANNELS, strides=STRIDES,
        train=train, name=name, in_channels=6 if data.input == "fused" else 3)


FALLBACK_DIR = "fallback_2d"


def train_bundle(clips: Sequence[CorpusClip], data: RecognitionData, spec: StgcnSpec,
                 out_dir: str | Path, evaluation: dict | None = None,
                 log: Callable[[str], None] = print, fallback: str | Path | None = None,
                 seeds: Sequence[int] | None = None, flip: bool = False,
                 fallback_weight: float = 0.0) -> dict:
    """Train on every clip and write the bundle (weights, labels, config, metadata).

    A ``fused`` model needs 3-D the 2-D-only estimators do not give: ``fallback``
    (a 2-D bundle) is copied into the bundle and answers for windows without 3-D;
    with 3-D its probabilities weigh ``fallback_weight`` in the answer.
    Several ``seeds`` (and ``flip``) make the bundle's model a ``SeedEnsemble``."""
    if data.input == "fused" and fallback is None:
        raise ConfigError("a fused (2-D + 3-D) bundle needs a 2-D fallback bundle for pose "
                          "models without 3-D (--fallback DIR)")
    if fallback_weight and fallback is None:
        raise ConfigError("a fallback weight needs a fallback bundle (--fallback DIR)")
    t0 = time.time()
    seeds = list(seeds) if seeds else [spec.train.seed]
    rendered = {s: list(by_name.values())
                for s, by_name in render_seeds(clips, data, seeds).items()}
    members, n_train, _ = fit_members(spec, rendered, data.input, log, "final")
    model = combine(members, data.input, flip)
    sources = sorted({c.source for c in clips})
    meta = {
        "parameters": count_parameters(model), "train_windows": n_train,
        "train_clips": len(clips), "train_sources": sources,
        "train_seconds": round(time.time() - t0, 1), "data": data_dict(data),
        "ensemble": {"seeds": seeds, "flip": flip},
    }
    if evaluation is not None:
        meta["held_out"] = {k: evaluation.get(k) for k in (
            "split", "folds", "window_accuracy", "video_accuracy", "count_exact",
            "count_within_1", "other_dominant_unknown", "other_false_reps_per_min")}
    extra = {"min_frames": data.min_frames, "binary_score": data.binary_score,
             "input_space": data.input, "metadata": meta}
    if fallback is not None:
        _copy_fallback(Path(fallback), Path(out_dir) / FALLBACK_DIR)
        extra["fallback"] = FALLBACK_DIR
        extra["fallback_weight"] = fallback_weight
    write_bundle(Path(out_dir), replace(spec, stride=data.stride), model, extra)
    log(f"wrote {out_dir}: {meta['parameters']} parameters, {n_train} windows")
    return meta


def _copy_fallback(src: Path, dst: Path) -> None:
    import shutil

    from rehab_core.recognition.model_bundle import load_bundle

    if load_bundle(src).config.get("input_space", "2d") != "2d":
        raise ConfigError(f"the fallback {src} must be a 2-D bundle")
    if src.resolve() != dst.resolve():
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("model.pt", "model.onnx", "labels.txt", "config.yaml"):
            if (src / name).is_file():
                shutil.copy2(src / name, dst / name)


def evaluate_bundle_on_clips(model_dir: str | Path, clips: Sequence[CorpusClip],
                             out_dir: str | Path, labels: Sequence[str]) -> dict:
    """A saved bundle on real clips with its own window settings (no training): the
    baseline a new model must beat. Classes the bundle lacks score zero (never right)."""
    import torch

    from rehab_core.recognition.model_bundle import load_bundle, load_torch_model

    bundle = load_bundle(model_dir)
    cfg = bundle.config
    all_labels = list(labels) + [b for b in bundle.labels if b not in labels]
    data = RecognitionData(labels=tuple(all_labels), window=int(cfg.get("window", 30)),
                           fps=float(cfg.get("fps", 30.0)), stride=int(cfg.get("stride", 5)),
                           normalization=cfg.get("normalization", "torso"),
                           min_score=float(cfg.get("min_score", 0.2)),
                           min_frames=int(cfg.get("min_frames", 0)),
                           binary_score=bool(cfg.get("binary_score", False)),
                           input=str(cfg.get("input_space", "2d")))
    inner = load_torch_model(bundle.torch_path)
    index = [all_labels.index(b) for b in bundle.labels]

    class _Widen(torch.nn.Module):  # the bundle's logits placed among all labels
        def forward(self, x):
            out = torch.full((x.shape[0], len(all_labels)), -1e4)
            out[:, index] = inner(x)
            return out

    model = _Widen().eval()
    results = [evaluate_clip(model, c, data, float(cfg.get("threshold", 0.5)),
                             evidence=bool(cfg.get("repetition_evidence", False)),
                             stance=bool(cfg.get("stance", False)),
                             motion_check=bool(cfg.get("motion_check", False)))
               for c in clips if c.real]
    summary = summarize_clips(results, all_labels)
    summary.update({"split": f"bundle {model_dir} (no training)", "folds": 0})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, summary, results, [])
    return summary
