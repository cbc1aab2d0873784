"""Latency of one ST-GCN window on this machine (torch and onnxruntime), printed not asserted.

Run: ``python -m rehab_core.recognition.benchmark [MODEL_DIR]`` (without a
folder it measures fresh models of width 0.25, 0.5 and 1.0).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _median_ms(fn, runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def stgcn_latency(model=None, window: int = 30, runs: int = 50, threads: int = 1,
                  width: float = 0.5, num_classes: int = 5) -> dict[str, float]:
    """Median milliseconds for one (1, 3, window, V) window, torch and onnxruntime."""
    import torch

    from rehab_core.recognition.model_bundle import export_onnx
    from rehab_core.recognition.stgcn import STGCN, STGCNConfig

    torch.set_num_threads(threads)
    if model is None:
        model = STGCN(STGCNConfig(num_classes=num_classes, width=width))
    model = model.eval()
    x = torch.randn(1, model.config.in_channels, window, model.num_nodes)
    with torch.inference_mode():
        out = {"torch_ms": _median_ms(lambda: model(x), runs)}
    try:
        import onnxruntime as ort
    except ImportError:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "m.onnx", window)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed = {"skeleton": x.numpy()}
        out["onnxruntime_ms"] = _median_ms(lambda: session.run(None, feed), runs)
    return out


def main(argv: list[str]) -> int:
    if argv:
        from rehab_core.recognition.model_bundle import load_bundle, load_torch_model

        bundle = load_bundle(argv[0])
        model = load_torch_model(bundle.torch_path)
        window = int(bundle.config.get("window", 30))
        print(f"{bundle.name} ({window}-frame window):", stgcn_latency(model, window, 100))
        return 0
    for width in (0.25, 0.5, 1.0):
        print(f"ST-GCN width {width}, 30-frame coco17 window:",
              stgcn_latency(width=width, runs=100))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
