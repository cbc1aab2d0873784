"""HARNets-style LSTM classifier over skeleton or IMU sequences.

The HARNets experiments (assembly-task recognition on InHard) use recurrent
classifiers over per-frame joint or sensor vectors; this is that family:
a (stacked, optionally bidirectional) LSTM, mean+last pooling over time, and
a linear head. Input is (N, T, F). It also accepts the ST-GCN layout
(N, C, T, V) and flattens it to (N, T, V*C), so a trained LSTM can stand in
for ST-GCN in the streaming classifier and its ONNX bundle without any
change to the caller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from rehab_core.errors import ConfigError, ShapeMismatchError


@dataclass
class SkeletonLstmConfig:
    num_features: int
    num_classes: int
    hidden: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.num_features < 1 or self.num_classes < 2 or self.hidden < 1 or self.layers < 1:
            raise ConfigError(f"invalid SkeletonLstmConfig: {self}")

    def to_dict(self) -> dict:
        return asdict(self)


class SkeletonLSTM(nn.Module):
    """LSTM over frames; logits from [mean over time, last step] of the outputs."""

    arch = "lstm"

    def __init__(self, config: SkeletonLstmConfig) -> None:
        super().__init__()
        self.config = config
        self.norm = nn.LayerNorm(config.num_features)
        self.lstm = nn.LSTM(
            config.num_features, config.hidden, num_layers=config.layers, batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        width = config.hidden * (2 if config.bidirectional else 1)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * width, config.num_classes)

    def classifier_parameters(self):
        return self.head.parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:  # (N, C, T, V) as fed to ST-GCN
            n, c, t, v = x.shape
            x = x.permute(0, 2, 3, 1).reshape(n, t, v * c)
        if not torch.jit.is_tracing() and (
            x.ndim != 3 or x.shape[-1] != self.config.num_features
        ):
            raise ShapeMismatchError(
                f"SkeletonLSTM expects (N, T, {self.config.num_features}) or (N, C, T, V) with "
                f"V*C = {self.config.num_features}, got {tuple(x.shape)}")
        out, _ = self.lstm(self.norm(x))
        pooled = torch.cat([out.mean(dim=1), out[:, -1]], dim=-1)
        return self.head(self.drop(pooled))
