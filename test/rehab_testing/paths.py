"""Where the checkout and the test material outside it are."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_path() -> Path:
    """``../shared`` next to the checkout, or ``$REHAB_SHARED_DIR``."""
    return Path(os.environ.get("REHAB_SHARED_DIR", REPO_ROOT.parent / "shared"))
