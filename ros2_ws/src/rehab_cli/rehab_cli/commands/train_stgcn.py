"""``rehab train stgcn`` and ``rehab eval stgcn``: skeleton-based exercise recognition.

Examples::

    rehab train stgcn --preset exercise --out models/exercise_stgcn
    rehab train stgcn --data SKELETON_DIR --labels squat,plank,unknown \\
        --default-label unknown --out runs/stgcn --lovo
    rehab eval stgcn --model models/exercise_stgcn --data SKELETON_DIR --out runs/eval

``--data`` is a folder of ``<video_stem>.npz`` skeleton files (keypoints,
stamps_ns, fps, layout); labels come from ``--label-map`` (a YAML/JSON
mapping stem -> label) or from the file names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from rehab_core.errors import ConfigError

DEFAULT_SKELETONS = Path(".cache/skeletons")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help=f"folder of <video>.npz skeleton files (default {DEFAULT_SKELETONS})")
    p.add_argument("--label-map", type=Path, default=None,
                   help="YAML/JSON mapping video stem -> label (overrides file-name labels)")
    p.add_argument("--default-label", default=None,
                   help="label for clips whose name matches no exercise (e.g. unknown)")


def register_train(sub) -> None:
    p = sub.add_parser("stgcn", help="train an ST-GCN exercise classifier on skeleton files")
    _add_data_args(p)
    p.add_argument("--preset", choices=["exercise"], default=None,
                   help="built-in settings + clip labels (exercise: the shipped model)")
    p.add_argument("--labels", default=None,
                   help="class list: comma-separated or a labels.txt file")
    p.add_argument("--out", type=Path, required=True, help="output model folder")
    p.add_argument("--window", type=int, default=None, help="window length in frames at --fps")
    p.add_argument("--stride", type=int, default=None, help="training window stride (frames)")
    p.add_argument("--fps", type=float, default=None, help="model frame rate")
    p.add_argument("--width", type=float, default=None, help="channel width multiplier")
    p.add_argument("--speeds", default=None,
                   help="playback-speed augmentation factors, comma-separated (e.g. 0.8,1,1.25)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default=None)
    p.add_argument("--freeze-epochs", type=int, default=None,
                   help="transfer learning: epochs training only the head (then lr/2 for all)")
    p.add_argument("--pretrained", default=None, help="checkpoint to start from (partial load)")
    p.add_argument("--val-videos", default="", help="comma-separated video stems to hold out")
    p.add_argument("--lovo", action="store_true",
                   help="also run leave-one-video-out evaluation into OUT/lovo")
    p.add_argument("--lovo-only", action="store_true",
                   help="only run leave-one-video-out evaluation (no final model)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of a bar")
    p.set_defaults(func=run_train)


def register_eval(sub) -> None:
    p = sub.add_parser("stgcn", help="evaluate an ST-GCN model folder on skeleton files")
    _add_data_args(p)
    p.add_argument("--model", type=Path, required=True, help="model folder (config.yaml etc.)")
    p.add_argument("--out", type=Path, required=True, help="output folder for the evaluation")
    p.add_argument("--stride", type=int, default=None, help="window stride (frames)")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=run_eval)


def _read_mapping(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(f"label map not found: {path}")
    data = yaml.safe_load(path.read_text())  # YAML is a superset of JSON
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must map video stems to labels")
    return {str(k): str(v) for k, v in data.items()}


def _parse_labels(value: str | None) -> list[str] | None:
    if not value:
        return None
    path = Path(value)
    if path.is_file():
        from rehab_core.recognition.model_bundle import read_labels

        return read_labels(path)
    labels = [v.strip() for v in value.split(",") if v.strip()]
    if len(labels) < 2:
        raise ConfigError("--labels needs at least two classes")
    return labels


def _load(args, labels_map: dict[str, str], layout: str, restrict: bool):
    from rehab_core.datasets.exercise_clips import load_clip_folder

    data = args.data or DEFAULT_SKELETONS
    seqs, skipped = load_clip_folder(data, layout, labels_map, args.default_label)
    if restrict:
        seqs = [s for s in seqs if s.video_id in labels_map]
    if skipped:
        print(f"skipped (no label): {', '.join(skipped)}")
    if not seqs:
        raise ConfigError(f"no labelled skeleton files in {data}")
    return seqs


def run_train(args) -> int:
    import torch

    from rehab_core.training.stgcn_pipeline import (
        StgcnSpec,
        exercise_preset,
        leave_one_video_out_eval,
        train_and_save,
    )
    from rehab_core.training.trainer import TrainConfig

    torch.set_num_threads(max(1, args.threads))
    labels_map = _read_mapping(args.label_map)
    if args.preset == "exercise":
        spec, preset_map = exercise_preset()
        labels_map = {**preset_map, **labels_map}
    else:
        labels = _parse_labels(args.labels)
        if labels is None:
            raise ConfigError("--labels is required without --preset")
        spec = StgcnSpec(labels=labels, name=args.out.name)
    for attr in ("window", "stride", "fps", "width", "pretrained"):
        if getattr(args, attr) is not None:
            setattr(spec, attr, getattr(args, attr))
    if args.speeds:
        try:
            spec.speeds = tuple(float(v) for v in args.speeds.split(",") if v)
        except ValueError as err:
            raise ConfigError(f"--speeds must be numbers, got {args.speeds!r}") from err
    train_over = {k: getattr(args, a) for k, a in (
        ("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
        ("optimizer", "optimizer"), ("freeze_epochs", "freeze_epochs"))
        if getattr(args, a) is not None}
    spec.train = TrainConfig(**{**spec.train.to_dict(), **train_over,
                                "num_threads": args.threads,
                                "progress": not args.no_progress})
    seqs = _load(args, labels_map, spec.layout, restrict=args.preset is not None)
    bad = sorted({s.label for s in seqs} - set(spec.labels))
    if bad:
        raise ConfigError(f"clips have labels not in the class list: {bad}")
    print(f"{len(seqs)} videos: " + ", ".join(f"{s.video_id}={s.label}" for s in seqs))
    if args.lovo or args.lovo_only:
        summary = leave_one_video_out_eval(spec, seqs, args.out / "lovo")
        print(json.dumps({"lovo_window_accuracy": summary["accuracy"],
                          "lovo_video_accuracy": summary["video_accuracy_majority"]}))
    if not args.lovo_only:
        val = [v for v in args.val_videos.split(",") if v]
        train_and_save(spec, seqs, args.out, val)
    return 0


def run_eval(args) -> int:
    import torch

    from rehab_core.recognition.model_bundle import load_bundle
    from rehab_core.training.stgcn_pipeline import evaluate_bundle

    torch.set_num_threads(max(1, args.threads))
    bundle = load_bundle(args.model)
    space = bundle.config.get("input_space", "2d")
    if space != "2d":  # the skeleton files hold 2-D windows only
        fallback = bundle.config.get("fallback")
        hint = f", or its 2-D fallback with --model {Path(args.model) / fallback}" \
            if fallback else ""
        raise ConfigError(
            f"{args.model} takes {space!r} input (2-D + 3-D world landmarks); this command "
            f"builds 2-D windows only: evaluate it with `rehab eval recognition --bundle "
            f"{args.model}`{hint}")
    seqs = _load(args, _read_mapping(args.label_map), bundle.config.get("layout", "coco17"),
                 restrict=False)
    summary = evaluate_bundle(args.model, seqs, args.out, args.stride)
    print(json.dumps({"window_accuracy": summary["accuracy"],
                      "video_accuracy": summary["video_accuracy_majority"]}))
    return 0
