"""``rehab eval|train recognition``: a bad recipe option is one clear error line (exit 2)
before the skeleton cache is read, which takes minutes for the whole corpus."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REHAB = REPO_ROOT / ".venv" / "bin" / "rehab"


@pytest.mark.parametrize(("verb", "option", "message"), [
    ("eval", ["--max-windows-per-source", "-1"], "max_windows_per_source must be >= 0"),
    ("eval", ["--active-only"], "needs the fused input"),
    ("train", ["--window", "2"], "window >= 4"),
    ("train", ["--fps", "0"], "fps > 0"),
    ("eval", ["--mix", "runs/x"], "--mix RUN2 needs --recount RUN"),
    ("eval", ["--live-smoothing", "models/exercise_stgcn"], "--live-smoothing BUNDLE needs"),
    ("eval", ["--recount", "runs/x", "--live-smoothing", "README.md"], "README.md"),
    ("train", ["--fallback-weight", "0.5"], "needs --fallback"),
])
def test_bad_recipe_options_fail_before_any_loading(tmp_path, verb, option, message):
    missing = tmp_path / "no_cache"  # would be "no cached corpus clips" if read first
    done = subprocess.run([str(REHAB), verb, "recognition", "--out", str(tmp_path / "out"),
                           "--cache", str(missing), *option], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "no cached corpus clips" not in done.stderr
    assert not (tmp_path / "out").exists()
