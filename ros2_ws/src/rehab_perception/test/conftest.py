"""Fixtures for rehab_perception's tests: a private ROS domain per module, small clips."""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]


def module_domain_id(module_name: str) -> int:
    """A ROS_DOMAIN_ID unique to this process and test module (1..100), so runs never cross-talk."""
    return 1 + (os.getpid() * 31 + zlib.crc32(module_name.encode())) % 100


@pytest.fixture(scope="module")
def domain_id(request: pytest.FixtureRequest) -> int:
    return module_domain_id(request.module.__name__)


@pytest.fixture(scope="module")
def ros_context(domain_id: int) -> Iterator[object]:
    """An initialised rclpy context on this module's private domain."""
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)


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


def shared_path() -> Path:
    return Path(os.environ.get("REHAB_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "media").is_dir():
        pytest.skip(f"../shared not found at {path} (test material lives outside the repo)")
    return path


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


def _wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.02,
              spin: Callable[[], None] | None = None) -> bool:
    """Poll ``condition`` (spinning ``spin`` between polls) until true or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if spin is not None:
            spin()
        else:
            time.sleep(step)
    return condition()


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
def wait_for() -> Callable[..., bool]:
    """``wait_for(condition, timeout, spin=None)``: poll instead of sleeping a fixed time."""
    return _wait_for


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
