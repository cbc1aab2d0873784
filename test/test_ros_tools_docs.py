"""The Foxglove layout in docs/ names only topics the stack documents (and so publishes),
and the pages for ROS tools, the patient screen and the therapist page cover their topics."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _documented_topics() -> set[str]:
    text = (DOCS / "topics.md").read_text()
    return set(re.findall(r"\| (?:publishes|subscribes) \| `([^`]+)` \|", text))


def _panel_ids(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    return _panel_ids(node["first"]) + _panel_ids(node["second"])


def test_foxglove_layout_names_documented_topics_and_consistent_panels():
    layout = json.loads((DOCS / "foxglove-layout.json").read_text())
    panels = layout["configById"]
    assert sorted(_panel_ids(layout["layout"])) == sorted(panels)
    text = json.dumps(panels)
    topics = set(re.findall(r'"/([a-z_]+)', text))
    assert {"image_annotated", "markers", "coach_status"} <= topics
    undocumented = topics - _documented_topics()
    assert not undocumented, f"layout names topics no component publishes: {undocumented}"


def test_published_visualisation_topics_are_documented():
    published = _documented_topics()
    assert {"image_annotated", "markers", "coach_status", "display"} <= published
    page = (DOCS / "ros-tools.md").read_text()
    for topic in ("image_annotated", "markers", "coach_status", "display", "action"):
        assert f"`{topic}`" in page, topic


def test_screen_and_page_docs_show_test_made_screenshots():
    for page, images in (("patient-display.md", ["patient-wrong-exercise.png",
                                                  "patient-exercising-1.png"]),
                         ("therapist-page.md", ["therapist_page.png", "therapist_report.png"])):
        text = (DOCS / page).read_text()
        for name in images:
            assert f"images/{name}" in text
            size = (DOCS / "images" / name).stat().st_size
            assert 0 < size < 200_000, f"{name}: keep committed screenshots small ({size} B)"
