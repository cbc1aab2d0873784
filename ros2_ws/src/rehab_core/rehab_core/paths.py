"""Where the repository's data files (models/, launch/config/) are at run time.

Parameter files name models relative to the repository root (``models/...``)
so the same YAML works from a checkout, from ``make setup``'s develop install
and from a Docker image. Resolution order: ``$REHAB_HOME``, then the
checkout this package was installed from (found by walking up from this
file), then the current directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_MARKERS = ("models", "launch")


@lru_cache(maxsize=1)
def repo_root() -> Path:
    env = os.environ.get("REHAB_HOME")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if all((parent / m).is_dir() for m in _MARKERS):
            return parent
    return Path.cwd()


def repo_file(relative: str | Path) -> Path:
    """An absolute path for a repository-relative one (absolute paths pass through)."""
    path = Path(relative).expanduser()
    return path if path.is_absolute() else repo_root() / path


def shared_dir() -> Path | None:
    """``../shared`` next to the checkout (test and demo material), if present."""
    path = Path(os.environ.get("REHAB_SHARED_DIR", repo_root().parent / "shared"))
    return path if path.is_dir() else None
