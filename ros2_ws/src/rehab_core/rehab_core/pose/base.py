"""What every pose estimator provides, whatever model or runtime is behind it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from rehab_core.types import Skeleton


@runtime_checkable
class PoseEstimator(Protocol):
    """Image in, skeletons (in pixel coordinates of that image) out."""

    #: keypoint layout of the skeletons it returns (see ``rehab_core.skeleton``)
    layout: str

    def estimate(self, image: np.ndarray) -> list[Skeleton]:
        """Skeletons found in one HxWx3 uint8 BGR image (may be empty)."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...
