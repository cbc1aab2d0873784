"""The SROS2 policy and docs/security.md: who may command the exoskeleton, as written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "security" / "sros2" / "rehab_policy.xml"


def _rules(enclave: ET.Element, kind: str, verb: str) -> dict[str, set[str]]:
    """{"ALLOW": {...}, "DENY": {...}} of one enclave for e.g. ("actions", "call")."""
    out: dict[str, set[str]] = {"ALLOW": set(), "DENY": set()}
    for group in enclave.iter(kind):
        if verb in group.attrib:
            out[group.attrib[verb]] |= {e.text for e in group}
    return out


def test_policy_gives_the_exo_action_and_resets_to_one_enclave_each():
    root = ET.parse(POLICY).getroot()
    assert root.tag == "policy" and root.attrib["version"] == "0.2.0"
    enclaves = {e.attrib["path"]: e for e in root.iter("enclave")}
    assert set(enclaves) == {"/rehab/perception", "/rehab/exo_assist", "/rehab/exo_controller",
                             "/rehab/operator"}
    callers = {p for p, e in enclaves.items()
               if "/exo/exo_assist" in _rules(e, "actions", "call")["ALLOW"]}
    executors = {p for p, e in enclaves.items()
                 if "/exo/exo_assist" in _rules(e, "actions", "execute")["ALLOW"]}
    assert callers == {"/rehab/exo_assist"} and executors == {"/rehab/exo_controller"}
    resetters = {p for p, e in enclaves.items()
                 if any("reset_emergency_stop" in s
                        for s in _rules(e, "services", "request")["ALLOW"])}
    assert resetters == {"/rehab/operator"}
    perception = enclaves["/rehab/perception"]
    assert "/exo/*" in _rules(perception, "actions", "call")["DENY"]
    assert "/exo/*" in _rules(perception, "services", "request")["DENY"]
    for path, enclave in enclaves.items():  # stopping is always allowed
        if path != "/rehab/perception":
            assert "/emergency_stop" in _rules(enclave, "topics", "subscribe")["ALLOW"] | \
                _rules(enclave, "topics", "publish")["ALLOW"], path


def test_security_doc_says_what_is_and_is_not_protected():
    text = (ROOT / "docs" / "security.md").read_text()
    for needed in ("What is protected, and what is not", "NOT protected", "Spoofed perception",
                   "rehab_policy.xml", "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST",
                   "goal_key_file", "operator_token_file", "estop_latch_file"):
        assert needed in text, needed
