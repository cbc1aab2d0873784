"""BabyNet: a ~1.2 k-parameter LSTM over 2 frames of hand-object features.

Dechemi et al. (2021) showed that a very small LSTM over the last two frames
of hand/object box relations recognises infant reach phases as well as much
larger networks; small matters because it must run next to a robot's control
loop. Classes (in this order): RN reach onset, RF reach offset, R reaching,
NoR no reach. The MLP is the paper's non-recurrent baseline on the same input.

:class:`NumpyBabyNet` runs the trained LSTM with plain numpy: torch's per-call
overhead (~tens of µs) dominates a model this small, and a streaming detector
calls it every frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from rehab_core.errors import ShapeMismatchError
from rehab_core.reach.features import NUM_FEATURES
from rehab_core.reach.state import CLASSES

RN, RF, R, NOR = range(4)
WINDOW = 2
HIDDEN = 14


class BabyNet(nn.Module):
    """LSTM(F -> hidden) over (N, T, F), linear head on the last hidden state."""

    def __init__(self, num_features: int = NUM_FEATURES, hidden: int = HIDDEN,
                 num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.num_features = num_features
        self.hidden = hidden
        self.lstm = nn.LSTM(num_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (x.ndim != 3 or x.shape[-1] != self.num_features):
            raise ShapeMismatchError(
                f"BabyNet expects (N, T, {self.num_features}), got {tuple(x.shape)}"
            )
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class BabyMLP(nn.Module):
    """Baseline: MLP over the flattened (T, F) window (no recurrence)."""

    def __init__(self, num_features: int = NUM_FEATURES, window: int = WINDOW,
                 hidden: int = 32, num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.num_features = num_features
        self.window = window
        self.net = nn.Sequential(
            nn.Linear(num_features * window, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (
            x.ndim != 3 or tuple(x.shape[1:]) != (self.window, self.num_features)
        ):
            raise ShapeMismatchError(
                f"BabyMLP expects (N, {self.window}, {self.num_features}), got {tuple(x.shape)}"
            )
        return self.net(x.flatten(1))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable, one ufunc


class NumpyBabyNet:
    """Numpy forward pass of a trained :class:`BabyNet` (same gate order as torch: i, f, g, o)."""

    def __init__(self, state_dict: Mapping[str, torch.Tensor | np.ndarray]) -> None:
        def arr(key: str) -> np.ndarray:
            v = state_dict[key]
            return (v.detach().cpu().numpy() if isinstance(v, torch.Tensor)
                    else np.asarray(v)).astype(np.float64)

        self.w_ih = arr("lstm.weight_ih_l0").T.copy()  # (F, 4H)
        self.w_hh = arr("lstm.weight_hh_l0").T.copy()  # (H, 4H)
        self.b = arr("lstm.bias_ih_l0") + arr("lstm.bias_hh_l0")
        self.w_out = arr("head.weight").T.copy()  # (H, C)
        self.b_out = arr("head.bias")
        self.hidden = self.w_hh.shape[0]
        self.num_features = self.w_ih.shape[0]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, T, F) or (T, F) features -> (N, C) or (C,) logits."""
        x = np.asarray(x, np.float64)
        single = x.ndim == 2
        if single:
            x = x[None]
        if x.ndim != 3 or x.shape[-1] != self.num_features or x.shape[1] < 1:
            raise ShapeMismatchError(
                f"BabyNet expects (N, T>=1, {self.num_features}), got {x.shape}"
            )
        hd = self.hidden
        xw = x @ self.w_ih + self.b  # all input projections at once
        h = c = None
        for t in range(x.shape[1]):
            z = xw[:, t] if h is None else xw[:, t] + h @ self.w_hh
            s = _sigmoid(z)  # i, f, o from one call; g needs tanh
            g = np.tanh(z[:, 2 * hd:3 * hd])
            c = s[:, :hd] * g if c is None else s[:, hd:2 * hd] * c + s[:, :hd] * g
            h = s[:, 3 * hd:] * np.tanh(c)
        out = h @ self.w_out + self.b_out
        return out[0] if single else out

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)


class NumpyMLP:
    """Numpy forward pass of a trained :class:`BabyMLP` (Linear/ReLU stack)."""

    def __init__(self, state_dict: Mapping[str, torch.Tensor | np.ndarray]) -> None:
        keys = sorted({k.rsplit(".", 1)[0] for k in state_dict if k.startswith("net.")},
                      key=lambda k: int(k.split(".")[1]))
        self.layers = [
            (np.asarray(state_dict[f"{k}.weight"], np.float64).T.copy(),
             np.asarray(state_dict[f"{k}.bias"], np.float64))
            for k in keys
        ]
        if not self.layers:
            raise ShapeMismatchError("state dict has no net.N.weight layers (not a BabyMLP)")
        self.in_features = self.layers[0][0].shape[0]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        single = x.ndim == 2
        z = x.reshape(1 if single else x.shape[0], -1)
        if z.shape[1] != self.in_features:
            raise ShapeMismatchError(f"BabyMLP expects {self.in_features} inputs per window, "
                                     f"got {z.shape[1]}")
        for i, (w, b) in enumerate(self.layers):
            z = z @ w + b
            if i < len(self.layers) - 1:
                z = np.maximum(z, 0.0)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        p = z / z.sum(axis=-1, keepdims=True)
        return p[0] if single else p


class TorchClassifier:
    """Wraps any torch window classifier (e.g. the MLP) with the numpy interface."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model.eval()

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        single = x.ndim == 2
        with torch.inference_mode():
            p = torch.softmax(self.model(torch.from_numpy(x[None] if single else x)), -1)
        p = p.numpy().astype(np.float64)
        return p[0] if single else p
