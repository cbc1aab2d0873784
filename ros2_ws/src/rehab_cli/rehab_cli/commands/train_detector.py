"""``rehab train detector`` / ``rehab eval detector``: fine-tune a YOLO detector.

For the infant/reaching set-up the classes are ``infant, left_hand,
right_hand, object``; any YOLO-format dataset works (``data.yaml`` with
``path``/``train``/``val`` and ``names``). Examples::

    rehab train detector --data data.yaml --model yolo11n.pt --epochs 50 --imgsz 640 --out runs/det
    rehab train detector --data data.yaml --model yolo11n.yaml --epochs 1 --imgsz 64 --out /tmp/d
    rehab eval detector --model runs/det/weights/best.pt --data data.yaml

``--model`` must be a local ``.pt`` (fine-tuning) or a model ``.yaml``
(from scratch): nothing is downloaded. Export the result with
``rehab export yolo runs/det/weights/best.pt -o detector.onnx``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from rehab_core.errors import ConfigError, ModelLoadError

DETECTOR_CLASSES = ("infant", "left_hand", "right_hand", "object")


def _check_data(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"dataset yaml not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot parse {path}: {err}") from err
    missing = [k for k in ("train", "val", "names") if k not in data]
    if missing:
        raise ConfigError(f"{path} lacks {missing} (YOLO data.yaml needs train, val, names)")
    root = Path(data.get("path") or path.parent)
    if not root.is_absolute():
        root = path.parent / root
    for split in ("train", "val"):
        if not (root / str(data[split])).exists():
            raise ConfigError(f"{split} folder {root / str(data[split])} does not exist")
    return data


def _check_model(spec: str) -> str:
    path = Path(spec)
    if path.suffix in (".yaml", ".yml"):
        return spec  # ultralytics resolves its own model yamls (e.g. yolo11n.yaml) locally
    if path.suffix != ".pt":
        raise ConfigError(f"--model must be a .pt checkpoint or a model .yaml, got {spec!r}")
    if not path.is_file():
        raise ModelLoadError(f"checkpoint not found: {path} (nothing is downloaded)")
    return str(path)


def register_train(sub) -> None:
    p = sub.add_parser("detector", help="fine-tune a YOLO detector on a YOLO-format dataset")
    p.add_argument("--data", type=Path, required=True, help="YOLO data.yaml")
    p.add_argument("--model", default="yolo11n.yaml",
                   help="local .pt to fine-tune, or a model .yaml to train from scratch")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, 0, 0,1 ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="run folder (weights in OUT/weights)")
    p.set_defaults(func=run_train)


def register_eval(sub) -> None:
    p = sub.add_parser("detector", help="evaluate a YOLO detector (mAP) on a dataset's val split")
    p.add_argument("--model", required=True, help="trained .pt (or exported .onnx)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from rehab_core.export.ultralytics_offline import import_ultralytics

    data = _check_data(args.data)
    names = data["names"]
    names = list(names.values()) if isinstance(names, dict) else list(names)
    if tuple(names) != DETECTOR_CLASSES:
        print(f"note: classes {names} differ from the reaching set-up's {list(DETECTOR_CLASSES)}")
    model_spec = _check_model(args.model)
    ultralytics = import_ultralytics()
    model = ultralytics.YOLO(model_spec, task="detect")
    out = args.out.resolve()
    model.train(
        data=str(args.data.resolve()), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
        workers=args.workers, device=args.device, seed=args.seed, project=str(out.parent),
        name=out.name, exist_ok=True, plots=False, amp=False, verbose=False,
    )
    best = out / "weights" / "best.pt"
    last = out / "weights" / "last.pt"
    weights = best if best.is_file() else last
    if not weights.is_file():
        raise ModelLoadError(f"training finished without weights in {out / 'weights'}")
    print(f"trained {len(names)} classes {names}; weights: {weights}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from rehab_core.export.ultralytics_offline import import_ultralytics

    _check_data(args.data)
    if not Path(args.model).is_file():
        raise ModelLoadError(f"model not found: {args.model}")
    ultralytics = import_ultralytics()
    metrics = ultralytics.YOLO(args.model, task="detect").val(
        data=str(args.data.resolve()), imgsz=args.imgsz, batch=args.batch, device=args.device,
        plots=False, verbose=False,
    )
    box = metrics.box
    print(f"mAP50 {box.map50:.4f}  mAP50-95 {box.map:.4f}  precision {box.mp:.4f}  "
          f"recall {box.mr:.4f}")
    return 0
