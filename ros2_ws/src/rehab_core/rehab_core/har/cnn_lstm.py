"""Small CNN+LSTM over RGB clips (N, T, 3, H, W), trained from scratch.

The HARNets RGB branch runs a per-frame CNN and a recurrent layer over the
frame embeddings. Pretrained backbones would need a download at run time, so
this is a tiny CNN (4 strided conv blocks, global average pooling) that any
machine can train; swap in a bigger encoder later by keeping ``embed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

import torch
from torch import nn

from rehab_core.errors import ConfigError, ShapeMismatchError


@dataclass
class CnnLstmConfig:
    num_classes: int
    channels: tuple[int, ...] = (16, 32, 48, 64)
    hidden: int = 64
    dropout: float = 0.1
    in_channels: int = 3

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if self.num_classes < 2 or not self.channels or self.hidden < 1:
            raise ConfigError(f"invalid CnnLstmConfig: {self}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class CnnLSTM(nn.Module):
    """Per-frame CNN embedding -> LSTM -> linear head on [mean, last] outputs."""

    arch = "cnn_lstm"

    def __init__(self, config: CnnLstmConfig) -> None:
        super().__init__()
        self.config = config
        chans = (config.in_channels, *config.channels)
        self.embed = nn.Sequential(
            *(_block(a, b) for a, b in pairwise(chans)),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.lstm = nn.LSTM(chans[-1], config.hidden, batch_first=True)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.hidden, config.num_classes)

    def classifier_parameters(self):
        return self.head.parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (x.ndim != 5 or x.shape[2] != self.config.in_channels):
            raise ShapeMismatchError(
                f"CnnLSTM expects (N, T, {self.config.in_channels}, H, W), got {tuple(x.shape)}")
        n, t = x.shape[:2]
        feats = self.embed(x.flatten(0, 1)).view(n, t, -1)
        out, _ = self.lstm(feats)
        return self.head(self.drop(torch.cat([out.mean(dim=1), out[:, -1]], dim=-1)))
