"""Per-frame cost and counts of the repetition counter (prints numbers, asserts nothing).

Usage::

    python -m rehab_core.repetition.benchmark [SKELETON_DIR] [--truth TRUTH_YAML]

Without arguments it times the counter on a synthetic squat stream. With a
directory of ``.npz`` skeleton files (rehab_core.io.skeleton_store format)
and the truth YAML it prints truth / counted / error per clip as well
(on the files' 3-D joints where they have them, as the live counter).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from rehab_core.io.skeleton_store import SkeletonSequence
from rehab_core.repetition.counter import RepetitionCounter


def time_counter(
    keypoints: np.ndarray | SkeletonSequence, stamps_ns: np.ndarray, exercise: str | None
) -> tuple[RepetitionCounter, float]:
    """Run one stream; return the counter and the mean cost per frame in microseconds.

    A skeleton file's sequence is fed as its Skeletons (3-D included, as a replay is).
    """
    counter = RepetitionCounter(exercise)
    if isinstance(keypoints, SkeletonSequence):
        frames = [keypoints.skeleton(i) for i in range(len(keypoints))]
    else:
        seen = np.isfinite(keypoints).all(axis=(1, 2)) & (keypoints[:, :, 2].max(axis=1) > 0)
        frames = [kp if ok else None for kp, ok in zip(keypoints, seen)]
    t0 = time.perf_counter()
    for frame, st in zip(frames, stamps_ns):
        counter.update(frame, int(st))
    return counter, (time.perf_counter() - t0) / max(1, len(stamps_ns)) * 1e6


def _synthetic(n: int = 3000, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """A squat-like stream: knee angle swinging 175 -> 85 deg every 2 s."""
    t = np.arange(n) / fps
    knee = np.radians(130.0 + 45.0 * np.cos(2 * math.pi * t / 2.0))
    kp = np.zeros((n, 17, 3), np.float32)
    kp[:, :, 2] = 0.9
    phi = (math.pi - knee) / 2
    for kn, hip, sh in ((13, 11, 5), (14, 12, 6)):
        kp[:, kn, 0], kp[:, kn, 1] = 100 * np.sin(phi), -100 * np.cos(phi)
        kp[:, hip, 0], kp[:, hip, 1] = 0.0, -200 * np.cos(phi)
        kp[:, sh, 0], kp[:, sh, 1] = 20.0, kp[:, hip, 1] - 100
    return kp + np.array([300.0, 500.0, 0.0], np.float32), np.round(t * 1e9).astype(np.int64)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("skeleton_dir", nargs="?", type=Path)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--generic", action="store_true", help="ignore labels (auto signal)")
    args = parser.parse_args(argv)
    kp, st = _synthetic()
    for ex in ("squat", None):
        _, us = time_counter(kp, st, ex)
        print(f"synthetic {len(st)} frames, {ex or 'generic'}: {us:.0f} us/frame")
    if args.skeleton_dir is None:
        return
    import yaml

    from rehab_core.io.skeleton_store import load_skeletons

    truth = yaml.safe_load(args.truth.read_text())["videos"] if args.truth else {}
    print(f"{'video':20s} {'truth':>5s} {'count':>5s} {'error':>5s} {'us/frame':>8s}  hold_s")
    for path in sorted(args.skeleton_dir.glob("*.npz")):
        seq = load_skeletons(path).to_layout("coco17")
        info = truth.get(path.stem + ".mp4", {})
        label = None if args.generic else info.get("exercise")
        counter, us = time_counter(seq, seq.stamps_ns, label)
        exp = info.get("repetitions")
        err = "" if exp is None else f"{counter.count - exp:+d}"
        print(f"{path.stem:20s} {exp if exp is not None else '?':>5} {counter.count:5d} "
              f"{err:>5s} {us:8.0f}  {counter.hold_s:.1f}")


if __name__ == "__main__":
    main()
