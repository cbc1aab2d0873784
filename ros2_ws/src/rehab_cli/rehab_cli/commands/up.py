"""``rehab up``: the whole perception stack in one process, from the stack YAML.

Starts the component container (every component of
``rehab_container.components``, zero-copy hand-off between them) and the
lifecycle manager, which brings them up in order; runs until Ctrl-C or
SIGTERM, then takes them down in reverse order and exits 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_PARAMS = Path("launch/config/stack.yaml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="run the perception stack (container + lifecycle manager) until Ctrl-C",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                        help=f"stack parameter file (default {DEFAULT_PARAMS})")
    parser.add_argument("--input", help="video file, camera index, stream URL or rosbag2 "
                        "(image_source.input)")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one parameter, e.g. pose_estimator.backend=onnxruntime")
    parser.add_argument("--exit-at-end", action="store_true",
                        help="stop when a video file or bag has been played to its end")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here so `rehab --help` stays fast and works without ROS
    from rehab_runtime.container import run_stack
    from rehab_runtime.stack_config import parse_overrides

    return run_stack(args.params, args.input, with_manager=True,
                     overrides=parse_overrides(args.set), exit_at_end=args.exit_at_end)
