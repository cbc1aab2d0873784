"""LiteRT (TensorFlow Lite) backend via ``ai_edge_litert``.

Quantised models: when an input tensor is int8/uint8 with a non-zero scale and
a float32 array is fed, it is quantised as ``q = round(x / scale + zero_point)``
(clipped to the dtype range); an array already of the tensor's dtype is fed
as is (e.g. MoveNet's uint8 RGB image). Quantised outputs are dequantised to
float32 as ``(q - zero_point) * scale`` unless ``dequantize_outputs=False``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rehab_core.backends._common import check_feeds, import_runtime, require_model_file
from rehab_core.backends.base import Stopwatch, TensorSpec, Timings
from rehab_core.errors import ModelLoadError, ShapeMismatchError


class LiteRtBackend:
    """One ``ai_edge_litert`` interpreter behind the ``InferenceBackend`` protocol."""

    name = "litert"

    def __init__(
        self,
        model_path: str | Path,
        num_threads: int | None = None,
        dequantize_outputs: bool = True,
    ) -> None:
        litert = import_runtime("ai_edge_litert.interpreter", "ai-edge-litert", self.name)
        path = require_model_file(model_path)
        self.model_path = str(path)
        self.timings = Timings()
        self.dequantize_outputs = dequantize_outputs
        try:
            self.interpreter = litert.Interpreter(
                model_path=self.model_path, num_threads=num_threads
            )
            self.interpreter.allocate_tensors()
        except Exception as err:  # the interpreter raises ValueError/RuntimeError
            raise ModelLoadError(f"LiteRT cannot load {path}: {err}") from err
        self._in_details = self.interpreter.get_input_details()
        self._out_details = self.interpreter.get_output_details()
        self._inputs = [self._spec(d) for d in self._in_details]
        self._outputs = [
            self._spec(d, float_if_quantised=dequantize_outputs) for d in self._out_details
        ]

    @staticmethod
    def _quant(detail: dict) -> tuple[float, int]:
        scale, zero = detail.get("quantization", (0.0, 0))
        return float(scale), int(zero)

    def _spec(self, detail: dict, float_if_quantised: bool = False) -> TensorSpec:
        dtype = np.dtype(detail["dtype"])
        if float_if_quantised and self._quant(detail)[0] > 0 and dtype.kind in "iu":
            dtype = np.dtype(np.float32)
        return TensorSpec(detail["name"], tuple(int(d) for d in detail["shape"]), dtype)

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def _prepare(self, detail: dict, spec: TensorSpec, array: np.ndarray) -> np.ndarray:
        scale, zero = self._quant(detail)
        if array.dtype == spec.dtype:
            return array
        if spec.dtype.kind in "iu" and scale > 0 and array.dtype.kind == "f":
            info = np.iinfo(spec.dtype)
            q = np.round(array / scale + zero)
            return np.clip(q, info.min, info.max).astype(spec.dtype)
        raise ShapeMismatchError(
            f"input {spec.name!r}: expected dtype {spec.dtype}"
            + (" (or float32 to quantise)" if scale > 0 else "")
            + f", got {array.dtype}"
        )

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        # names and shapes are checked here; dtypes in _prepare (float may be quantised)
        as_fed = [
            TensorSpec(s.name, s.shape, getattr(feeds.get(s.name), "dtype", s.dtype))
            for s in self._inputs
        ]
        check_feeds(as_fed, feeds)
        prepared = [
            self._prepare(d, s, feeds[s.name]) for d, s in zip(self._in_details, self._inputs)
        ]
        with Stopwatch(self.timings):
            for detail, array in zip(self._in_details, prepared):
                self.interpreter.set_tensor(detail["index"], array)
            self.interpreter.invoke()
            outs = [self.interpreter.get_tensor(d["index"]) for d in self._out_details]
        if self.dequantize_outputs:
            outs = [self._dequantize(d, o) for d, o in zip(self._out_details, outs)]
        return outs

    def _dequantize(self, detail: dict, array: np.ndarray) -> np.ndarray:
        scale, zero = self._quant(detail)
        if scale > 0 and array.dtype.kind in "iu":
            return (array.astype(np.float32) - zero) * scale
        return array

    def close(self) -> None:
        self.interpreter = None
