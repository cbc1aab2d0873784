"""Skeleton cache of the exercise corpus: 2-D and 3-D BlazePose landmarks per clip.

Why a corpus-specific extractor beside ``extract.py``: training a view-free
classifier needs MediaPipe's metric 3-D world landmarks next to the 2-D ones
(they can be re-projected from any virtual camera), and the corpus needs a
resumable, interleaved order (round-robin over classes) so that a partial
cache already holds every class and source. Clips above ``max_fps`` are
thinned to about ``max_fps`` (frames are dropped by stamp, as live), and
every clip is decoded sequentially (one corpus clip has a broken frame-count
header, so seeking is never used).

One ``.npz`` per clip, named ``<class>__<stem>.npz``, holding ``keypoints``
(T, 17, 3) COCO-17 px (what ``load_skeleton_npz`` reads), ``keypoints33``
(T, 33, 3) BlazePose px, ``world33`` (T, 33, 4) metres + visibility (zeros
where nobody was found), ``stamps_ns``, ``fps``, ``layout``, ``width``,
``height``, ``clip`` (path relative to the corpus root)::

    python -m rehab_core.datasets.corpus_extract ../shared/corpus --out .cache/skeletons/corpus
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from itertools import zip_longest
from pathlib import Path

import numpy as np

from rehab_core.errors import BadFrameError, RehabError
from rehab_core.io.video import VideoSource
from rehab_core.skeleton.layouts import convert_keypoints

LOG = logging.getLogger(__name__)
CLIP_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")


def corpus_clips(root: str | Path) -> list[Path]:
    """Every clip under ``root/media/<class>/``, interleaved round-robin by class."""
    media = Path(root) / "media"
    by_class: dict[str, list[Path]] = defaultdict(list)
    for p in sorted(media.glob("*/*")):
        if p.suffix.lower() in CLIP_SUFFIXES:
            by_class[p.parent.name].append(p)
    order: list[Path] = []
    for group in zip_longest(*(by_class[c] for c in sorted(by_class))):
        order.extend(p for p in group if p is not None)
    return order


def cache_name(clip: Path) -> str:
    """Cache file name of a corpus clip (class folder + stem, so names never clash)."""
    return f"{clip.parent.name}__{clip.stem}.npz"


def extract_clip(clip: Path, estimator: object, max_fps: float = 30.0) -> dict[str, np.ndarray]:
    """2-D and 3-D landmarks of one clip, frames thinned to at most ~``max_fps``."""
    if hasattr(estimator, "reset"):
        estimator.reset()
    kp33, world, stamps = [], [], []
    min_gap = 1e9 / max_fps * 0.9  # tolerance: a 30.3 fps clip keeps every frame
    last_kept: int | None = None
    with VideoSource(clip) as video:
        for frame in video:
            if last_kept is not None and frame.stamp_ns - last_kept < min_gap:
                continue
            last_kept = frame.stamp_ns
            try:
                people = estimator.estimate(frame.image)
            except BadFrameError as err:
                LOG.warning("%s frame %d dropped: %s", clip.name, frame.index, err)
                people = []
            if people:
                kp33.append(people[0].keypoints.astype(np.float32))
                w = getattr(estimator, "last_world", None)
                world.append(w if w is not None else np.zeros((33, 4), np.float32))
            else:
                kp33.append(np.zeros((33, 3), np.float32))
                world.append(np.zeros((33, 4), np.float32))
            stamps.append(frame.stamp_ns)
        width, height, src_fps = video.width, video.height, video.fps
    k33 = np.stack(kp33) if kp33 else np.zeros((0, 33, 3), np.float32)
    st = np.asarray(stamps, np.int64)
    fps = float(src_fps) if src_fps <= max_fps * 1.05 else float(
        (len(st) - 1) * 1e9 / max(st[-1] - st[0], 1)) if len(st) > 1 else float(max_fps)
    return {
        "keypoints": convert_keypoints(k33, "blazepose33", "coco17") if len(k33) else
        np.zeros((0, 17, 3), np.float32),
        "keypoints33": k33,
        "world33": np.stack(world) if world else np.zeros((0, 33, 4), np.float32),
        "stamps_ns": st,
        "fps": np.float64(fps),
        "layout": np.str_("coco17"),
        "width": np.int64(width),
        "height": np.int64(height),
    }


def extract_corpus(root: str | Path, out_dir: str | Path, *, max_fps: float = 30.0,
                   limit: int | None = None) -> int:
    """Fill ``out_dir`` with one file per clip (clips already there are skipped)."""
    from rehab_core.pose.blazepose import BlazePoseEstimator

    root, out = Path(root), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clips = corpus_clips(root)[:limit]
    done_frames, t_all, failed = 0, time.perf_counter(), 0
    estimator = BlazePoseEstimator(layout="blazepose33")
    try:
        for i, clip in enumerate(clips):
            target = out / cache_name(clip)
            if target.exists():
                continue
            t0 = time.perf_counter()
            try:
                data = extract_clip(clip, estimator, max_fps)
            except RehabError as err:
                print(f"[{i + 1}/{len(clips)}] {clip.name}: FAILED: {err}", flush=True)
                failed += 1
                continue
            data["clip"] = np.str_(str(clip.relative_to(root)))
            tmp = target.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, **data)
            tmp.replace(target)
            n = len(data["stamps_ns"])
            done_frames += n
            dt = time.perf_counter() - t0
            seen = float((data["keypoints33"][:, :, 2].max(axis=1) > 0).mean()) if n else 0.0
            print(f"[{i + 1}/{len(clips)}] {clip.parent.name}/{clip.name}: {n} frames, "
                  f"{float(data['fps']):.1f} fps, seen {100 * seen:.0f}%, "
                  f"{1e3 * dt / max(n, 1):.1f} ms/frame, total {done_frames} frames in "
                  f"{time.perf_counter() - t_all:.0f} s", flush=True)
    finally:
        estimator.close()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", help="corpus root (holds media/<class>/...)")
    parser.add_argument("--out", default=".cache/skeletons/corpus", help="cache directory")
    parser.add_argument("--max-fps", type=float, default=30.0, help="thin faster clips")
    parser.add_argument("--limit", type=int, default=None, help="first N clips only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return extract_corpus(args.corpus, args.out, max_fps=args.max_fps, limit=args.limit)


if __name__ == "__main__":
    sys.exit(main())
