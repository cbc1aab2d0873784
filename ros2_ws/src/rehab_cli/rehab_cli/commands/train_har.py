"""``rehab train har`` / ``rehab eval har``: HARNets-style LSTM and CNN+LSTM classifiers.

Data (one of):
  --data FILE.npz   arrays ``x`` ((N, T, F), (N, T, V, C) skeletons or (N, T, 3, H, W)
                    clips), ``y`` (N,) ints, optional ``labels`` and ``groups``
                    (e.g. subject ids: the validation split never shares a group);
  --bvh-dir DIR     DIR/<class>/*.bvh, one sample per file (e.g. InHard segments),
                    joint positions by forward kinematics, resampled to --window;
  --synthetic       the built-in toy sets (pipeline check, not a real model).
Outputs land in --out: the bundle (har_model.pt, labels.txt, config.yaml,
model.onnx for skeleton models in a known layout) and the evaluation files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rehab_core.errors import ConfigError, InputSourceError


def _load_data(args: argparse.Namespace, arch: str) -> tuple:
    """(x, y, labels, groups, streaming settings or None)."""
    from rehab_core.har import training as har

    if args.synthetic:
        if arch == "lstm":
            x, y = har.synthetic_skeleton_windows(args.num_synthetic, args.window, args.seed)
            x = har.normalize_skeleton_windows(x)
            streaming = {"layout": "coco17", "window": args.window, "fps": 30.0,
                         "normalization": "torso"}
            return x, y, list(har.SYNTH_SKELETON_LABELS), None, streaming
        x, y = har.synthetic_clips(args.num_synthetic, seed=args.seed)
        return x, y, list(har.SYNTH_CLIP_LABELS), None, None
    if args.bvh_dir:
        from rehab_core.har.bvh import bvh_features, load_bvh

        root = Path(args.bvh_dir)
        classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        xs, ys = [], []
        for c, name in enumerate(classes):
            for f in sorted((root / name).glob("*.bvh")):
                xs.append(bvh_features(load_bvh(f), frames=args.window))
                ys.append(c)
        if not xs:
            raise InputSourceError(f"no DIR/<class>/*.bvh files under {root}")
        return np.stack(xs), np.asarray(ys), classes, None, None
    if args.data:
        path = Path(args.data)
        if not path.is_file():
            raise InputSourceError(f"data file not found: {path}")
        with np.load(path, allow_pickle=False) as d:
            if "x" not in d or "y" not in d:
                raise ConfigError(f"{path} must hold arrays 'x' and 'y'")
            x, y = d["x"], d["y"].astype(np.int64)
            labels = ([str(s) for s in d["labels"]] if "labels" in d
                      else [str(i) for i in range(int(y.max()) + 1)])
            groups = d.get("groups", None)
        streaming = None
        if args.layout and arch == "lstm":
            if x.ndim != 4 or x.shape[-1] != 3:
                raise ConfigError(f"--layout needs x of shape (N, T, V, 3), got {x.shape}")
            if args.normalize:
                x = har.normalize_skeleton_windows(x, args.layout)
            streaming = {"layout": args.layout, "window": int(x.shape[1]), "fps": args.fps,
                         "normalization": "torso"}
        return x, y, labels, groups, streaming
    raise ConfigError("give --data FILE.npz, --bvh-dir DIR or --synthetic")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="npz with x, y (labels, groups optional)")
    p.add_argument("--bvh-dir", help="folder of <class>/*.bvh files")
    p.add_argument("--synthetic", action="store_true", help="built-in toy data")
    p.add_argument("--num-synthetic", type=int, default=300)
    p.add_argument("--window", type=int, default=30, help="frames per sample (BVH/synthetic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", help="npz x is (N, T, V, 3) keypoints in this layout: the "
                   "bundle then streams like ST-GCN (config.yaml + model.onnx)")
    p.add_argument("--normalize", action="store_true",
                   help="with --layout: x is in pixels, normalise it like the streaming path")
    p.add_argument("--fps", type=float, default=30.0, help="with --layout: frame rate of x")


def _train(args: argparse.Namespace) -> int:
    from rehab_core.har import training as har
    from rehab_core.training.trainer import TrainConfig

    x, y, labels, groups, streaming = _load_data(args, args.arch)
    x = har.prepare_inputs(args.arch, x)
    tr, va = har.split_indices(y, args.val_fraction, args.seed, groups)
    model = har.build_model(args.arch, x.shape[1:], len(labels), hidden=args.hidden)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    history = har.fit(model, x[tr], y[tr], len(labels), cfg, x[va], y[va])
    out = Path(args.out)
    har.save_bundle(out, model, labels, streaming, extra={"train": cfg.to_dict()},
                    window=x.shape[1])
    summary = har.evaluate(model, x[va], y[va], labels, out / "eval",
                           None if groups is None else groups[va], history)
    print(f"{args.arch}: validation accuracy {summary['accuracy']:.3f} "
          f"on {summary['samples']} samples; bundle in {out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rehab_core.har import training as har

    model = har.load_model(args.model)
    x, y, labels, groups, _ = _load_data(args, model.arch)
    x = har.prepare_inputs(model.arch, x)
    bundle_labels = (Path(args.model) / "labels.txt")
    if bundle_labels.is_file():
        labels = [s for s in bundle_labels.read_text().splitlines() if s.strip()]
    summary = har.evaluate(model, x, y, labels, args.out, groups)
    print(json.dumps({k: summary[k] for k in ("accuracy", "balanced_accuracy", "samples")}))
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("har", help="train a HAR LSTM / CNN+LSTM classifier")
    p.add_argument("--arch", choices=("lstm", "cnn_lstm"), default="lstm")
    p.add_argument("--out", default="models/har/run", help="bundle + evaluation folder")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--val-fraction", type=float, default=0.25)
    _add_data_args(p)
    p.set_defaults(func=_train)


def register_eval(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("har", help="evaluate a HAR bundle on a data set")
    p.add_argument("--model", required=True, help="bundle folder (har_model.pt)")
    p.add_argument("--out", default="out/har_eval", help="evaluation files folder")
    _add_data_args(p)
    p.set_defaults(func=_eval)
