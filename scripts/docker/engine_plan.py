"""Decide, per ONNX model, whether its cached TensorRT engine is still valid.

Used by build_engines.sh. The cache file name carries a digest of the
``engine_cache.EngineKey`` (model sha256 + TensorRT version + GPU name +
compute capability + precision), so an engine built for another model,
TensorRT or GPU simply has another name and is never picked up. A file with
the right name is re-checked against its ``.json`` sidecar before reuse.

Prints one ``fresh|build <model> <engine path>`` line per model. Exit codes:
0 ok, 2 bad arguments / missing model, 3 TensorRT not importable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TENSORRT_MISSING = (
    "TensorRT's Python package is not importable here, so no engine can be built. "
    "On Jetson it comes with JetPack (apt: python3-libnvinfer, visible to the venv through "
    "--system-site-packages); on x86 install the 'tensorrt' wheel and run on an NVIDIA GPU. "
    "Without engines the stack still runs with backend onnxruntime."
)


def plan(models: list[Path], precision: str, cache_dir: Path, trt_version: str) -> list[str]:
    from rehab_core.backends.engine_cache import engine_path_for, read_sidecar
    from rehab_core.errors import ModelLoadError

    lines = []
    for model in models:
        path, key = engine_path_for(model, precision, trt_version, cache_dir)
        state = "build"
        if path.is_file():
            try:
                state = "fresh" if read_sidecar(path) == key else "build"
            except ModelLoadError:  # unreadable sidecar: rebuild rather than trust it
                state = "build"
        lines.append(f"{state} {model} {path}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp16")
    parser.add_argument("--cache-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        print(f"build_engines: error: model file(s) not found: {', '.join(missing)}",
              file=sys.stderr)
        return 2
    try:
        import tensorrt
    except ImportError as err:
        print(f"build_engines: error: {TENSORRT_MISSING} ({err})", file=sys.stderr)
        return 3
    print("\n".join(plan(args.models, args.precision, args.cache_dir, tensorrt.__version__)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
