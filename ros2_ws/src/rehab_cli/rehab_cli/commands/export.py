"""``rehab export``: YOLO → ONNX, ONNX → TensorRT engine, PyTorch classifier → ONNX.

Examples::

    rehab export yolo yolo11n-pose.pt --imgsz 320 -o models/yolo11n-pose-320.onnx
    rehab export yolo yolo11n-pose.yaml --imgsz 640 --dynamic -o /tmp/random.onnx
    rehab export yolo-random -o .cache/models/yolo11n-pose-640.onnx  # + .pt beside it
    rehab export engine models/yolo11n-pose-320.onnx --precision fp16
    rehab export engine models/yolo11n-pose-320.onnx --precision int8 --calib clips/squat.mp4
    rehab export classifier stgcn.torchscript --input-shape 1,3,60,17,1 \\
        --dynamic 0:batch 2:time -o models/stgcn.onnx --check-shape 3,3,90,17,1

Every export of a classifier is followed by an ONNX Runtime vs PyTorch parity
check that prints the max abs difference (and fails above ``--tolerance``).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from rehab_core.errors import ConfigError, ModelLoadError


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"shape must be comma-separated ints: {text!r}") from err
    if not dims or min(dims) <= 0:
        raise argparse.ArgumentTypeError(f"shape dims must be positive: {text!r}")
    return dims


def register(sub) -> None:
    parser = sub.add_parser("export", help="export models (YOLO→ONNX, ONNX→TensorRT, classifiers)")
    kinds = parser.add_subparsers(dest="export_kind", metavar="KIND", required=True)

    yolo = kinds.add_parser("yolo", help="ultralytics YOLO pose/detect .pt or .yaml → ONNX")
    yolo.add_argument("model", type=Path, help=".pt checkpoint or model .yaml (random init)")
    yolo.add_argument("-o", "--output", type=Path, required=True, help="output .onnx path")
    yolo.add_argument("--imgsz", type=int, default=640, help="input size (multiple of 32)")
    yolo.add_argument("--dynamic", action="store_true", help="dynamic batch and image size")
    yolo.add_argument("--opset", type=int, default=None, help="ONNX opset (default: ultralytics')")
    yolo.add_argument("--simplify", action="store_true", help="run onnxslim on the graph")
    yolo.set_defaults(func=run_yolo)

    rnd = kinds.add_parser(
        "yolo-random", help="a reproducible random-init YOLO as ONNX + .pt (benchmarks, tests)")
    rnd.add_argument("-o", "--output", type=Path, required=True,
                     help="output .onnx path (the .pt is written beside it)")
    rnd.add_argument("--task", choices=("pose", "detect"), default="pose")
    rnd.add_argument("--variant", default="yolo11n", help="model scale, e.g. yolo11n, yolo11s")
    rnd.add_argument("--imgsz", type=int, default=640, help="input size (multiple of 32)")
    rnd.add_argument("--seed", type=int, default=0)
    rnd.set_defaults(func=run_yolo_random)

    engine = kinds.add_parser("engine", help="ONNX → TensorRT engine (needs tensorrt + a GPU)")
    engine.add_argument("onnx", type=Path)
    engine.add_argument("-o", "--output", type=Path, default=None,
                        help="engine path (default: <onnx>.<precision>.engine)")
    engine.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp16")
    engine.add_argument("--calib", type=Path, default=None,
                        help="int8: video file or folder of images of real scenes")
    engine.add_argument("--calib-frames", type=int, default=200)
    engine.add_argument("--workspace-gb", type=float, default=2.0)
    engine.set_defaults(func=run_engine)

    cls = kinds.add_parser("classifier", help="PyTorch classifier → ONNX + parity check")
    cls.add_argument("model", help="TorchScript file, or module:factory returning an nn.Module")
    cls.add_argument("--weights", type=Path, default=None,
                     help="state_dict to load into the factory's module")
    cls.add_argument("--input-shape", type=_shape, required=True,
                     help="example shape, e.g. 1,3,60,17,1")
    cls.add_argument("--dynamic", nargs="*", default=["0:batch"],
                     help="dynamic input axes as AXIS:NAME (default 0:batch)")
    cls.add_argument("--check-shape", type=_shape, action="append", default=[],
                     help="extra input shape(s) for the parity check (repeatable)")
    cls.add_argument("-o", "--output", type=Path, required=True)
    cls.add_argument("--opset", type=int, default=17)
    cls.add_argument("--tolerance", type=float, default=1e-4,
                     help="max abs diff ONNX vs PyTorch allowed")
    cls.set_defaults(func=run_classifier)


def run_yolo(args: argparse.Namespace) -> int:
    from rehab_core.export.yolo import export_yolo_onnx

    out = export_yolo_onnx(args.model, args.output, imgsz=args.imgsz, dynamic=args.dynamic,
                           opset=args.opset, simplify=args.simplify)
    print(f"wrote {out}")
    return 0


def run_yolo_random(args: argparse.Namespace) -> int:
    from rehab_core.export.yolo import export_random_yolo_pair

    onnx, pt = export_random_yolo_pair(args.output, args.task, args.variant, args.imgsz, args.seed)
    print(f"wrote {onnx} and {pt} (random init: for timings and parity, not for accuracy)")
    return 0


def run_engine(args: argparse.Namespace) -> int:
    from rehab_core.export.tensorrt import build_engine

    out = build_engine(args.onnx, args.output, precision=args.precision,
                       calibration_source=args.calib, calibration_frames=args.calib_frames,
                       workspace_gb=args.workspace_gb)
    print(f"wrote {out}")
    return 0


def _load_classifier(spec: str, weights: Path | None):
    import torch

    path = Path(spec)
    if path.suffix in (".pt", ".pth", ".torchscript") or path.is_file():
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        try:
            return torch.jit.load(str(path), map_location="cpu")
        except Exception as err:  # not TorchScript
            raise ModelLoadError(
                f"{path} is not a TorchScript file ({err}); for a state_dict use "
                "module:factory --weights FILE"
            ) from err
    if ":" not in spec:
        raise ConfigError(f"model must be a TorchScript file or module:factory, got {spec!r}")
    module_name, attr = spec.split(":", 1)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot import {spec}: {err}") from err
    model = factory()
    if weights is not None:
        if not weights.is_file():
            raise ModelLoadError(f"weights file not found: {weights}")
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model


def _dynamic_axes(items: list[str]) -> dict[int, str]:
    axes = {}
    for item in items:
        axis, _, name = item.partition(":")
        if not axis.isdigit() or not name:
            raise ConfigError(f"--dynamic entries are AXIS:NAME, got {item!r}")
        axes[int(axis)] = name
    return axes


def run_classifier(args: argparse.Namespace) -> int:
    import torch

    from rehab_core.export.classifier import check_onnx_parity, export_torch_classifier

    model = _load_classifier(args.model, args.weights)
    axes = _dynamic_axes(args.dynamic)
    for shape in args.check_shape:
        if len(shape) != len(args.input_shape):
            raise ConfigError(f"--check-shape {shape} has another rank than {args.input_shape}")
        fixed = [i for i in range(len(shape)) if i not in axes and shape[i] != args.input_shape[i]]
        if fixed:
            raise ConfigError(f"--check-shape {shape} changes non-dynamic axes {fixed}")
    generator = torch.Generator().manual_seed(0)
    example = torch.randn(args.input_shape, generator=generator)
    dynamic = {"input": axes, "logits": {0: axes[0]} if 0 in axes else {}}
    out = export_torch_classifier(model, example, args.output, dynamic_axes=dynamic,
                                  opset=args.opset)
    cases = [example] + [torch.randn(s, generator=generator) for s in args.check_shape]
    worst = check_onnx_parity(model, out, cases)
    print(f"wrote {out}; max abs diff ONNX vs PyTorch {worst:.3g}")
    if worst > args.tolerance:
        print(f"parity check failed: {worst:.3g} > tolerance {args.tolerance:g}")
        return 1
    return 0
