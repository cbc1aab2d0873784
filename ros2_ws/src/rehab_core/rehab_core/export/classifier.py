"""Export a PyTorch classifier (ST-GCN, BabyNet, HAR, ...) to ONNX and prove it matches.

Skeleton classifiers take windows whose length varies with the frame rate and
the exercise, so the batch and window axes are exported dynamic by default
(``dynamic_axes``). ``check_onnx_parity`` then runs the same inputs through
PyTorch and ONNX Runtime — at the example shape and at other batch/window
sizes — and reports the max abs difference, so a silently-wrong export (a
baked-in shape, an unsupported op folded to a constant) is caught at export
time, not in the field.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.errors import ConfigError, ModelLoadError


def export_torch_classifier(
    model: Any,
    example_input: Any,
    path: str | Path,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
    input_names: Sequence[str] = ("input",),
    output_names: Sequence[str] = ("logits",),
    opset: int = 17,
) -> Path:
    """Export ``model`` (eval mode) to ONNX; batch axis 0 of every tensor dynamic by default.

    ``example_input``: a tensor or a tuple of tensors. For a window axis, pass
    e.g. ``{"input": {0: "batch", 2: "time"}, "logits": {0: "batch"}}``.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    if len(inputs) != len(input_names):
        raise ConfigError(f"{len(inputs)} example inputs but input_names={list(input_names)}")
    if dynamic_axes is None:
        dynamic_axes = {name: {0: "batch"} for name in (*input_names, *output_names)}
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                inputs,
                str(path),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,  # the TorchScript exporter honours dynamic_axes without onnxscript
            )
    except Exception as err:  # torch raises many exporter-specific errors
        raise ModelLoadError(f"ONNX export of {type(model).__name__} failed: {err}") from err
    finally:
        model.train(was_training)
    return path


def check_onnx_parity(
    model: Any,
    onnx_path: str | Path,
    inputs: Sequence[Any],
    input_names: Sequence[str] = ("input",),
    verbose: bool = True,
) -> float:
    """Max abs difference of the first output, PyTorch vs ONNX Runtime, over ``inputs``.

    ``inputs``: a list of test cases, each a tensor or a tuple of tensors
    (use several batch sizes / window lengths to prove the axes are dynamic).
    """

    from rehab_core.backends.onnxruntime_backend import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(onnx_path, providers=["CPUExecutionProvider"])
    worst = 0.0
    was_training = model.training
    model.eval()
    try:
        worst = _max_diff(model, backend, inputs, input_names, onnx_path, verbose)
    finally:
        model.train(was_training)
        backend.close()
    return worst


def _max_diff(model, backend, inputs, input_names, onnx_path, verbose) -> float:
    import torch

    worst = 0.0
    for case in inputs:
        tensors = case if isinstance(case, tuple) else (case,)
        with torch.no_grad():
            ref = model(*tensors)
        ref = (ref[0] if isinstance(ref, (tuple, list)) else ref).detach().cpu().numpy()
        feeds = {n: t.detach().cpu().numpy() for n, t in zip(input_names, tensors)}
        got = backend.run(feeds)[0]
        if got.shape != ref.shape:
            raise ModelLoadError(f"ONNX output shape {got.shape} != PyTorch {ref.shape}")
        diff = float(np.abs(got - ref).max()) if ref.size else 0.0
        worst = max(worst, diff)
        if verbose:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            print(f"parity {Path(onnx_path).name} input {shapes}: max abs diff {diff:.3g}")
    return worst
