"""The view-robust exercise classifier: leave-sources-out evaluation and the shipped bundle.

``rehab eval recognition`` runs ``leave_sources_out``: the real corpus's
sources (repositories) are held out in turn, a model is trained on all other
sources plus UI-PRMD's re-projected 3-D skeletons, and every held-out clip is
measured (``recognition_eval.py``). ``rehab train recognition`` trains the
same recipe on everything and writes the bundle (``models/exercise_stgcn``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from rehab_core.datasets.augment import RandomAugment
from rehab_core.datasets.corpus import CorpusClip, source_folds
from rehab_core.errors import ConfigError
from rehab_core.recognition.stgcn import count_parameters
from rehab_core.training.evaluation import plot_confusion
from rehab_core.training.recognition_data import (
    ClipWindows,
    RecognitionData,
    render_clip,
    stack,
)
from rehab_core.training.recognition_eval import evaluate_clip, summarize_clips
from rehab_core.training.stgcn_pipeline import StgcnSpec, build_model, write_bundle
from rehab_core.training.trainer import TrainConfig, thesis_sgd, train_classifier

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


def fit_rendered(spec: StgcnSpec, rendered: Sequence[ClipWindows],
                 log: Callable[[str], None] = print, desc: str = "train",
                 input_space: str = "2d"):
    """Train one model on pre-rendered windows (flip/zoom/tilt augmented on the fly).

    3-D windows are already scaled by the torso; zooming only x and y would
    distort them, so they get flip and tilt alone."""
    x, y = stack(list(rendered))
    model = build_model(spec, log)
    zoom = (1.0, 1.0) if input_space == "world3d" else (0.85, 1.15)
    augment = RandomAugment(spec.layout, seed=spec.train.seed, max_rotation_deg=8.0,
                            zoom_range=zoom,
                            x_channels=(0, 3) if input_space == "fused" else (0,))
    history = train_classifier(model, x, y, spec.train, len(spec.labels), augment=augment,
                               log=log, desc=desc)
    return model.eval(), history, len(x)


def leave_sources_out(clips: Sequence[CorpusClip], data: RecognitionData, spec: StgcnSpec,
                      out_dir: str | Path, folds: int = 0,
                      log: Callable[[str], None] = print) -> dict:
    """Hold each source group out in turn; write per-clip results and the pooled figures.

    Clips of a held-out source never reach its model's training set (checked
    here, not assumed); 3-D-only sources (UI-PRMD) are always training data.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rendered = {c.name: render_clip(c, data) for c in clips}
    log(f"rendered {sum(len(r.x) for r in rendered.values())} windows from {len(clips)} clips "
        f"in {time.time() - t0:.0f} s")
    groups = source_folds(list(clips), folds)
    results, fold_log = [], []
    for i, held in enumerate(groups):
        held_set = set(held)
        train = [rendered[c.name] for c in clips if c.source not in held_set]
        test = [c for c in clips if c.source in held_set and c.real]
        leaked = {r.source for r in train} & held_set
        if leaked:
            raise ConfigError(f"fold {i}: sources on both sides of the split: {sorted(leaked)}")
        model, history, n_train = fit_rendered(spec, train, log, desc=f"fold {i + 1}",
                                               input_space=data.input)
        fold_results = [evaluate_clip(model, c, data, spec.threshold) for c in test]
        results.extend(fold_results)
        acc = np.mean([r["dominant"] == r["label"] for r in fold_results])
        fold_log.append({"held_out_sources": held,
                         "train_sources": sorted({r.source for r in train}),
                         "train_windows": n_train,
                         "test_clips": len(test), "video_accuracy": float(acc),
                         "final_train_loss": history.epochs[-1].train_loss})
        log(f"fold {i + 1}/{len(groups)} held out {held}: video accuracy {acc:.2f} on "
            f"{len(test)} clips ({time.time() - t0:.0f} s)")
    summary = summarize_clips(results, list(data.labels))
    summary.update({
        "split": "leave-sources-out" if folds else "leave-one-source-out",
        "folds": len(groups), "optimizer": spec.train.optimizer,
        "train": spec.train.to_dict(), "data": _data_dict(data),
        "seconds": round(time.time() - t0, 1),
    })
    write_outputs(out, summary, results, fold_log)
    return summary


def write_outputs(out: Path, summary: dict, results: list[dict], folds: list[dict]) -> None:
    """summary.json, clips.jsonl, counts.csv, folds.json, confusion PNG + JSON (videos, windows)."""
    labels = summary["labels"]
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "folds.json").write_text(json.dumps(folds, indent=2))
    with (out / "clips.jsonl").open("w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")  # per-window labels/confidences: recount offline
    lines = ["clip,source,label,true_count,counter,goal,error"]
    for r in results:
        if "count" in r:
            c = r["count"]
            lines.append(f"{r['clip']},{r['source']},{r['label']},{c['true']},{c['counter']},"
                         f"{c['goal']},{c['goal'] - c['true']}")
    (out / "counts.csv").write_text("\n".join(lines) + "\n")
    for kind in ("videos", "windows"):
        cm = np.asarray(summary[f"confusion_{kind}"])
        (out / f"confusion_{kind}.json").write_text(json.dumps(
            {"labels": labels, "rows_true_cols_pred": cm.tolist()}, indent=2))
        plot_confusion(cm, labels, out / f"confusion_{kind}.png",
                       f"{summary['split']}: {kind}")


FALLBACK_DIR = "fallback_2d"


def train_bundle(clips: Sequence[CorpusClip], data: RecognitionData, spec: StgcnSpec,
                 out_dir: str | Path, evaluation: dict | None = None,
                 log: Callable[[str], None] = print, fallback: str | Path | None = None) -> dict:
    """Train on every clip and write the bundle (weights, labels, config, metadata).

    A ``fused`` model needs 3-D the 2-D-only estimators do not give: ``fallback``
    (a 2-D bundle) is copied into the bundle and answers for windows without 3-D."""
    if data.input == "fused" and fallback is None:
        raise ConfigError("a fused (2-D + 3-D) bundle needs a 2-D fallback bundle for pose "
                          "models without 3-D (--fallback DIR)")
    t0 = time.time()
    rendered = [render_clip(c, data) for c in clips]
    model, _, n_train = fit_rendered(spec, rendered, log, desc="final", input_space=data.input)
    sources = sorted({c.source for c in clips})
    meta = {
        "parameters": count_parameters(model), "train_windows": n_train,
        "train_clips": len(clips), "train_sources": sources,
        "train_seconds": round(time.time() - t0, 1), "data": _data_dict(data),
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


def _data_dict(data: RecognitionData) -> dict:
    return json.loads(json.dumps(asdict(data)))  # tuples -> lists (YAML-safe)


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
    results = [evaluate_clip(model, c, data, float(cfg.get("threshold", 0.5)))
               for c in clips if c.real]
    summary = summarize_clips(results, all_labels)
    summary.update({"split": f"bundle {model_dir} (no training)", "folds": 0})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, summary, results, [])
    return summary
