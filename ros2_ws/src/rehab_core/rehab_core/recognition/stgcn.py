"""ST-GCN (Yan et al. 2018) in PyTorch, shaped like the published implementation.

The published network (github.com/yysijie/st-gcn, ``net/st_gcn.py``) has an
input block of 64 channels followed by the nine 64-64-64-128-128-128-256-256-256
units of the paper (ten blocks in all, temporal stride 2 entering the 128- and
256-channel stages). We keep that structure and the inner module names
(``gcn.conv``, ``tcn.0..4``, ``residual.0/1``) so its checkpoints map onto
ours by renaming only the top-level names (see ``checkpoint.py``). The first
block has no dropout and no residual, as in the reference.

``width`` scales every channel count (0.5 gives a 4x cheaper model that trains
on a laptop CPU); ``extra_fc`` adds a hidden fully connected layer (e.g. 512)
before the classifier, as in the rehab thesis variant. ``motion`` appends each
channel's frame-to-frame change inside the network (the "motion stream" of
two-stream skeleton models): how joints move, not only where they are, a cue
that depends less on the person's build and the camera. The input contract
(and the ONNX graph's input) stays the plain window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.recognition.graph import build_graph

REFERENCE_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
REFERENCE_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


@dataclass
class STGCNConfig:
    """Everything needed to rebuild a model (saved next to its weights)."""

    num_classes: int
    in_channels: int = 3
    layout: str = "coco17"
    strategy: str = "spatial"
    max_hop: int = 1
    edge_importance: bool = True
    dropout: float = 0.2
    temporal_kernel: int = 9
    width: float = 1.0
    channels: tuple[int, ...] = field(default_factory=lambda: REFERENCE_CHANNELS)
    strides: tuple[int, ...] = field(default_factory=lambda: REFERENCE_STRIDES)
    extra_fc: int = 0
    classifier: str = "conv"
    motion: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"], d["strides"] = list(self.channels), list(self.strides)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> STGCNConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for key in ("channels", "strides"):
            if key in known:
                known[key] = tuple(int(v) for v in known[key])
        return cls(**known)


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1x1 conv to K*C_out channels, then sum over A's subsets."""

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int) -> None:
        super().__init__()
        self.num_subsets = num_subsets
        self.conv = nn.Conv2d(in_channels, out_channels * num_subsets, kernel_size=1)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n, kc, t, v = x.shape
        k = self.num_subsets
        # sum_k,v x[n,k,c,t,v] A[k,v,w] as one matmul over the (k, v) axis.
        x = x.view(n, k, kc // k, t, v).permute(0, 2, 3, 1, 4).reshape(n, kc // k, t, k * v)
        return torch.matmul(x, A.reshape(k * v, -1))


class STGCNBlock(nn.Module):
    """Graph conv -> BN/ReLU -> temporal conv -> BN -> dropout, plus a residual."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_subsets: int,
        temporal_kernel: int,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ConfigError(f"temporal kernel must be odd, got {temporal_kernel}")
        pad = (temporal_kernel - 1) // 2
        self.gcn = GraphConv(in_channels, out_channels, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.residual_mode = "none" if not residual else (
            "identity" if in_channels == out_channels and stride == 1 else "conv")
        if self.residual_mode == "conv":
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        if self.residual_mode == "identity":
            res = x
        elif self.residual_mode == "conv":
            res = self.residual(x)
        else:
            res = None
        x = self.tcn(self.gcn(x, A))
        return self.relu(x if res is None else x + res)


class STGCN(nn.Module):
    """Spatial temporal graph convolutional network.

    Input (N, C, T, V, M) as in the reference (M persons, averaged after
    pooling) or (N, C, T, V) for one person. Output: class logits (N, classes).
    """

    def __init__(self, config: STGCNConfig) -> None:
        super().__init__()
        if len(config.channels) != len(config.strides):
            raise ConfigError("channels and strides must have the same length")
        if config.num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {config.num_classes}")
        self.config = config
        graph = build_graph(config.layout, config.strategy, config.max_hop)
        self.register_buffer("A", torch.tensor(graph.A))
        k, v = graph.num_subsets, graph.num_nodes
        self.num_nodes = v
        channels = [max(1, round(c * config.width)) for c in config.channels]
        stem = config.in_channels * (2 if config.motion else 1)
        self.input_bn = nn.BatchNorm1d(stem * v)
        blocks = []
        prev = stem
        for i, (c, s) in enumerate(zip(channels, config.strides)):
            first = i == 0
            blocks.append(STGCNBlock(
                prev, c, k, config.temporal_kernel, s,
                dropout=0.0 if first else config.dropout, residual=not first))
            prev = c
        self.blocks = nn.ModuleList(blocks)
        if config.edge_importance:
            self.edge_importance = nn.ParameterList(
                [nn.Parameter(torch.ones_like(self.A)) for _ in self.blocks])
        else:
            self.edge_importance = None
        self.feature_dim = prev
        if config.extra_fc:
            self.hidden = nn.Sequential(
                nn.Linear(prev, config.extra_fc), nn.ReLU(inplace=True),
                nn.Dropout(config.dropout))
            prev = config.extra_fc
        else:
            self.hidden = None
        if config.classifier == "conv":
            self.classifier: nn.Module = nn.Conv2d(prev, config.num_classes, kernel_size=1)
        elif config.classifier == "fc":
            self.classifier = nn.Linear(prev, config.num_classes)
        else:
            raise ConfigError(f"classifier must be 'conv' or 'fc', got {config.classifier!r}")

    def classifier_parameters(self) -> list[nn.Parameter]:
        """The head (hidden FC + classifier): what transfer learning trains first."""
        params = list(self.classifier.parameters())
        if self.hidden is not None:
            params += list(self.hidden.parameters())
        return params

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, feature_dim), persons averaged."""
        if x.dim() == 4:
            x = x.unsqueeze(-1)
        if x.dim() != 5:
            raise ShapeMismatchError(f"expected (N, C, T, V[, M]) input, got {tuple(x.shape)}")
        n, c, t, v, m = x.shape
        if not torch.jit.is_tracing() and (c != self.config.in_channels or v != self.num_nodes):
            raise ShapeMismatchError(
                f"expected C={self.config.in_channels}, V={self.num_nodes}, got C={c}, V={v}")
        if self.config.motion:
            x = torch.cat([x, with_motion(x)], dim=1)
            c = 2 * c
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.input_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for i, block in enumerate(self.blocks):
            A = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, A)
        x = x.mean(dim=(2, 3))
        return x.view(n, m, -1).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.hidden is not None:
            x = self.hidden(x)
        if isinstance(self.classifier, nn.Conv2d):
            return self.classifier(x[:, :, None, None]).flatten(1)
        return self.classifier(x)


def with_motion(x: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V, M) -> each channel's change from the previous frame (0 at the first).

    A joint missing in either frame (all channels zero) moves by zero rather than by
    its whole coordinate, so a dropout is not read as a jump."""
    seen = (x.abs().sum(dim=1, keepdim=True) > 0).to(x.dtype)
    step = (x[:, :, 1:] - x[:, :, :-1]) * seen[:, :, 1:] * seen[:, :, :-1]
    return torch.cat([torch.zeros_like(x[:, :, :1]), step], dim=2)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
