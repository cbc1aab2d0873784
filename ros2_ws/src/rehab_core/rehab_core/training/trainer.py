"""A small, dependable training loop for classifiers over windowed samples.

Shared by the model families (ST-GCN here; others can reuse it): AdamW or
SGD, class-balanced cross-entropy (short clips would otherwise be drowned by
long ones), a tqdm progress bar, per-epoch train/validation loss and
accuracy, keeping the best-validation weights, and transfer learning: train
only the head for ``freeze_epochs`` (a pretrained backbone is not wrecked by
a random head's early gradients), then unfreeze everything at half the
learning rate.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from rehab_core.errors import ConfigError


@dataclass
class TrainConfig:
    """Optimisation settings (saved with the model for reproducibility)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.9
    freeze_epochs: int = 0
    balance_classes: bool = True
    label_smoothing: float = 0.0
    seed: int = 0
    num_threads: int = 1
    progress: bool = True
    keep_best: bool = True
    #: epochs after which the learning rate is multiplied by ``lr_gamma`` (step decay)
    lr_steps: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    #: recognition training: epochs on the synthetic (procedural) windows alone before the
    #: real ones (pre-training, then fine-tuning on real data); 0: all windows mixed
    pretrain_epochs: int = 0

    def __post_init__(self) -> None:
        self.lr_steps = tuple(int(s) for s in self.lr_steps)
        if not 0.0 < self.lr_gamma <= 1.0:
            raise ConfigError(f"lr_gamma must be in (0, 1], got {self.lr_gamma}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ConfigError(f"optimizer must be adamw or sgd, got {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("epochs, batch_size and lr must be positive")
        if self.pretrain_epochs < 0:
            raise ConfigError(f"pretrain_epochs must be >= 0, got {self.pretrain_epochs}")
        if not 0 <= self.freeze_epochs <= self.epochs:
            raise ConfigError("freeze_epochs must be between 0 and epochs")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lr_steps"] = list(self.lr_steps)
        return d


def thesis_sgd(epochs: int, **overrides: object) -> TrainConfig:
    """The rehab thesis's recipe: SGD (momentum 0.9), base LR 0.01, x0.1 at 1/2 and 3/4."""
    steps = tuple(sorted({max(1, epochs // 2), max(1, 3 * epochs // 4)}))
    base = {"epochs": epochs, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
            "weight_decay": 1e-4, "lr_steps": steps, "lr_gamma": 0.1}
    return TrainConfig(**{**base, **overrides})


@dataclass
class EpochLog:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    frozen: bool


@dataclass
class TrainHistory:
    epochs: list[EpochLog] = field(default_factory=list)
    best_epoch: int = -1

    def to_list(self) -> list[dict]:
        return [asdict(e) for e in self.epochs]


def _head_parameters(model: nn.Module) -> list[nn.Parameter]:
    if hasattr(model, "classifier_parameters"):
        return list(model.classifier_parameters())
    raise ConfigError("freeze_epochs needs a model with classifier_parameters()")


def _make_optimizer(params, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, nesterov=True)
    return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)


def class_weights(y: np.ndarray, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights (mean 1 over present classes; absent classes 0)."""
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    w = np.zeros(num_classes)
    present = counts > 0
    w[present] = counts[present].sum() / (present.sum() * counts[present])
    return torch.tensor(w, dtype=torch.float32)


def _batches(n: int, batch_size: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, batch_size):
        yield order[s:s + batch_size]


def predict_proba(model: nn.Module, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Softmax scores (N, classes) of samples ``x`` in eval mode."""
    model.eval()
    out = []
    with torch.inference_mode():
        for idx in _batches(len(x), batch_size, None):
            out.append(torch.softmax(model(torch.from_numpy(x[idx])), dim=1).numpy())
    if not out:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(out)


def _evaluate_loss(model, x, y, loss_fn, batch_size) -> tuple[float, float]:
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.inference_mode():
        for idx in _batches(len(x), batch_size, None):
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            logits = model(xb)
            total += float(loss_fn(logits, yb)) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            n += len(idx)
    return total / max(n, 1), correct / max(n, 1)


def train_classifier(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    cfg: TrainConfig,
    num_classes: int,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
    log: Callable[[str], None] | None = print,
    desc: str = "train",
) -> TrainHistory:
    """Train ``model`` in place on (N, ...) samples; returns the per-epoch history.

    With ``keep_best`` and a validation set, the weights of the epoch with the
    lowest validation loss are restored at the end (the epoch is in the
    history); without validation the last weights are kept.
    """
    if len(x_train) == 0:
        raise ConfigError("no training samples")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.num_threads))
    rng = np.random.default_rng(cfg.seed)
    weights = class_weights(y_train, num_classes) if cfg.balance_classes else None
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.label_smoothing)
    eval_loss_fn = nn.CrossEntropyLoss()
    history = TrainHistory()
    best_state, best_loss = None, math.inf
    has_val = x_val is not None and y_val is not None and len(x_val) > 0

    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs, desc=desc, unit="epoch", leave=False)

    optimizer = None
    for epoch in range(cfg.epochs):
        frozen = epoch < cfg.freeze_epochs
        if epoch == 0 or epoch == cfg.freeze_epochs:
            head = {id(p) for p in _head_parameters(model)} if cfg.freeze_epochs else set()
            for p in model.parameters():
                p.requires_grad_(not frozen or id(p) in head)
            lr = cfg.lr if (frozen or cfg.freeze_epochs == 0) else cfg.lr / 2
            optimizer = _make_optimizer([p for p in model.parameters() if p.requires_grad],
                                        cfg, lr)
        model.train()
        total, correct, n = 0.0, 0, 0
        for idx in _batches(len(x_train), cfg.batch_size, rng):
            if len(idx) < 2:  # batch norm cannot train on one sample
                continue
            xb = x_train[idx]
            if augment is not None:
                xb = np.stack([augment(s) for s in xb]).astype(np.float32)
            xb_t, yb = torch.from_numpy(np.ascontiguousarray(xb)), torch.from_numpy(y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb_t)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            n += len(idx)
        train_loss, train_acc = total / max(n, 1), correct / max(n, 1)
        val_loss = val_acc = None
        if has_val:
            val_loss, val_acc = _evaluate_loss(model, x_val, y_val, eval_loss_fn, 128)
            if cfg.keep_best and val_loss < best_loss:
                best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
                history.best_epoch = epoch
        entry = EpochLog(epoch, train_loss, train_acc, val_loss, val_acc,
                         optimizer.param_groups[0]["lr"], frozen)
        history.epochs.append(entry)
        if epoch + 1 in cfg.lr_steps:
            for group in optimizer.param_groups:
                group["lr"] *= cfg.lr_gamma
        if bar is not None:
            post = {"loss": f"{train_loss:.3f}", "acc": f"{train_acc:.2f}"}
            if has_val:
                post.update(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.2f}")
            bar.set_postfix(post)
            bar.update(1)
        elif log is not None:
            msg = f"{desc} epoch {epoch + 1}/{cfg.epochs} loss {train_loss:.3f} acc {train_acc:.2f}"
            if has_val:
                msg += f" val_loss {val_loss:.3f} val_acc {val_acc:.2f}"
            log(msg)
    if bar is not None:
        bar.close()
    for p in model.parameters():
        p.requires_grad_(True)
    if best_state is not None:
        model.load_state_dict(best_state)
    elif not has_val:
        history.best_epoch = cfg.epochs - 1
    return history


def labels_index(labels: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Indices of ``names`` in ``labels`` (ConfigError naming the first unknown)."""
    out = []
    for n in names:
        if n not in labels:
            raise ConfigError(f"label {n!r} not in {list(labels)}")
        out.append(labels.index(n))
    return np.asarray(out, np.int64)
