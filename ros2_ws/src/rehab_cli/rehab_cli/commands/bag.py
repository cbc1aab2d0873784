"""``rehab bag from-video VIDEO OUT`` and ``rehab bag info BAG``.

Bags are written with the ``rosbags`` library in the rosbag2 on-disk format
(MCAP by default, sqlite3 on request) so they also open with ``ros2 bag
info`` / ``ros2 bag play`` on a real ROS 2 install.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rehab_core.errors import InputSourceError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bag", help="make and inspect rosbag2 files")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    make = verbs.add_parser("from-video", help="write a video's frames to a rosbag2")
    make.add_argument("video", help="input video file")
    make.add_argument("out", help="output bag directory (must not exist)")
    make.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    make.add_argument("--topic", default="/camera/image_raw")
    make.add_argument("--max-frames", type=int, default=None)
    make.add_argument("--resize", default=None, metavar="WxH", help="e.g. 640x480")
    make.add_argument("--encoding", default=None,
                      help="write frames as a camera driver would send them: bgr8 (default), "
                           "rgb8, mono8, mono16, rgb16, yuyv, uyvy, nv12, nv21, bayer_rggb8, ...")
    make.set_defaults(func=from_video)
    skel = verbs.add_parser(
        "skeletons",
        help="run our pose model + tracker over a video and write the main subject's "
             "skeletons (rehab_interfaces/Skeleton2DArray) to a rosbag2",
    )
    skel.add_argument("video", help="input video file")
    skel.add_argument("out", help="output bag directory (must not exist)")
    skel.add_argument("--pose", default="blazepose", help="pose estimator kind")
    skel.add_argument("--model", default=None, help="pose model file (not for blazepose)")
    skel.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    skel.add_argument("--max-frames", type=int, default=None)
    skel.set_defaults(func=skeletons_from_video)
    info = verbs.add_parser("info", help="topics, counts, duration and rate of a bag")
    info.add_argument("bag")
    info.set_defaults(func=show_info)
    recover = verbs.add_parser(
        "recover", help="rebuild a finished bag from an MCAP whose writer was killed "
                        "(no metadata.yaml / footer); the original is kept")
    recover.add_argument("bag", help="the unfinished bag directory or .mcap file")
    recover.add_argument("--out", default=None, help="new bag directory (default BAG_recovered)")
    recover.set_defaults(func=recover_bag)


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputSourceError(f"--resize wants WxH, e.g. 640x480, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise InputSourceError(f"--resize wants positive sizes, got {text!r}")
    return w, h


def from_video(args: argparse.Namespace) -> int:
    import cv2

    from rehab_core.io.bag import write_image_bag
    from rehab_core.io.video import VideoSource

    out = Path(args.out)
    if out.exists():
        raise InputSourceError(f"{out} exists; rosbag2 writes a new directory")
    size = _size(args.resize)
    if args.encoding is not None:
        from rehab_core.vision.encodings import SUPPORTED_ENCODINGS

        if args.encoding not in SUPPORTED_ENCODINGS:
            raise InputSourceError(f"--encoding {args.encoding!r} is not one of "
                                   f"{', '.join(SUPPORTED_ENCODINGS)}")
    source = VideoSource(args.video, max_frames=args.max_frames)

    def frames():
        for frame in source:
            if size is not None:
                frame.image = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
            yield frame

    count = write_image_bag(out, frames(), topic=args.topic, storage=args.storage,
                            encoding=args.encoding)
    print(f"wrote {count} frames of {args.video} to {out} ({args.storage})")
    return 0


def skeletons_from_video(args: argparse.Namespace) -> int:
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_bag import SkeletonFrame, write_skeleton_bag
    from rehab_core.pose import create_pose_estimator

    out = Path(args.out)
    if out.exists():
        raise InputSourceError(f"{out} exists; rosbag2 writes a new directory")
    estimator = create_pose_estimator(args.pose, model_path=args.model)
    try:
        seq = extract_skeletons(args.video, estimator, max_frames=args.max_frames)
    finally:
        estimator.close()

    def frames():
        for i, (stamp, track) in enumerate(zip(seq.stamps_ns, seq.track_ids)):
            main = seq.skeleton(i) if track >= 0 else None  # 3-D kept when the model gave it
            people = [main] if main is not None else []
            yield SkeletonFrame(int(stamp), i, seq.width, seq.height, people, int(track))

    count = write_skeleton_bag(out, frames(), storage=args.storage)
    print(f"wrote {count} skeleton frames of {args.video} ({seq.pose_model or args.pose}, "
          f"{seq.detection_rate:.0%} detected) to {out}")
    return 0


def show_info(args: argparse.Namespace) -> int:
    from rehab_core.io.bag import bag_topics

    topics, duration_s, start_ns = bag_topics(args.bag)
    print(f"bag:       {args.bag}")
    print(f"duration:  {duration_s:.3f} s")
    print(f"start:     {start_ns / 1e9:.3f} s")
    print(f"messages:  {sum(t.count for t in topics)}")
    for t in topics:
        rate = (t.count - 1) / duration_s if duration_s > 0 and t.count > 1 else 0.0
        print(f"  {t.name:<32s} {t.msgtype:<40s} {t.count:7d} msgs  {rate:6.2f} Hz")
    return 0


def recover_bag(args: argparse.Namespace) -> int:
    from rehab_core.io.bag_recover import recover_mcap

    src = Path(args.bag)
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}_recovered")
    if out.exists():
        raise InputSourceError(f"{out} exists; choose another --out")
    found = recover_mcap(src, out)
    print(f"rehab bag recover: {found.messages} messages on {len(found.topics)} topics -> {out}"
          f" ({found.truncated_bytes} bytes of unfinished tail left out)")
    for topic, count in sorted(found.topics.items()):
        print(f"  {topic}: {count}")
    return 0
