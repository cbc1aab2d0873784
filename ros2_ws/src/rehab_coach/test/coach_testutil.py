"""Helpers for rehab_coach tests (a unique module name: conftest clashes across packages)."""

from __future__ import annotations

from pathlib import Path

from rehab_testing import REPO_ROOT, wait_for

__all__ = ["REPO_ROOT", "artifact_dir", "doc_screenshot", "save_png", "wait_for"]


def artifact_dir(name: str) -> Path:
    """Where a test keeps what it saw (screens, screenshots): $REHAB_TEST_ARTIFACTS/<name>,
    default out/test-artifacts/<name> in the checkout (ignored by git)."""
    import os

    root = Path(os.environ.get("REHAB_TEST_ARTIFACTS", REPO_ROOT / "out" / "test-artifacts"))
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_png(path: Path, rgb) -> Path:
    """Write an HxWx3 RGB array as PNG."""
    import cv2

    assert cv2.imwrite(str(path), rgb[:, :, ::-1]), f"cannot write {path}"
    return path


def doc_screenshot(src: Path, name: str, max_width: int = 800) -> None:
    """With REHAB_DOC_SCREENSHOTS=1, copy a test's screenshot to docs/images/ (scaled down,
    so the committed PNGs stay small); the docs show what the tests saw."""
    import os

    import cv2

    if os.environ.get("REHAB_DOC_SCREENSHOTS") != "1":
        return
    img = cv2.imread(str(src))
    assert img is not None, f"cannot read {src}"
    if img.shape[1] > max_width:
        scale = max_width / img.shape[1]
        img = cv2.resize(img, (max_width, round(img.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    out = REPO_ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(out / name), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
