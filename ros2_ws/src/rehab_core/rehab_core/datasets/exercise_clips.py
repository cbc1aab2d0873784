"""The exercise clip collection: labels from file names and cached skeleton files.

Skeletons are extracted once per video (``datasets/extract.py``) into
``<stem>.npz`` files holding ``keypoints`` (T, K, 3) px, ``stamps_ns``, ``fps``,
``layout``, ``width``, ``height``. Labels come from the file name, so adding
a clip named ``squat_front3.mp4`` needs no label file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence
from rehab_core.errors import InputSourceError
from rehab_core.skeleton.layouts import convert_keypoints

EXERCISE_LABELS = ("squat", "jumping_jacks", "push_up", "plank", "unknown")

# Ordered (pattern, label) rules on the lower-case file stem.
_NAME_RULES = (
    (r"(jumping[_-]?jacks?|^jacks?)", "jumping_jacks"),
    (r"squat", "squat"),
    (r"push[_-]?ups?", "push_up"),
    (r"plank", "plank"),
)


def label_from_name(stem: str, non_exercise: bool = False) -> str | None:
    """Exercise label of a clip from its file stem (None when no rule matches).

    Clips from the non-exercise folder are ``unknown`` whatever their name.
    """
    if non_exercise:
        return "unknown"
    lower = stem.lower()
    for pattern, label in _NAME_RULES:
        if re.search(pattern, lower):
            return label
    return None


def load_skeleton_npz(path: str | Path, layout: str | None = None) -> SkeletonSequence:
    """A cached ``<stem>.npz`` skeleton file as a sequence (optionally converted)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            kp = np.asarray(data["keypoints"], np.float32)
            stamps = np.asarray(data["stamps_ns"], np.int64)
            fps = float(data["fps"]) if "fps" in data else 30.0
            src_layout = str(data["layout"]) if "layout" in data else "coco17"
            meta = {k: data[k].item() for k in ("width", "height") if k in data}
    except (OSError, KeyError, ValueError) as err:
        raise InputSourceError(f"cannot read skeleton file {p}: {err}") from err
    if kp.ndim == 4:  # (T, persons, K, 3): keep the first (tracked) person
        kp = kp[:, 0]
    kp = np.nan_to_num(kp, nan=0.0)
    if layout and layout != src_layout:
        kp = convert_keypoints(kp, src_layout, layout)
        src_layout = layout
    return SkeletonSequence(keypoints=kp, stamps_ns=stamps, layout=src_layout,
                            video_id=p.stem, fps=fps, meta=meta)


def load_clip_folder(
    folder: str | Path,
    layout: str | None = None,
    labels_map: dict[str, str] | None = None,
    default_label: str | None = None,
) -> tuple[list[SkeletonSequence], list[str]]:
    """Every ``*.npz`` in ``folder`` with its label, and the stems left unlabelled.

    The label comes from ``labels_map`` (stem -> label) first, then from the
    file name; a name that matches no rule gets ``default_label`` (e.g.
    "unknown" for a folder of negatives) or, when that is None, is skipped
    and returned in the second list so the caller can report it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputSourceError(f"skeleton folder not found: {root}")
    out, skipped = [], []
    for path in sorted(root.glob("*.npz")):
        stem = path.stem
        label = (labels_map or {}).get(stem) or label_from_name(stem) or default_label
        if label is None:
            skipped.append(stem)
            continue
        seq = load_skeleton_npz(path, layout)
        seq.label = label
        out.append(seq)
    return out, skipped
