"""ST-GCN graph partitions on a hand-built graph, and every shipped layout builds."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.recognition.graph import build_graph, hop_distance
from rehab_core.skeleton.layouts import LAYOUTS, KeypointLayout

# 0 - 1 - 2 - 3 chain with the centre at 1.
CHAIN = KeypointLayout(name="chain4", names=("a", "b", "c", "d"),
                       edges=((0, 1), (1, 2), (2, 3)), center=1, flip_pairs=())


def test_hop_distance_on_chain():
    hops = hop_distance(4, CHAIN.edges, max_hop=1)
    assert hops[0, 0] == 0 and hops[0, 1] == 1 and np.isinf(hops[0, 2])
    assert hop_distance(4, CHAIN.edges, max_hop=3)[0, 3] == 3


def test_uniform_partition_is_column_normalised_adjacency():
    A = build_graph(CHAIN, "uniform").A
    assert A.shape == (1, 4, 4)
    # degrees with self-loops: a=2, b=3, c=3, d=2 -> column j holds 1/deg(j).
    expected = np.array([
        [1 / 2, 1 / 3, 0, 0],
        [1 / 2, 1 / 3, 1 / 3, 0],
        [0, 1 / 3, 1 / 3, 1 / 2],
        [0, 0, 1 / 3, 1 / 2],
    ])
    np.testing.assert_allclose(A[0], expected, atol=1e-6)
    np.testing.assert_allclose(A[0].sum(axis=0), 1.0, atol=1e-6)


def test_distance_partition_splits_self_and_neighbours():
    A = build_graph(CHAIN, "distance").A
    assert A.shape == (2, 4, 4)
    np.testing.assert_allclose(np.diag(A[0]), [1 / 2, 1 / 3, 1 / 3, 1 / 2], atol=1e-6)
    assert np.all(np.diag(A[1]) == 0)
    np.testing.assert_allclose(A.sum(0), build_graph(CHAIN, "uniform").A[0], atol=1e-6)


def test_spatial_partition_by_distance_to_centre():
    A = build_graph(CHAIN, "spatial").A
    assert A.shape == (3, 4, 4)
    # Subset 0: the root itself.
    np.testing.assert_allclose(A[0], np.diag([1 / 2, 1 / 3, 1 / 3, 1 / 2]), atol=1e-6)
    # Subset 1 (A[k, src, dst]): neighbours at least as far from the centre (b) as the root.
    inward = {(s, d) for s, d in zip(*np.nonzero(A[1]))}
    assert inward == {(0, 1), (2, 1), (3, 2)}
    # Subset 2: neighbours nearer the centre than the root.
    outward = {(s, d) for s, d in zip(*np.nonzero(A[2]))}
    assert outward == {(1, 0), (1, 2), (2, 3)}
    assert A[1][0, 1] == pytest.approx(1 / 3) and A[2][1, 0] == pytest.approx(1 / 2)
    np.testing.assert_allclose(A.sum(0), build_graph(CHAIN, "uniform").A[0], atol=1e-6)


def test_spatial_partition_equal_distance_neighbours_join_root_subset():
    # Triangle around the centre: 1 and 2 are both one hop from 0 and linked to each other.
    tri = KeypointLayout(name="tri", names=("c", "l", "r"), edges=((0, 1), (0, 2), (1, 2)),
                         center=0, flip_pairs=((1, 2),))
    A = build_graph(tri, "spatial").A
    assert A[1][1, 2] > 0 and A[1][2, 1] > 0 and A[2][1, 2] == 0


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_builds_three_subsets(name):
    g = build_graph(name)
    assert g.A.shape == (3, LAYOUTS[name].num_keypoints, LAYOUTS[name].num_keypoints)
    np.testing.assert_allclose(g.A.sum(axis=(0, 1)), 1.0, atol=1e-5)


def test_bad_graphs_raise_config_errors():
    broken = KeypointLayout(name="split", names=("a", "b", "c"), edges=((0, 1),), center=0,
                            flip_pairs=())
    with pytest.raises(ConfigError, match="not connected"):
        build_graph(broken)
    with pytest.raises(ConfigError, match="strategy"):
        build_graph(CHAIN, "nonsense")
