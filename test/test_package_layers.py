"""Each package imports only the packages docs/architecture.md allows it (read from the AST).

Every import counts, also lazy ones inside functions: a stage package that imports
another stage package, or the runtime importing a stage, makes the layers in the
architecture page untrue and the packages impossible to build or test alone.
"""

from __future__ import annotations

import ast
import re

from rehab_testing import REPO_ROOT

SRC = REPO_ROOT / "ros2_ws" / "src"
BASE = {"rehab_core", "rehab_interfaces"}
#: package -> the packages of ours it may import (docs/architecture.md, "may import")
ALLOWED: dict[str, set[str]] = {
    "rehab_core": set(),
    "rehab_runtime": BASE,
    "rehab_perception": BASE | {"rehab_runtime"},
    "rehab_coach": BASE | {"rehab_runtime"},
    "rehab_assist": BASE | {"rehab_runtime"},
    "rehab_bench": BASE | {"rehab_runtime"},
    "rehab_bringup": {"rehab_runtime"},
    "rehab_cli": BASE | {"rehab_runtime", "rehab_perception", "rehab_coach", "rehab_assist",
                         "rehab_bench"},
}


def imports_of_ours(package: str) -> dict[str, set[str]]:
    """Package of ours imported -> the files (relative) that import it."""
    ours = {p.parent.name for p in SRC.glob("*/package.xml")}
    found: dict[str, set[str]] = {}
    for path in (SRC / package / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ours and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_python_package_has_its_rule():
    packages = {p.parent.name for p in SRC.glob("*/setup.py")}
    assert packages == set(ALLOWED), "add the package to ALLOWED and to docs/architecture.md"


def test_packages_import_only_the_layers_below_them():
    wrong = {}
    for package, allowed in ALLOWED.items():
        for imported, files in imports_of_ours(package).items():
            if imported not in allowed:
                wrong[f"{package} -> {imported}"] = sorted(files)
    assert not wrong, f"imports across the architecture's layers: {wrong}"


def test_the_checker_sees_real_imports():
    # guards the reader above: the runtime's codecs do import rehab_core and the messages
    found = imports_of_ours("rehab_runtime")
    assert {"rehab_core", "rehab_interfaces"} <= set(found)


def test_the_architecture_page_states_the_same_rules():
    page = (REPO_ROOT / "docs" / "architecture.md").read_text()
    for package, allowed in ALLOWED.items():
        row = re.search(rf"^\| `{package}` \|.*\| (.+) \|$", page, re.M)
        assert row, f"docs/architecture.md has no row for {package}"
        stated = set(re.findall(r"`(rehab_\w+)`", row.group(1)))
        assert stated == allowed, f"{package}: page says {sorted(stated)}, test {sorted(allowed)}"
