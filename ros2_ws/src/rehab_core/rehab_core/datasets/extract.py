"""Video -> main subject's skeleton sequence (pose estimator + tracker), and its cache.

Frames are streamed from ``VideoSource`` and dropped after the pose stage,
so memory stays flat whatever the video length. Frames the estimator refuses
(``BadFrameError``) count as "nobody found" rather than stopping the video.

Run as a script to fill the cache used by the training code and tests::

    python -m rehab_core.datasets.extract VIDEO_OR_DIR [...] --out .cache/skeletons
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rehab_core.errors import BadFrameError, RehabError
from rehab_core.io.skeleton_store import SkeletonSequence, save_skeletons
from rehab_core.io.video import VideoSource
from rehab_core.pose import create_pose_estimator
from rehab_core.pose.base import PoseEstimator
from rehab_core.skeleton.layouts import convert_keypoints, get_layout
from rehab_core.tracking import SkeletonTracker
from rehab_core.types import Skeleton

LOG = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def extract_skeletons(
    video_path: str | Path,
    estimator: PoseEstimator | None = None,
    *,
    tracker: SkeletonTracker | None = None,
    layout: str = "coco17",
    max_frames: int | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> SkeletonSequence:
    """Main subject's keypoints for every frame of a video, in ``layout``.

    ``estimator`` defaults to BlazePose (created and closed here); a given
    estimator is ``reset()`` first (when it has that) and left open.
    ``on_frame(index, frame_count)`` is called after each frame (progress).
    Frames without the main subject get zero keypoints and track id -1.
    The estimator's 3-D keypoints (BlazePose's world landmarks) are kept as
    ``keypoints_3d`` (zeros, score 0, on frames without them); None when it
    gave none on any frame.
    """
    target = get_layout(layout)
    own_estimator = estimator is None
    if estimator is None:
        estimator = create_pose_estimator("blazepose")
    elif hasattr(estimator, "reset"):
        estimator.reset()
    tracker = tracker or SkeletonTracker()
    tracker.reset()
    keypoints: list[np.ndarray] = []
    stamps: list[int] = []
    track_ids: list[int] = []
    world = _World3D(target.num_keypoints, layout)
    empty = np.zeros((target.num_keypoints, 3), np.float32)
    try:
        with VideoSource(video_path, max_frames=max_frames) as video:
            for frame in video:
                try:
                    skeletons = estimator.estimate(frame.image)
                except BadFrameError as err:
                    LOG.warning("%s frame %d dropped: %s", video.name, frame.index, err)
                    skeletons = []
                tracker.update(skeletons, image_size=(frame.width, frame.height))
                main = tracker.main_skeleton()
                world.add(main)
                if main is None:
                    keypoints.append(empty)
                    track_ids.append(-1)
                else:
                    keypoints.append(convert_keypoints(main.keypoints, main.layout, layout))
                    track_ids.append(main.track_id)
                stamps.append(frame.stamp_ns)
                if on_frame is not None:
                    on_frame(frame.index, video.frame_count)
            meta = (video.fps, video.name, video.width, video.height)
    finally:
        if own_estimator:
            estimator.close()
    fps, name, width, height = meta
    return SkeletonSequence(
        keypoints=np.stack(keypoints) if keypoints else np.zeros((0, *empty.shape), np.float32),
        stamps_ns=np.asarray(stamps, np.int64),
        layout=layout,
        fps=fps,
        source=name,
        width=width,
        height=height,
        pose_model=getattr(estimator, "name", type(estimator).__name__),
        track_ids=np.asarray(track_ids, np.int32),
        keypoints_3d=world.array(len(keypoints)),
        space_3d=world.space,
    )


class _World3D:
    """Collects the main subject's 3-D keypoints frame by frame, in one space.

    Why a space check: a sequence has one ``space_3d``; a frame whose 3-D is in
    another space (an estimator that mixes depth and model 3-D) is stored as none.
    """

    def __init__(self, num_keypoints: int, layout: str) -> None:
        self.layout = layout
        self.empty = np.zeros((num_keypoints, 4), np.float32)
        self.rows: list[np.ndarray] = []
        self.space = ""

    def add(self, main: Skeleton | None) -> None:
        k3 = None if main is None else main.keypoints_3d
        if k3 is not None and main is not None and self.space in ("", main.space_3d):
            self.space = main.space_3d
            self.rows.append(convert_keypoints(k3, main.layout, self.layout))
        else:
            self.rows.append(self.empty)

    def array(self, frames: int) -> np.ndarray | None:
        """(T, K, 4) float32, or None when no frame had 3-D."""
        if not self.space:
            return None
        return np.stack(self.rows[:frames]).astype(np.float32)


def find_videos(paths: Iterable[str | Path]) -> list[Path]:
    """Video files among ``paths`` (directories are searched, not recursively)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES))
        else:
            out.append(p)
    return out


def extract_to_cache(
    videos: Iterable[str | Path],
    out_dir: str | Path,
    *,
    kind: str = "blazepose",
    model_path: str | None = None,
    layout: str = "coco17",
    overwrite: bool = False,
) -> list[tuple[Path, SkeletonSequence | None]]:
    """Extract every video to ``out_dir/<stem>.npz``; prints one line per video."""
    out_dir = Path(out_dir)
    results: list[tuple[Path, SkeletonSequence | None]] = []
    estimator = create_pose_estimator(kind, model_path) if model_path else \
        create_pose_estimator(kind)
    try:
        for video in find_videos(videos):
            target = out_dir / f"{video.stem}.npz"
            if target.exists() and not overwrite:
                print(f"{video.name}: cached at {target} (skip; --overwrite to redo)")
                results.append((target, None))
                continue
            t0 = time.perf_counter()
            try:
                seq = extract_skeletons(video, estimator, layout=layout)
            except RehabError as err:
                print(f"{video.name}: FAILED: {err}")
                results.append((target, None))
                continue
            elapsed = time.perf_counter() - t0
            save_skeletons(target, seq)
            print(
                f"{video.name}: {len(seq)} frames, {seq.fps:.2f} fps, {seq.width}x{seq.height}, "
                f"detected {100 * seq.detection_rate:.1f}%, "
                f"{1e3 * elapsed / max(len(seq), 1):.1f} ms/frame -> {target}"
            )
            results.append((target, seq))
    finally:
        estimator.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", help="video files or directories of videos")
    parser.add_argument("--out", default=".cache/skeletons", help="output directory")
    parser.add_argument("--pose", default="blazepose", help="pose estimator kind")
    parser.add_argument("--model", default=None, help="model file (movenet, yolo_pose)")
    parser.add_argument("--layout", default="coco17", help="keypoint layout to store")
    parser.add_argument("--overwrite", action="store_true", help="redo cached videos")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = extract_to_cache(
        args.inputs, args.out, kind=args.pose, model_path=args.model, layout=args.layout,
        overwrite=args.overwrite,
    )
    failed = [p for p, s in results if s is None and not p.exists()]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
