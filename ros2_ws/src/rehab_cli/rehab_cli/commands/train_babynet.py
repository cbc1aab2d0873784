"""``rehab train babynet`` / ``rehab eval babynet``: infant reach detection on synthetic data.

Training generates the synthetic reach sequences itself (no data download),
so ``rehab train babynet --out models/babynet`` reproduces the shipped model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from rehab_core.reach.training import train_babynet

    report = train_babynet(args.out, num_train=args.num_train, num_test=args.num_test,
                           seed=args.seed, epochs=args.epochs, export_onnx=not args.no_onnx)
    print(f"wrote {Path(args.out) / 'babynet.pt'}, config.json, metrics.json "
          f"(IoU threshold {report['keyframes']['iou_threshold']:.2f})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rehab_core.reach.keyframes import ReachDetector
    from rehab_core.reach.synthetic import generate_dataset
    from rehab_core.reach.training import evaluate, measure_latency

    det = ReachDetector.from_dir(args.model)
    seqs = generate_dataset(args.num_test, seed=args.seed)
    metrics = evaluate(det.classifier, seqs, det.config)
    if args.latency:  # a benchmark, printed, never asserted
        metrics["latency"] = measure_latency(det.classifier, seqs[0], det.config)
    text = json.dumps(metrics, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("babynet", help="train BabyNet reach detection (synthetic data)")
    p.add_argument("--out", default="models/babynet", help="output folder")
    p.add_argument("--num-train", type=int, default=400, help="training sequences")
    p.add_argument("--num-test", type=int, default=150, help="held-out sequences")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    p.set_defaults(func=_train)


def register_eval(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("babynet", help="evaluate BabyNet on fresh synthetic sequences")
    p.add_argument("--model", default="models/babynet", help="folder with babynet.pt")
    p.add_argument("--num-test", type=int, default=100)
    p.add_argument("--seed", type=int, default=12345, help="seed of the generated test set")
    p.add_argument("--json", help="also write the metrics here")
    p.add_argument("--latency", action="store_true", help="also time µs per frame")
    p.set_defaults(func=_eval)
