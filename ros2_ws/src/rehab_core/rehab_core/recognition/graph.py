"""ST-GCN skeleton graphs: hop distances, partition strategies, normalised adjacency.

Follows Yan et al., "Spatial Temporal Graph Convolutional Networks for
Skeleton-Based Action Recognition" (AAAI 2018), and keeps the subset order
of the published implementation so that its checkpoints load onto ours.

Convention: ``A[k, src, dst]`` is the weight with which joint ``src`` feeds
joint ``dst`` in partition subset ``k``; every column (destination) of the
summed adjacency is normalised by the destination's degree (self-loop
included), so a graph convolution averages over a joint's neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehab_core.errors import ConfigError
from rehab_core.skeleton.layouts import KeypointLayout, get_layout

STRATEGIES = ("uniform", "distance", "spatial")


def hop_distance(num_nodes: int, edges: tuple[tuple[int, int], ...], max_hop: int) -> np.ndarray:
    """(V, V) hop counts between joints; ``inf`` beyond ``max_hop``."""
    adjacency = np.zeros((num_nodes, num_nodes))
    for i, j in edges:
        if not (0 <= i < num_nodes and 0 <= j < num_nodes):
            raise ConfigError(f"edge ({i}, {j}) outside a {num_nodes}-joint graph")
        adjacency[i, j] = adjacency[j, i] = 1
    dist = np.full((num_nodes, num_nodes), np.inf)
    reach = [np.linalg.matrix_power(adjacency + np.eye(num_nodes), d) > 0
             for d in range(max_hop + 1)]
    for d in range(max_hop, -1, -1):
        dist[reach[d]] = d
    return dist


def normalize_columns(adjacency: np.ndarray) -> np.ndarray:
    """Divide each column by its sum (a destination's in-degree); empty columns stay 0."""
    degree = adjacency.sum(axis=0)
    inv = np.zeros_like(degree)
    inv[degree > 0] = 1.0 / degree[degree > 0]
    return adjacency * inv[None, :]


@dataclass(frozen=True)
class SkeletonGraph:
    """Partitioned adjacency ``A`` (K, V, V) of one keypoint layout."""

    layout: str
    strategy: str
    max_hop: int
    A: np.ndarray
    hops: np.ndarray

    @property
    def num_subsets(self) -> int:
        return int(self.A.shape[0])

    @property
    def num_nodes(self) -> int:
        return int(self.A.shape[1])


def build_graph(
    layout: str | KeypointLayout,
    strategy: str = "spatial",
    max_hop: int = 1,
    dilation: int = 1,
) -> SkeletonGraph:
    """Build the ST-GCN graph of a layout.

    Strategies (paper section 3.4):

    - ``uniform`` (uni-labeling): one subset, the whole neighbourhood.
    - ``distance``: one subset per hop distance 0..max_hop.
    - ``spatial`` (default, spatial configuration): the root itself; the
      neighbours at the same or a greater hop distance from the layout's
      centre joint than the root (they send information towards the centre:
      centripetal flow); the neighbours nearer the centre (centrifugal flow).
      With ``max_hop=1`` that gives K=3 subsets in the published order.
    """
    lay = get_layout(layout) if isinstance(layout, str) else layout
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown graph strategy {strategy!r}; choose from {STRATEGIES}")
    if max_hop < 1 or dilation < 1:
        raise ConfigError(f"max_hop and dilation must be >= 1, got {max_hop}, {dilation}")
    num = lay.num_keypoints
    hops = hop_distance(num, lay.edges, max_hop)
    centre_hops = hop_distance(num, lay.edges, num)[lay.center]
    if np.isinf(centre_hops).any():
        missing = [lay.names[i] for i in np.flatnonzero(np.isinf(centre_hops))]
        raise ConfigError(f"layout {lay.name!r} graph is not connected; unreachable: {missing}")

    valid_hops = range(0, max_hop + 1, dilation)
    adjacency = np.zeros((num, num))
    for hop in valid_hops:
        adjacency[hops == hop] = 1
    norm = normalize_columns(adjacency)

    if strategy == "uniform":
        parts = [norm]
    elif strategy == "distance":
        parts = [np.where(hops == hop, norm, 0.0) for hop in valid_hops]
    else:
        parts = []
        src_hops = centre_hops[:, None]
        dst_hops = centre_hops[None, :]
        for hop in valid_hops:
            in_hop = hops == hop
            root = np.where(in_hop & (src_hops == dst_hops), norm, 0.0)
            inward = np.where(in_hop & (src_hops > dst_hops), norm, 0.0)
            outward = np.where(in_hop & (src_hops < dst_hops), norm, 0.0)
            if hop == 0:
                parts.append(root)
            else:
                parts.extend([root + inward, outward])
    A = np.stack(parts).astype(np.float32)
    return SkeletonGraph(layout=lay.name, strategy=strategy, max_hop=max_hop, A=A, hops=hops)
