"""Streaming HAR: the skeleton LSTM behind the ST-GCN streaming classifier.

Same class, same output (``rehab_core.recognition.prediction.ActionPrediction``),
same windowing, frame-rate matching, smoothing and hysteresis; only the model
differs. A bundle saved by :func:`rehab_core.har.training.save_bundle` also
holds ``model.onnx`` with ST-GCN's (N, C, T, V) input, so
``StreamingClassifier.from_bundle(path)`` works on it unchanged. This module
adds the torch route (no ONNX runtime needed) and a choice by configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.har.training import HAR_PT, load_model
from rehab_core.recognition.model_bundle import load_bundle
from rehab_core.recognition.runners import TorchRunner
from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig


def har_streaming_classifier(root: str | Path, runtime: str = "torch",
                             **overrides: Any) -> StreamingClassifier:
    """A StreamingClassifier running a HAR skeleton-LSTM bundle ("torch" or "onnx")."""
    if runtime == "onnx":
        return StreamingClassifier.from_bundle(root, runtime="onnx", **overrides)
    if runtime != "torch":
        raise ConfigError(f"runtime must be torch or onnx, got {runtime!r}")
    bundle = load_bundle(root)
    if not (bundle.root / HAR_PT).is_file():
        raise ModelLoadError(f"{bundle.root} has no {HAR_PT}: not a HAR bundle")
    model = load_model(bundle.root)
    if getattr(model, "arch", "") != "lstm":
        raise ModelLoadError(f"{bundle.root}: only the skeleton LSTM streams over skeletons")
    return StreamingClassifier(TorchRunner(model), bundle.labels,
                               StreamingConfig.from_bundle_config(bundle.config, **overrides),
                               model_name=bundle.name)


def streaming_classifier_from_config(model_dir: str | Path, arch: str = "auto",
                                     **overrides: Any) -> StreamingClassifier:
    """Pick ST-GCN or HAR by configuration: arch "stgcn", "har_lstm" or "auto" (by files)."""
    root = Path(model_dir)
    if arch == "auto":
        arch = "har_lstm" if (root / HAR_PT).is_file() else "stgcn"
    if arch == "har_lstm":
        return har_streaming_classifier(root, **overrides)
    if arch == "stgcn":
        return StreamingClassifier.from_bundle(root, **overrides)
    raise ConfigError(f"arch must be auto, stgcn or har_lstm, got {arch!r}")
