"""``rehab bench-models``: latency table of every pose/detection model on this machine.

Example::

    rehab bench-models --frames 100 --imgsz 320

Rows: YOLO11n-pose raw backend call, our estimator (pre+infer+post),
ultralytics predict on the same ONNX and on the PyTorch model; MoveNet and
YOLOX-nano when ``--shared`` has the models; BlazePose (mediapipe).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

DEFAULT_SHARED = Path(os.environ.get("REHAB_SHARED_DIR", "../shared"))


def register(sub) -> None:
    p = sub.add_parser("bench-models", help="latency/fps of the pose and detection models here")
    p.add_argument("--frames", type=int, default=100, help="timed frames per row")
    p.add_argument("--imgsz", type=int, default=320, help="YOLO-pose input size")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                   help="folder with models/ and media/ (MoveNet, YOLOX, test video)")
    p.add_argument("--video", type=Path, default=None,
                   help="video to take frames from (default: shared squat.mp4)")
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/models"),
                   help="where the exported YOLO-pose ONNX is cached")
    p.add_argument("--threads", type=int, default=2, help="CPU threads per runtime")
    p.add_argument("--no-ultralytics", action="store_true", help="skip ultralytics predict rows")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rehab_core.benchmarks.models import benchmark_models, format_table, read_frames
    from rehab_core.errors import ConfigError

    if args.frames < 1:
        raise ConfigError("--frames must be >= 1")
    shared = args.shared if (args.shared / "models").is_dir() else None
    video = args.video or (shared / "media/exercise/squat.mp4" if shared else None)
    frames = read_frames(video, args.frames)
    rows = benchmark_models(frames, imgsz=args.imgsz, cache_dir=args.cache_dir,
                            shared_dir=shared, include_ultralytics=not args.no_ultralytics,
                            threads=args.threads)
    h, w = frames[0].shape[:2]
    print(f"{len(frames)} frames {w}x{h} from {video or 'synthetic noise'}; "
          f"{args.threads} threads")
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0
