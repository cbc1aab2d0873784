"""The generated reference pages match the code, and the written ones cover what they claim."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from rehab_cli.commands import docs
from rehab_cli.main import main as rehab_main
from rehab_core import errors

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.mark.parametrize("kind", sorted(docs.PAGES))
def test_committed_page_matches_what_the_code_generates(kind: str):
    committed = (DOCS / docs.PAGES[kind]).read_text()
    assert committed == docs.render(kind), (
        f"docs/{docs.PAGES[kind]} is out of date: run `rehab docs all -o docs`")


def test_parameters_cover_every_registered_component_and_every_param():
    text = (DOCS / "parameters.md").read_text()
    registered = {ep.name for ep in entry_points(group=docs.COMPONENT_GROUP)}
    assert len(registered) >= 9
    classes = dict(docs.component_classes())
    assert registered <= set(classes)
    assert {"exo_simulator", "exo_assist", "run_exercise_server"} <= set(classes)
    for name, cls in classes.items():
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for spec in cls.PARAMS:
            assert f"| `{spec.name}` |" in section, f"{name}.{spec.name}"


def test_topics_page_has_the_stack_graph_and_both_actions():
    text = (DOCS / "topics.md").read_text()
    for action in (ROOT / "ros2_ws/src/rehab_interfaces/action").glob("*.action"):
        assert f"rehab_interfaces/action/{action.stem}" in text
    pose = text.split("\n## pose_estimator\n", 1)[1].split("\n## ", 1)[0]
    assert "| subscribes | `image` | `sensor_msgs/msg/Image` |" in pose
    assert "| publishes | `skeletons` | `rehab_interfaces/msg/Skeleton2DArray` |" in pose


def test_errors_page_lists_real_raise_sites():
    sites = docs.raised_errors(docs._package_roots())
    assert set(sites) == {c.__name__ for c in docs.rehab_error_classes()}
    config = [m for _, m in sites["ConfigError"]]
    assert "precision must be fp32, fp16 or int8, got {…}" in config  # export/tensorrt.py


def test_troubleshooting_covers_every_error_class():
    text = (DOCS / "troubleshooting.md").read_text()
    for cls in docs.rehab_error_classes():
        assert re.search(rf"^## {cls.__name__}\b", text, re.M), cls.__name__
    assert issubclass(errors.ConfigError, errors.RehabError)


def test_relative_links_in_docs_resolve():
    pages = [*DOCS.glob("*.md"), ROOT / "docker" / "README.md"]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_jetson_guide_names_files_that_exist():
    text = (DOCS / "jetson.md").read_text()
    for path in ("docker/Dockerfile.jetson", "docker/compose.yaml", "docker/compose.jetson.yaml",
                 "docker/compose.camera.yaml", "launch/config/stack.yaml"):
        assert path in text and (ROOT / path).is_file()
    assert "/opt/rehab/scripts/docker/build_engines.sh" in text
    assert (ROOT / "scripts/docker/build_engines.sh").is_file()


def test_cli_check_reports_a_stale_page(tmp_path: Path, capsys):
    stale = tmp_path / "parameters.md"
    stale.write_text("old\n")
    assert rehab_main(["docs", "params", "-o", str(stale), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert rehab_main(["docs", "params", "-o", str(stale)]) == 0
    assert rehab_main(["docs", "params", "-o", str(stale), "--check"]) == 0
    assert stale.read_text() == (DOCS / "parameters.md").read_text()


def test_cli_check_without_a_target_is_a_clear_error(capsys):
    assert rehab_main(["docs", "topics", "--check"]) == 2
    assert "--check needs -o FILE" in capsys.readouterr().err
