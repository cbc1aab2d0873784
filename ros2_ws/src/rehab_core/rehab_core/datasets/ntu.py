"""Reader of NTU RGB+D ``.skeleton`` text files (Kinect v2, 25 joints).

Layout of a file: the frame count; per frame the body count; per body one
line of 10 body values (id, clipped edges, hand states, restricted, lean x/y,
tracking state), the joint count (25) and one line per joint of 12 values:
x y z (camera space, metres), depthX depthY, colorX colorY (pixels in the
1920x1080 colour image), orientation w x y z, tracking state (0 not
tracked, 1 inferred, 2 tracked).

We return 2D colour-image keypoints (x, y px) with the tracking state mapped
to a score (tracked 1.0, inferred 0.5, not tracked 0), in the ``kinect25``
layout, for the body with the most motion (NTU's own heuristic for the
actor when several bodies are present). 3D camera coordinates are kept in
``meta["xyz"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence
from rehab_core.errors import InputSourceError

NUM_JOINTS = 25
NTU_FPS = 30.0
_STATE_SCORE = {0: 0.0, 1: 0.5, 2: 1.0}


def _parse(path: Path) -> tuple[int, dict[str, dict[int, np.ndarray]]]:
    """Frame count and, per body id, {frame: (25, 12) joint rows}."""
    try:
        tokens = path.read_text().split("\n")
    except OSError as err:
        raise InputSourceError(f"cannot read NTU skeleton file {path}: {err}") from err
    lines = iter(line.strip() for line in tokens)
    try:
        num_frames = int(next(lines))
        bodies: dict[str, dict[int, np.ndarray]] = {}
        for f in range(num_frames):
            for _ in range(int(next(lines))):
                body_id = next(lines).split()[0]
                count = int(next(lines))
                rows = np.array([[float(v) for v in next(lines).split()] for _ in range(count)])
                if rows.shape != (NUM_JOINTS, 12):
                    raise InputSourceError(
                        f"{path}: frame {f} body has joint rows {rows.shape}, expected (25, 12)")
                bodies.setdefault(body_id, {})[f] = rows
    except (StopIteration, ValueError) as err:
        raise InputSourceError(f"{path}: truncated or malformed NTU skeleton file ({err})") from err
    return num_frames, bodies


def read_ntu_skeleton(path: str | Path, label: str = "") -> SkeletonSequence:
    """The main actor's 2D colour-image keypoints from an NTU ``.skeleton`` file."""
    p = Path(path)
    num_frames, bodies = _parse(p)
    kp = np.zeros((num_frames, NUM_JOINTS, 3), np.float32)
    xyz = np.zeros((num_frames, NUM_JOINTS, 3), np.float32)
    if bodies:
        def motion(frames: dict[int, np.ndarray]) -> float:
            pts = np.stack([r[:, :3] for r in frames.values()])
            return float(pts.var(axis=0).sum()) if len(pts) > 1 else 0.0

        actor = max(bodies.values(), key=motion)
        for f, rows in actor.items():
            kp[f, :, 0], kp[f, :, 1] = rows[:, 5], rows[:, 6]
            kp[f, :, 2] = [_STATE_SCORE.get(int(s), 0.0) for s in rows[:, 11]]
            xyz[f] = rows[:, :3]
    # The action label of NTU is in the file name: SsssCcccPpppRrrrAaaa.
    if not label and "A" in p.stem:
        label = p.stem[p.stem.rfind("A"):]
    return SkeletonSequence(
        keypoints=kp,
        stamps_ns=SkeletonSequence.stamps_for(num_frames, NTU_FPS),
        layout="kinect25",
        label=label,
        video_id=p.stem,
        fps=NTU_FPS,
        meta={"xyz": xyz, "source": "ntu"},
    )
