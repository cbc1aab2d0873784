"""What every object detector provides, whatever model or runtime is behind it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from rehab_core.types import Detection


@runtime_checkable
class ObjectDetector(Protocol):
    """Image in, labelled boxes (pixel coordinates of that image) out."""

    #: class names, index = class id
    labels: list[str]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detections in one HxWx3 uint8 BGR image (may be empty)."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...
