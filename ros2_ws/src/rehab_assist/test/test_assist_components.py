"""The exoskeleton nodes are components: the container loads them by their entry point names
next to the stages and brings them up and down, as it does any other component."""

from __future__ import annotations

import pytest
from exo_testutil import exo_secret_params

from rehab_runtime.container import ComponentContainer


@pytest.fixture()
def container(ros_context):
    c = ComponentContainer(context=ros_context, num_threads=2)
    yield c
    c.shutdown()


def test_exo_assist_and_the_simulator_come_up_in_the_container(container, tmp_path):
    for plugin in ("exo_simulator", "exo_assist"):
        secrets = {p.name: p.value for p in exo_secret_params(tmp_path, plugin)}
        container.load(plugin, plugin, secrets, remappings=(("reach_state", "/reach_state"),))
    container.spin_in_background()
    assert container.bring_up(["exo_simulator", "exo_assist"]) == {}
    assert {n.state_label() for n in container.nodes.values()} == {"active"}
    # its inputs and outputs are the container's: exo_assist reads reach states off the bus
    assert container.nodes["exo_assist"].bus is container.bus
    container.bring_down()
    assert {n.state_label() for n in container.nodes.values()} == {"inactive"}
