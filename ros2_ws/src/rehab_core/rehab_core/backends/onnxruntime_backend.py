"""ONNX Runtime backend: best installed execution provider, CPU as the floor.

Provider order is TensorRT EP > CUDA EP > CPU, filtered by what the installed
onnxruntime build offers, so one config runs on a Jetson, a GPU PC or a laptop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rehab_core.backends._common import check_feeds, import_runtime, require_model_file
from rehab_core.backends.base import Stopwatch, TensorSpec, Timings
from rehab_core.errors import BackendUnavailableError, ModelLoadError

PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def choose_providers(available: list[str], requested: list[str] | None = None) -> list[str]:
    """Requested providers (all must be available) or the preferred installed ones."""
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise BackendUnavailableError(
                f"onnxruntime providers {missing} not available (installed: {available}); "
                "for GPU providers pip install onnxruntime-gpu"
            )
        return list(requested)
    chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    return chosen or ["CPUExecutionProvider"]


class OnnxRuntimeBackend:
    """One ``onnxruntime.InferenceSession`` behind the ``InferenceBackend`` protocol."""

    name = "onnxruntime"

    def __init__(
        self,
        model_path: str | Path,
        providers: list[str] | None = None,
        intra_op_threads: int = 0,
        check_inputs: bool = True,
        allow_spinning: bool = False,
        batch_size: int = 0,
    ) -> None:
        """``allow_spinning=False``: idle ORT worker threads sleep instead of busy-waiting.

        In a pipeline (decode, NMS, tracking between inferences) spinning
        workers steal the CPU from that work; measured on 2 cores, disabling
        it cut YOLO-pose estimate() from 52 to 42 ms with the same model.

        ``batch_size > 0`` fixes every input's symbolic first dimension: a model
        exported with a free batch keeps its shape arithmetic (Shape, Gather,
        Concat before each Reshape) as nodes it runs every call; fixed, ORT folds
        it at load. The action classifier runs one window at a time: its
        ensemble went from 806 nodes to 185, 3.3 to 2.8 ms a window on 2 cores.
        """
        ort = import_runtime("onnxruntime", "onnxruntime (or onnxruntime-gpu)", self.name)
        path = require_model_file(model_path)
        self.model_path = str(path)
        self.timings = Timings()
        self.check_inputs = check_inputs
        options = ort.SessionOptions()
        if intra_op_threads > 0:
            options.intra_op_num_threads = int(intra_op_threads)
        if not allow_spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.providers = choose_providers(ort.get_available_providers(), providers)
        if batch_size > 0:  # the symbolic names are known once loaded: a bare load, then fixed
            probe = ort.SessionOptions()
            probe.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            inputs = self._load(ort, probe, ["CPUExecutionProvider"]).get_inputs()
            for name in {i.shape[0] for i in inputs if i.shape and isinstance(i.shape[0], str)}:
                options.add_free_dimension_override_by_name(name, int(batch_size))
        self.session = self._load(ort, options)
        self._inputs = [self._spec(i) for i in self.session.get_inputs()]
        self._outputs = [self._spec(o) for o in self.session.get_outputs()]
        self._output_names = [o.name for o in self._outputs]

    def _load(self, ort, options, providers: list[str] | None = None):
        try:
            return ort.InferenceSession(
                self.model_path, sess_options=options, providers=providers or self.providers
            )
        except Exception as err:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelLoadError(f"onnxruntime cannot load {self.model_path}: {err}") from err

    @staticmethod
    def _spec(arg) -> TensorSpec:
        shape = tuple(d if isinstance(d, int) else (d or None) for d in arg.shape)
        return TensorSpec(arg.name, shape, np.dtype(_ORT_DTYPES.get(arg.type, np.float32)))

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    @property
    def metadata(self) -> dict[str, str]:
        """Custom metadata stored in the ONNX file (ultralytics puts ``names`` here)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.check_inputs:
            check_feeds(self._inputs, feeds)
        with Stopwatch(self.timings):
            return self.session.run(self._output_names, feeds)

    def close(self) -> None:
        self.session = None
