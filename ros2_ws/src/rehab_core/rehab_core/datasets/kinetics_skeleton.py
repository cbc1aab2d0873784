"""Reader of the Kinetics-skeleton JSON files used by ST-GCN (one file per clip).

Format (as produced by the ST-GCN project from OpenPose output)::

    {"data": [{"frame_index": 1,
               "skeleton": [{"pose": [x0, y0, x1, y1, ...],   # 18 joints, 0..1
                             "score": [s0, ..., s17]}, ...]}, ...],
     "label": "squat", "label_index": 3}

Coordinates are normalised by the frame size (340x256 in Kinetics-skeleton);
we return pixels so that the aspect ratio is right. Frame indices may skip
(frames without people are absent): those frames come back unseen.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence
from rehab_core.errors import InputSourceError

KINETICS_SIZE = (340, 256)
NUM_JOINTS = 18


def read_kinetics_skeleton(
    path: str | Path,
    fps: float = 30.0,
    frame_size: tuple[int, int] = KINETICS_SIZE,
    person_rank: int = 0,
) -> SkeletonSequence:
    """One person's (openpose18) sequence from a Kinetics-skeleton JSON file.

    ``person_rank`` picks, in each frame, the n-th most confident skeleton
    (the reference keeps the two most confident per frame the same way).
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputSourceError(f"cannot read Kinetics-skeleton file {p}: {err}") from err
    frames = doc.get("data")
    if not isinstance(frames, list):
        raise InputSourceError(f"{p}: no 'data' list (not a Kinetics-skeleton file)")
    indices = [int(f.get("frame_index", i + 1)) for i, f in enumerate(frames)]
    first = min(indices) if indices else 1
    length = (max(indices) - first + 1) if indices else 0
    kp = np.zeros((length, NUM_JOINTS, 3), np.float32)
    w, h = frame_size
    for frame, index in zip(frames, indices):
        people = []
        for person in frame.get("skeleton", []):
            pose = np.asarray(person.get("pose", []), np.float32)
            score = np.asarray(person.get("score", []), np.float32)
            if pose.shape != (2 * NUM_JOINTS,) or score.shape != (NUM_JOINTS,):
                raise InputSourceError(
                    f"{p}: frame {index} has a skeleton with {pose.size // 2} joints, "
                    f"expected {NUM_JOINTS}")
            people.append((float(score.sum()), pose.reshape(NUM_JOINTS, 2), score))
        people.sort(key=lambda item: -item[0])
        if len(people) > person_rank:
            _, xy, score = people[person_rank]
            row = kp[index - first]
            row[:, 0], row[:, 1], row[:, 2] = xy[:, 0] * w, xy[:, 1] * h, score
            row[score <= 0] = 0.0
    return SkeletonSequence(
        keypoints=kp,
        stamps_ns=SkeletonSequence.stamps_for(length, fps),
        layout="openpose18",
        label=str(doc.get("label", "")),
        video_id=p.stem,
        fps=fps,
        meta={"label_index": doc.get("label_index"), "source": "kinetics-skeleton"},
    )
