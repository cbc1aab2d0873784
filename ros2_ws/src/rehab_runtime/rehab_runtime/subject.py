"""Which skeleton of a frame the per-person stages follow."""

from __future__ import annotations

from rehab_core.types import Skeleton
from rehab_runtime.codecs import SkeletonsPayload


def main_skeleton(p: SkeletonsPayload) -> Skeleton | None:
    """The tracker's main subject, else the highest-scoring skeleton, else None."""
    for skeleton in p.skeletons:
        if p.main_track_id >= 0 and skeleton.track_id == p.main_track_id:
            return skeleton
    return max(p.skeletons, key=lambda s: s.score, default=None)
