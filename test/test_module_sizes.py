"""Every Python module we wrote stays under 350 lines (packages, tests, scripts).

Why: a module that grows past that has usually taken on a second job; split it
by job so a newcomer finds each one by its file name. Generated code (the
colcon build, the venv) is not ours and is not checked.
"""

from __future__ import annotations

import subprocess

import pytest

from rehab_testing import REPO_ROOT

pytestmark = pytest.mark.unit

MAX_LINES = 350


SKIP_DIRS = {".venv", ".cache", "build", "install", "log", "__pycache__", "node_modules"}


def tracked_python_files() -> list[str]:
    """The repository's own modules: git's list, or a walk without build outputs."""
    try:
        out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout
        return [p for p in out.splitlines() if p]
    except (OSError, subprocess.CalledProcessError):  # an export without .git
        return [str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.rglob("*.py")
                if not SKIP_DIRS & set(p.relative_to(REPO_ROOT).parts)]


def test_every_module_is_under_350_lines():
    files = tracked_python_files()
    assert len(files) > 100, "git ls-files found too few modules: not a checkout?"
    too_long = {}
    for rel in files:
        path = REPO_ROOT / rel
        if path.is_file():
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n >= MAX_LINES:
                too_long[rel] = n
    assert not too_long, f"modules of {MAX_LINES}+ lines (split them by job): {too_long}"
