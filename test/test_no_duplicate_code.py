"""No block of more than 10 identical lines repeats in our packages' Python (ros2_ws/src/*/).

Why: a block written twice is fixed once and left wrong in the other place;
one shared helper serves where the logic really is the same. Lines are
compared after normalising: surrounding white space stripped, and blank
lines, comments and import statements (all their lines) left out, so a copy
cannot hide behind re-indentation or a different comment. This guards CI
without the ``duplicates`` tool (which also reports same-shape code).
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import defaultdict

import pytest

from rehab_testing import REPO_ROOT

pytestmark = pytest.mark.unit

SRC = REPO_ROOT / "ros2_ws" / "src"
#: a block of more lines than this, repeated, fails the test
MAX_REPEATED_LINES = 10


def normalized_lines(text: str, name: str = "<text>") -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that count: no blanks, comments or imports."""
    skip: set[int] = set()
    for node in ast.walk(ast.parse(text, name)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    comment_only: set[int] = set()
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            comment_only.add(tok.start[0])
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = " ".join(line.split())
        if not stripped or number in skip:
            continue
        if number in comment_only and number not in code_lines:
            continue
        if number in comment_only:  # code with a trailing comment: the code alone
            stripped = _without_comment(line)
        out.append((number, stripped))
    return out


def _without_comment(line: str) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
    try:
        cut = next(t.start[1] for t in tokens if t.type == tokenize.COMMENT)
    except (StopIteration, tokenize.TokenError):
        return " ".join(line.split())
    return " ".join(line.strip()[:cut].split())


def repeated_blocks(files: dict[str, str], longer_than: int = MAX_REPEATED_LINES) -> list[str]:
    """``a.py:3-15 ~ b.py:40-52`` for each block of more than ``longer_than`` counted lines
    that stands in two places (two files, or twice in one without overlapping)."""
    size = longer_than + 1
    lines = {name: normalized_lines(text, name) for name, text in files.items()}
    seen: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for name, rows in lines.items():
        texts = tuple(text for _, text in rows)
        for i in range(len(rows) - size + 1):
            seen[texts[i:i + size]].append((name, i))
    pairs: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)
    for places in seen.values():
        for k, (a, i) in enumerate(places):
            for b, j in places[k + 1:]:
                if a != b or j - i >= size:
                    pairs[(a, b)].add((i, j))
    found = []
    for (a, b), starts in sorted(pairs.items()):
        for i, j, n in _runs(starts):
            ra, rb = lines[a], lines[b]
            found.append(f"{a}:{ra[i][0]}-{ra[i + n + size - 2][0]} ~ "
                         f"{b}:{rb[j][0]}-{rb[j + n + size - 2][0]}")
    return found


def _runs(starts: set[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Merge window matches that continue each other: (i, j, how many windows)."""
    runs = []
    for i, j in sorted(starts):
        if (i - 1, j - 1) in starts:
            continue
        n = 1
        while (i + n, j + n) in starts:
            n += 1
        runs.append((i, j, n))
    return runs


def our_sources() -> dict[str, str]:
    """Path (relative to ros2_ws/src) -> text of every Python file of our packages."""
    return {str(p.relative_to(SRC)): p.read_text(encoding="utf-8")
            for p in sorted(SRC.glob("*/**/*.py")) if "__pycache__" not in p.parts}


def _block(first: int, n: int = 11) -> str:
    return "".join(f"    total_{first + k} = compute({first + k})\n" for k in range(n))


def test_the_detector_finds_a_copied_block_and_only_that():
    body = _block(0)
    a = f"import os\n\n\ndef f():\n{body}    return 1\n"
    # the same block re-indented, with comments, blank lines and imports between its lines
    spread = "".join(f"        {line.strip()}  # note\n\n        import sys\n"
                     for line in body.splitlines())
    b = f"class C:\n    def g(self):\n{spread}        return 2\n"
    assert repeated_blocks({"a.py": a, "b.py": b}) == ["a.py:5-15 ~ b.py:3-33"]
    ten = "def h():\n" + _block(0, 10)
    assert repeated_blocks({"a.py": a, "c.py": ten}) == []  # 10 lines may repeat
    twice = f"def f():\n{body}\n\ndef g():\n{body}"
    assert repeated_blocks({"d.py": twice}) == ["d.py:2-12 ~ d.py:16-26"]


def test_the_detector_ignores_import_blocks_and_comment_banners():
    imports = "from x import (\n" + "".join(f"    name_{k},\n" for k in range(15)) + ")\n"
    banner = "".join(f"# line {k} of a licence header\n" for k in range(15))
    files = {"a.py": imports + banner + "A = 1\n", "b.py": banner + imports + "B = 2\n"}
    assert repeated_blocks(files) == []


def test_the_detector_reads_our_packages():
    sources = our_sources()
    assert "rehab_core/rehab_core/types.py" in sources
    assert any(name.startswith("rehab_core/test/") for name in sources)
    assert len(sources) > 100


def test_no_block_of_more_than_10_lines_repeats_in_our_packages():
    found = repeated_blocks(our_sources())
    assert not found, (f"blocks of more than {MAX_REPEATED_LINES} identical lines repeat in "
                       "ros2_ws/src (move them into one shared helper):\n" + "\n".join(found))
