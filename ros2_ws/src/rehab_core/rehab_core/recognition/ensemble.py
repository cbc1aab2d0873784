"""Several ST-GCNs answering as one: the mean of their class probabilities.

Held out by whole sources, one training seed moves this corpus's video
accuracy by up to 0.09 (the model card's seed check): a single model's
answer on an unseen person is partly luck of its draw of virtual views and
initial weights. Averaging members trained alike with different seeds (and,
optionally, each also on the mirrored window, which training already treats
as the same exercise) removes that luck at a few tenths of a millisecond per
member. The output is the log of the mean probability, so every consumer of
"logits" (softmax, argmax, ONNX) reads it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rehab_core.errors import ConfigError
from rehab_core.skeleton.layouts import get_layout


class SeedEnsemble(nn.Module):
    """Members of one architecture (same config) whose probabilities are averaged.

    ``flip_channels``: the x channels of the input (0 for 2-D, 0 and 3 for the
    fused 2-D + 3-D input); when given, each member also sees the window
    mirrored (x negated, left and right joints swapped)."""

    def __init__(self, members: Sequence[nn.Module], flip_channels: Sequence[int] = ()) -> None:
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        configs = {repr(m.config.to_dict()) for m in members}
        if len(configs) != 1:
            raise ConfigError("ensemble members must share one model config")
        self.members = nn.ModuleList(members)
        self.config = members[0].config
        self.flip_channels = tuple(int(c) for c in flip_channels)
        perm = get_layout(self.config.layout).flip_permutation()
        sign = torch.ones(self.config.in_channels)
        for c in self.flip_channels:
            if not 0 <= c < self.config.in_channels:
                raise ConfigError(f"flip channel {c} outside {self.config.in_channels} channels")
            sign[c] = -1.0
        self.register_buffer("flip_index", torch.as_tensor(list(perm), dtype=torch.long))
        self.register_buffer("flip_sign", sign.view(1, -1, 1, 1))

    @property
    def num_nodes(self) -> int:
        return self.members[0].num_nodes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if self.flip_channels:  # the window and its mirror in one batch: one pass per member
            x = torch.cat([x, x.index_select(3, self.flip_index) * self.flip_sign], dim=0)
        probs = torch.stack([torch.softmax(m(x), dim=1) for m in self.members])
        views = probs.shape[1] // n
        mean = probs.reshape(len(self.members), views, n, -1).mean(dim=(0, 1))
        return torch.log(mean.clamp_min(1e-7))
