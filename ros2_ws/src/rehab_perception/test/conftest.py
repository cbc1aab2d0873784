"""rehab_perception's own fixtures (small clips, tiny model bundles); the ROS domain,
``ros_context``, ``wait_for`` and ``shared_dir`` come from rehab_testing.plugin."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def write_clip(path: Path, frames: int = 12, size: tuple[int, int] = (320, 240),
               fps: float = 10.0) -> Path:
    """A small synthetic video (a moving disc), written with cv2.VideoWriter."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(frames):
        image = np.full((height, width, 3), 40, np.uint8)
        cv2.circle(image, (30 + (i * 7) % (width - 60), height // 2), 20, (0, 220, 0), -1)
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.avi")


@pytest.fixture(scope="module")
def person_clip(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 16 frames of a real exercise video (someone is in every frame)."""
    out = tmp_path_factory.mktemp("person") / "squat16.avi"
    cap = cv2.VideoCapture(str(shared_dir / "media" / "exercise" / "squat.mp4"))
    writer = None
    for _ in range(16):
        ok, image = cap.read()
        if not ok:
            break
        image = cv2.resize(image, (320, int(320 * image.shape[0] / image.shape[1])))
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 10.0,
                                     (image.shape[1], image.shape[0]))
        writer.write(image)
    cap.release()
    assert writer is not None, "could not read squat.mp4"
    writer.release()
    return out


@pytest.fixture(scope="session")
def tiny_stgcn_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained 2-class ST-GCN bundle built by the core (weights random, format real)."""
    import yaml

    from rehab_core.recognition.model_bundle import save_torch_model
    from rehab_core.recognition.stgcn import STGCN, STGCNConfig

    root = tmp_path_factory.mktemp("stgcn")
    save_torch_model(STGCN(STGCNConfig(num_classes=2)), root / "model.pt")
    (root / "labels.txt").write_text("squat\njumping_jacks\n")
    (root / "config.yaml").write_text(yaml.safe_dump({"window": 8, "stride": 4, "fps": 10.0}))
    return root


@pytest.fixture(scope="session")
def tiny_babynet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained BabyNet folder in the format ``rehab train babynet`` writes."""
    import json

    import torch

    from rehab_core.reach.babynet import CLASSES, BabyNet

    root = tmp_path_factory.mktemp("babynet")
    torch.save(BabyNet().state_dict(), root / "babynet.pt")
    (root / "config.json").write_text(json.dumps({"classes": list(CLASSES)}))
    return root
