"""Entry point of ``rehab``: finds the subcommand modules and dispatches.

Every module in ``rehab_cli.commands`` with a ``register(subparsers)`` adds
one subcommand; ``train_*`` modules add model kinds to ``rehab train`` and
``rehab eval``. A ``RehabError`` (bad input, missing model, ...) becomes one
clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings

# OpenCV prints multi-line backend errors (e.g. for a camera that does not
# open) before we can report the problem in one line; our errors say it all.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
# MediaPipe / TFLite log through glog and TensorFlow's logger; keep errors only.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")

from rehab_cli import commands  # noqa: E402 - after the environment defaults above
from rehab_core.errors import RehabError  # noqa: E402


def _command_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rehab",
        description="ROS 2 perception stack for rehabilitation robotics.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = sub.add_parser("train", help="train a model (stgcn, babynet, har, detector)")
    train_kinds = train.add_subparsers(dest="kind", metavar="KIND", required=True)
    evaluate = sub.add_parser("eval", help="evaluate a trained model")
    eval_kinds = evaluate.add_subparsers(dest="kind", metavar="KIND", required=True)
    for name in _command_modules():
        try:
            module = importlib.import_module(f"{commands.__name__}.{name}")
        except ImportError as err:  # one broken optional command must not hide the rest
            print(f"rehab: warning: command module {name!r} unavailable: {err}", file=sys.stderr)
            continue
        if hasattr(module, "register"):
            module.register(sub)
        if hasattr(module, "register_train"):
            module.register_train(train_kinds)
        if hasattr(module, "register_eval"):
            module.register_eval(eval_kinds)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except RehabError as err:
        print(f"rehab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rehab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
