"""PyTorch backend: an ``nn.Module`` or a TorchScript file, for training-time checks.

Not meant for deployment (use ONNX Runtime or TensorRT there); it lets a
freshly trained model go through the same pre/post-processing code as its
exported twin. Inputs are declared by the caller (``input_specs``) for a
module; for TorchScript files a single float32 input named ``input`` is
assumed unless given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends._common import check_feeds, import_runtime, require_model_file
from rehab_core.backends.base import Stopwatch, TensorSpec, Timings
from rehab_core.errors import ModelLoadError


class TorchBackend:
    """A torch module run under ``torch.inference_mode`` on CPU (or ``device``)."""

    name = "torch"

    def __init__(
        self,
        model: Any,
        input_specs: list[TensorSpec] | None = None,
        output_names: list[str] | None = None,
        device: str = "cpu",
    ) -> None:
        self._torch = torch = import_runtime("torch", "torch", self.name)
        if isinstance(model, (str, Path)):
            path = require_model_file(model)
            self.model_path = str(path)
            try:
                model = torch.jit.load(self.model_path, map_location=device)
            except Exception as err:  # torch raises RuntimeError for non-TorchScript files
                raise ModelLoadError(
                    f"torch cannot load {path} as TorchScript: {err} "
                    "(pass an nn.Module for plain .pt checkpoints)"
                ) from err
        elif isinstance(model, torch.nn.Module):
            self.model_path = f"<{type(model).__name__}>"
        else:
            raise ModelLoadError(f"expected a torch.nn.Module or a file path, got {type(model)}")
        self.module = model.to(device).eval()
        self.device = device
        self.timings = Timings()
        self._inputs = input_specs or [TensorSpec("input", ("batch",), np.dtype(np.float32))]
        self._dynamic_rank = input_specs is None
        self._outputs = [
            TensorSpec(n, (), np.dtype(np.float32)) for n in (output_names or ["output"])
        ]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if not self._dynamic_rank:
            check_feeds(self._inputs, feeds)
        torch = self._torch
        tensors = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])).to(self.device)
                   for s in self._inputs]
        with Stopwatch(self.timings), torch.inference_mode():
            out = self.module(*tensors)
        outs = out if isinstance(out, (list, tuple)) else [out]
        return [o.detach().cpu().numpy() for o in outs]

    def close(self) -> None:
        self.module = None
