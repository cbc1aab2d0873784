"""Component entries of the stack file: a node name may carry a namespace (the exoskeleton
pair of a composed launch lives in /exo); its section and remappings go by the bare name."""

from __future__ import annotations

from rehab_runtime import stack_config


def test_a_namespaced_entry_keeps_its_section_and_remappings():
    stack = {
        "rehab_container": {"ros__parameters": {
            "components": ["image_source", "exo_assist:exo/exo_assist", "exo_simulator:/exo/sim"],
            "remappings": ["exo_assist:reach_state:=/reach_state"],
        }},
        "exo_assist": {"ros__parameters": {"min_confidence": 0.7}},
    }
    source, assist, sim = stack_config.components(stack)
    assert (source.name, source.namespace) == ("image_source", "")
    assert (assist.plugin, assist.name, assist.namespace) == ("exo_assist", "exo_assist", "/exo")
    assert assist.parameters == {"min_confidence": 0.7}
    assert assist.remappings == (("reach_state", "/reach_state"),)
    assert (sim.plugin, sim.name, sim.namespace) == ("exo_simulator", "sim", "/exo")
