"""Fuzz the real graph (issue 12, build item 4): random encodings, truncated data, NaN/inf
skeletons, out-of-order and duplicate stamps, through ``run_graph``'s container.

For every seed it asserts: no thread died (``threading.excepthook`` never
called, no error escaped to the executor), every frame is accounted for
(each stage's processed + dropped equals what reached it, and every drop has
a reason), and every output parses as strict JSON / a readable bag. The counts
are printed (``-s``) for the issue's note.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from robust_inputs import STACK, RawImage, raw_image_bag, skeleton_bag, strict_jsonl

from rehab_core.io.bag import bag_topics
from rehab_perception.run_graph import run_graph

ENCODINGS = ("bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16", "yuv422", "yuv422_yuy2",
             "nv12", "bayer_rggb8", "16UC1", "32FC1", "8UC3", "jpeg", "", "garbage9",
             "bgr8\x00", "x" * 300)
BYTES_PER_PIXEL = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1, "mono16": 2,
                   "yuv422": 2, "yuv422_yuy2": 2, "bayer_rggb8": 1, "16UC1": 2, "32FC1": 4,
                   "8UC3": 3}
IMAGE_STAGES = ("pose_estimator", "overlay")


def _stamps(rng: np.random.Generator, n: int) -> list[int]:
    """Mostly increasing, with duplicates, steps back and zeros (the bag time is then used)."""
    stamps, t = [], 10**9
    for _ in range(n):
        roll = rng.random()
        if roll < 0.1 and stamps:
            stamps.append(stamps[-1])  # duplicate
        elif roll < 0.2 and stamps:
            stamps.append(max(1, stamps[-1] - int(rng.integers(1, 5)) * 33_000_000))  # back
        else:
            t += int(rng.integers(1, 3)) * 33_000_000
            stamps.append(t)
    return stamps


def _random_images(rng: np.random.Generator, n: int) -> list[RawImage]:
    images = []
    for stamp in _stamps(rng, n):
        encoding = str(rng.choice(ENCODINGS)) if rng.random() < 0.6 else "bgr8"
        width, height = int(rng.integers(0, 97)), int(rng.integers(0, 73))
        if rng.random() < 0.7:
            width, height = 96, 72
        bpp = BYTES_PER_PIXEL.get(encoding, int(rng.integers(1, 4)))
        step = width * bpp + (int(rng.integers(0, 8)) if rng.random() < 0.2 else 0)
        size = step * height * (3 if encoding == "nv12" else 2) // 2 if encoding == "nv12" \
            else step * height
        if rng.random() < 0.2:
            size = int(rng.integers(0, max(size, 1)))  # truncated (or empty) data
        if rng.random() < 0.05:
            step = int(rng.integers(0, max(step, 1)))  # a step that lies
        data = rng.integers(0, 256, size, np.uint8).tobytes()
        images.append(RawImage(stamp, encoding, width, height, step, data))
    return images


def _random_skeletons(rng: np.random.Generator, n: int):
    rows, boxes, scores = [], [], []
    poison = [np.nan, np.inf, -np.inf, 3e38, -3e38]  # float32 fields: huge but finite too
    for _ in range(n):
        kp = np.column_stack([rng.uniform(0, 640, 17), rng.uniform(0, 480, 17),
                              rng.uniform(0, 1, 17)])
        for _ in range(int(rng.integers(0, 6))):
            kp[rng.integers(0, 17), rng.integers(0, 3)] = rng.choice(poison)
        rows.append(kp)
        boxes.append([float(rng.choice(poison)) if rng.random() < 0.2 else float(v)
                      for v in (0, 0, 100, 200)])
        scores.append(float(rng.choice(poison)) if rng.random() < 0.2 else 0.8)
    return rows, boxes, scores


def _stack(out: Path, image_input: bool) -> dict:
    stack = yaml.safe_load(STACK.read_text())
    comps = stack["rehab_container"]["ros__parameters"]["components"]
    if not image_input:  # a skeleton bag enters the graph at the tracker (as `rehab run` does)
        stack["rehab_container"]["ros__parameters"]["components"] = [
            c for c in comps if c not in IMAGE_STAGES]
    stack["recorder"]["ros__parameters"]["output_dir"] = str(out / "recording")
    stack["overlay"]["ros__parameters"]["video_path"] = str(out / "annotated.mp4")
    return stack


def _account(run, inputs: int, upstream: dict[str, str]) -> dict[str, dict]:
    """Assert every frame is processed or dropped with a reason; return the counts."""
    comps = run.components
    src = comps["image_source"]
    assert src["processed"] + src["dropped"] == inputs
    assert run.frames == src["processed"]
    for stage, feeder in upstream.items():
        reached = comps[feeder]["processed"]
        got = comps[stage]["processed"] + comps[stage]["dropped"]
        assert got == reached, f"{stage}: {got} handled of {reached} sent by {feeder}"
    for stats in comps.values():
        assert sum(stats["drops"].values()) == stats["dropped"]
        assert all(reason.strip() for reason in stats["drops"])
    return {name: {"processed": c["processed"], "drops": c["drops"]} for name, c in comps.items()}


@pytest.fixture()
def thread_deaths():
    """Every exception that ends a thread, anywhere in this process, during the test."""
    deaths: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: deaths.append(f"{args.thread}: {args.exc_value!r}")
    yield deaths
    threading.excepthook = previous


def _domain() -> int:
    return 150 + os.getpid() % 40


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzzed_images_through_the_graph(tmp_path, seed, thread_deaths):
    rng = np.random.default_rng(seed)
    images = _random_images(rng, 80)
    bag = tmp_path / "fuzz_images"
    raw_image_bag(bag, images)
    run = run_graph(_stack(tmp_path, True), str(bag), domain_id=_domain())
    assert thread_deaths == []
    assert not [e for e in run.errors if e.startswith(("executor", "frame"))], run.errors
    counts = _account(run, len(images), {"pose_estimator": "image_source"})
    print(f"\nfuzz images seed {seed}: in {len(images)}, {counts}")
    rows = strict_jsonl(tmp_path / "recording" / "outputs.jsonl")
    assert len(rows) <= run.frames
    bags = sorted((tmp_path / "recording").glob("outputs_bag*"))
    assert bags and all((b / "metadata.yaml").is_file() for b in bags)
    for b in bags:
        bag_topics(b)  # opens and indexes: a finished, readable bag


@pytest.mark.parametrize("seed", [4, 5])
def test_fuzzed_skeletons_through_the_graph(tmp_path, seed, thread_deaths):
    rng = np.random.default_rng(seed)
    rows, boxes, scores = _random_skeletons(rng, 60)
    stamps = _stamps(rng, 60)
    bag = tmp_path / "fuzz_skeletons"
    skeleton_bag(bag, rows, stamps, boxes, scores)
    run = run_graph(_stack(tmp_path, False), str(bag), domain_id=_domain())
    assert thread_deaths == []
    assert not [e for e in run.errors if e.startswith(("executor", "frame"))], run.errors
    counts = _account(run, len(rows), {"skeleton_tracker": "image_source"})
    print(f"\nfuzz skeletons seed {seed}: in {len(rows)}, {counts}")
    for row in strict_jsonl(tmp_path / "recording" / "outputs.jsonl"):
        for skeleton in row.get("skeletons", []):
            assert np.isfinite(np.asarray(skeleton["keypoints"], float)).all()
            assert np.isfinite(np.asarray(skeleton["box"], float)).all()
