"""Train/evaluate the HAR classifiers and save them as model bundles.

Reuses the shared trainer (``rehab_core.training.trainer``) and evaluation
writer (confusion matrix JSON/PNG, summary.json, per-sample scores) so HAR
and ST-GCN results read the same. A bundle folder holds ``har_model.pt``
(arch + config + state dict), ``labels.txt``, ``config.yaml`` and, for the
skeleton LSTM, ``model.onnx`` taking ST-GCN's (N, C, T, V) input: that is
what lets ``StreamingClassifier.from_bundle`` run it in place of ST-GCN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from rehab_core.errors import ConfigError, ModelLoadError, ShapeMismatchError
from rehab_core.har.cnn_lstm import CnnLSTM, CnnLstmConfig
from rehab_core.har.skeleton_lstm import SkeletonLSTM, SkeletonLstmConfig
from rehab_core.recognition.preprocess import normalize_window
from rehab_core.skeleton.layouts import get_layout
from rehab_core.training.evaluation import EvalResult, write_evaluation
from rehab_core.training.trainer import TrainConfig, TrainHistory, predict_proba, train_classifier

HAR_PT = "har_model.pt"
ARCHS = ("lstm", "cnn_lstm")


def build_model(arch: str, sample_shape: Sequence[int], num_classes: int,
                hidden: int = 64) -> nn.Module:
    """Model for samples of ``sample_shape`` ((T, F) or (T, V, C) for lstm; (T, 3, H, W))."""
    if arch == "lstm":
        if len(sample_shape) not in (2, 3):
            raise ShapeMismatchError(f"lstm needs (T, F) or (T, V, C) samples, got {sample_shape}")
        feats = int(np.prod(sample_shape[1:]))
        return SkeletonLSTM(SkeletonLstmConfig(feats, num_classes, hidden=hidden))
    if arch == "cnn_lstm":
        if len(sample_shape) != 4:
            raise ShapeMismatchError(f"cnn_lstm needs (T, C, H, W) clips, got {sample_shape}")
        return CnnLSTM(CnnLstmConfig(num_classes, hidden=hidden, in_channels=int(sample_shape[1])))
    raise ConfigError(f"arch must be one of {ARCHS}, got {arch!r}")


def prepare_inputs(arch: str, x: np.ndarray) -> np.ndarray:
    """float32 model input: (T, V, C) skeletons flattened to (T, V*C); uint8 clips to [0, 1]."""
    x = np.asarray(x)
    if arch == "lstm" and x.ndim == 4:
        x = x.reshape(x.shape[0], x.shape[1], -1)
    if arch == "cnn_lstm" and x.dtype == np.uint8:
        return (x.astype(np.float32) / 255.0)
    return np.ascontiguousarray(x, np.float32)


def normalize_skeleton_windows(windows: np.ndarray, layout: str = "coco17",
                               normalization: str = "torso",
                               min_score: float = 0.2) -> np.ndarray:
    """Raw (N, T, V, 3) pixel windows -> the normalised form the streaming classifier feeds."""
    out = np.zeros_like(np.asarray(windows, np.float32))
    for i, w in enumerate(windows):
        n = normalize_window(w, layout, normalization, min_score)
        if n is not None:
            out[i] = n
    return out


def split_indices(y: np.ndarray, val_fraction: float, seed: int = 0,
                  groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation split, stratified by class, or by group (no group in both)."""
    rng = np.random.default_rng(seed)
    if not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if groups is not None:
        uniq = rng.permutation(np.unique(groups))
        n_val = max(1, round(len(uniq) * val_fraction))
        val = np.isin(groups, uniq[:n_val])
        return np.flatnonzero(~val), np.flatnonzero(val)
    tr, va = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = max(1, round(len(idx) * val_fraction)) if len(idx) > 1 else 0
        va += idx[:k].tolist()
        tr += idx[k:].tolist()
    return np.sort(np.asarray(tr, np.int64)), np.sort(np.asarray(va, np.int64))


def fit(model: nn.Module, x_train: np.ndarray, y_train: np.ndarray, num_classes: int,
        cfg: TrainConfig, x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        log: Callable[[str], None] | None = print) -> TrainHistory:
    return train_classifier(model, x_train, y_train.astype(np.int64), cfg, num_classes,
                            x_val, None if y_val is None else y_val.astype(np.int64),
                            log=log, desc=f"har-{getattr(model, 'arch', 'model')}")


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, labels: Sequence[str],
             out_dir: str | Path | None = None, groups: np.ndarray | None = None,
             history: TrainHistory | None = None, extra: dict | None = None) -> dict:
    """Accuracy etc.; with ``out_dir`` also the confusion matrix, summary and scores files."""
    probs = predict_proba(model, np.ascontiguousarray(x, np.float32), batch_size=64)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    result = EvalResult(list(labels), np.asarray(y, np.int64), probs, groups)
    if out_dir is not None:
        return write_evaluation(out_dir, result, history.to_list() if history else None, extra,
                                title=f"HAR {getattr(model, 'arch', '')}")
    acc = float((result.y_pred == result.y_true).mean()) if len(y) else 0.0
    return {"accuracy": acc, "samples": len(y), "labels": list(labels)}


def save_bundle(out_dir: str | Path, model: nn.Module, labels: Sequence[str],
                streaming: dict | None = None, extra: dict | None = None,
                window: int | None = None) -> Path:
    """Write har_model.pt, labels.txt, config.yaml (+ model.onnx for the skeleton LSTM).

    ``streaming`` (layout, window, fps, normalization, ...) is stored in
    config.yaml for ``StreamingClassifier``; the ONNX export needs it (the
    LSTM's input must be ST-GCN's normalised (N, 3, T, V) window).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"arch": model.arch, "config": model.config.to_dict(),
                "state_dict": model.state_dict(), "extra": extra or {}}, out / HAR_PT)
    (out / "labels.txt").write_text("\n".join(labels) + "\n")
    cfg: dict = {"name": f"har_{model.arch}", "arch": model.arch, **(streaming or {})}
    if window is not None:
        cfg.setdefault("window", int(window))
    (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    if model.arch == "lstm" and streaming and "layout" in streaming:
        v = get_layout(streaming["layout"]).num_keypoints
        if model.config.num_features == 3 * v:
            dummy = torch.zeros(1, 3, int(streaming.get("window", window or 30)), v)
            torch.onnx.export(model.eval(), (dummy,), str(out / "model.onnx"),
                              input_names=["skeleton"], output_names=["logits"],
                              dynamic_axes={"skeleton": {0: "batch"}, "logits": {0: "batch"}},
                              opset_version=17, dynamo=False)
    return out


def load_model(path: str | Path) -> nn.Module:
    """Rebuild a HAR model from ``har_model.pt`` (a file or a bundle folder), in eval mode."""
    p = Path(path)
    if p.is_dir():
        p = p / HAR_PT
    if not p.is_file():
        raise ModelLoadError(f"HAR weights not found: {p} (train with: rehab train har)")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
        arch, cfg = payload["arch"], payload["config"]
        if arch == "lstm":
            model: nn.Module = SkeletonLSTM(SkeletonLstmConfig(**cfg))
        elif arch == "cnn_lstm":
            model = CnnLSTM(CnnLstmConfig(**cfg))
        else:
            raise ModelLoadError(f"{p}: unknown HAR arch {arch!r}")
        model.load_state_dict(payload["state_dict"])
    except ModelLoadError:
        raise
    except Exception as err:
        raise ModelLoadError(f"cannot load HAR model {p}: {err}") from err
    return model.eval()


# --- small synthetic datasets (tests, demos, `rehab train har --synthetic`) ---------------

SYNTH_SKELETON_LABELS = ("raise_left_arm", "raise_right_arm", "squat", "idle")
SYNTH_CLIP_LABELS = ("move_left", "move_right", "move_up", "move_down")


def synthetic_skeleton_windows(n: int, frames: int = 30, seed: int = 0,
                               layout: str = "coco17") -> tuple[np.ndarray, np.ndarray]:
    """(n, frames, V, 3) pixel-space skeleton windows of 4 movements, and labels.

    A standing body at a random image position/scale; class 0/1 lift one
    wrist+elbow, class 2 lowers everything above the knees, class 3 only sways.
    Speed, amplitude, phase and keypoint noise vary per sample.
    """
    lay = get_layout(layout)
    rng = np.random.default_rng(seed)
    base = {"nose": (0, -1.6), "left_eye": (0.08, -1.65), "right_eye": (-0.08, -1.65),
            "left_ear": (0.15, -1.6), "right_ear": (-0.15, -1.6),
            "left_shoulder": (0.35, -1.2), "right_shoulder": (-0.35, -1.2),
            "left_elbow": (0.45, -0.7), "right_elbow": (-0.45, -0.7),
            "left_wrist": (0.5, -0.25), "right_wrist": (-0.5, -0.25),
            "left_hip": (0.25, 0.0), "right_hip": (-0.25, 0.0),
            "left_knee": (0.25, 0.8), "right_knee": (-0.25, 0.8),
            "left_ankle": (0.25, 1.6), "right_ankle": (-0.25, 1.6)}
    pose = np.array([base.get(name, (0.0, -0.6)) for name in lay.names], np.float64)
    idx = {name: i for i, name in enumerate(lay.names)}
    y = rng.integers(0, len(SYNTH_SKELETON_LABELS), n)
    out = np.zeros((n, frames, lay.num_keypoints, 3), np.float32)
    t = np.arange(frames)
    for i in range(n):
        amp = rng.uniform(0.5, 1.0)
        phase = rng.uniform(0, 2 * np.pi)
        # 1-2 movement cycles per window, so every sample shows its movement
        wave = 0.5 - 0.5 * np.cos(2 * np.pi * t / (rng.uniform(0.5, 1.0) * frames) + phase)
        seq = np.repeat(pose[None], frames, axis=0)
        if y[i] in (0, 1):
            side = "left" if y[i] == 0 else "right"
            seq[:, idx[f"{side}_wrist"], 1] -= 1.4 * amp * wave
            seq[:, idx[f"{side}_elbow"], 1] -= 0.6 * amp * wave
        elif y[i] == 2:
            upper = [j for j, name in enumerate(lay.names)
                     if "ankle" not in name and "knee" not in name]
            seq[:, upper, 1] += (0.6 * amp * wave)[:, None]
        seq[:, :, 0] += 0.05 * np.sin(2 * np.pi * t / 40 + phase)[:, None]
        scale = rng.uniform(60, 200)
        centre = rng.uniform(150, 500, 2)
        seq = seq * scale + centre + rng.normal(0, 0.02 * scale, seq.shape)
        out[i, :, :, :2] = seq
        out[i, :, :, 2] = rng.uniform(0.6, 1.0, (frames, lay.num_keypoints))
    return out, y.astype(np.int64)


def synthetic_clips(n: int, frames: int = 8, size: int = 32,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, frames, 3, size, size) uint8 clips of a square moving left/right/up/down."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(SYNTH_CLIP_LABELS), n)
    clips = rng.integers(0, 60, (n, frames, 3, size, size)).astype(np.uint8)
    dirs = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])
    for i in range(n):
        side = int(rng.integers(5, 9))
        speed = rng.uniform(1.5, 2.5)
        start = np.array([size / 2, size / 2]) - dirs[y[i]] * speed * frames / 2
        start += rng.uniform(-3, 3, 2)
        colour = rng.integers(150, 256, 3)
        for f in range(frames):
            x0, y0 = (start + dirs[y[i]] * speed * f).round().astype(int)
            x0, y0 = np.clip(x0, 0, size - side), np.clip(y0, 0, size - side)
            clips[i, f, :, y0:y0 + side, x0:x0 + side] = colour[:, None, None]
    return clips, y.astype(np.int64)
