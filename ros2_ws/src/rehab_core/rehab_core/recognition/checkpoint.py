"""Load published ST-GCN checkpoints (and our own) onto ``STGCN``, key by key.

The reference implementation names the top-level modules ``data_bn``,
``st_gcn_networks.N``, ``edge_importance.N`` and ``fcn``; ours are
``input_bn``, ``blocks.N``, ``edge_importance.N`` and ``classifier``, with the
same inner names. Checkpoints saved from ``nn.DataParallel`` carry a
``module.`` prefix. Partial loading keeps only the keys whose shapes match, so
a Kinetics backbone (openpose18, 400 classes) can seed a model for another
class list; the report says exactly what was loaded and what was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from rehab_core.errors import ModelLoadError

_RENAMES = (
    ("data_bn.", "input_bn."),
    ("st_gcn_networks.", "blocks."),
    ("fcn.", "classifier."),
)


@dataclass
class LoadReport:
    """What ``load_pretrained`` did with each key."""

    loaded: list[str] = field(default_factory=list)
    shape_mismatch: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"loaded {len(self.loaded)} tensors; skipped {len(self.shape_mismatch)} "
                f"(shape mismatch), {len(self.unexpected)} (not in model); "
                f"{len(self.missing)} model tensors left at their initial values")


def map_reference_key(key: str) -> str:
    """Our name for a reference (or DataParallel) state-dict key."""
    while key.startswith("module."):
        key = key[len("module."):]
    for old, new in _RENAMES:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def _read_state_dict(path_or_state: str | Path | Mapping) -> Mapping[str, torch.Tensor]:
    if isinstance(path_or_state, Mapping):
        state = path_or_state
    else:
        path = Path(path_or_state)
        if not path.is_file():
            raise ModelLoadError(f"checkpoint not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types for a bad file
            raise ModelLoadError(f"cannot read checkpoint {path}: {err}") from err
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise ModelLoadError(f"checkpoint is not a state dict (got {type(state).__name__})")
    return state


def load_pretrained(
    model: nn.Module, path_or_state_dict: str | Path | Mapping, strict: bool = False
) -> LoadReport:
    """Copy matching tensors from a checkpoint into ``model``; return what happened.

    With ``strict=True`` any skipped or missing tensor raises ``ModelLoadError``
    (use it for our own checkpoints); with ``strict=False`` the shape-matching
    subset is loaded (use it for transfer learning from a published model).
    """
    source = _read_state_dict(path_or_state_dict)
    target = model.state_dict()
    report = LoadReport()
    new_state = {}
    for key, value in source.items():
        if not isinstance(value, torch.Tensor):
            continue
        ours = map_reference_key(key)
        if ours not in target:
            report.unexpected.append(key)
        elif tuple(target[ours].shape) != tuple(value.shape):
            report.shape_mismatch.append(
                f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(target[ours].shape)}")
        else:
            new_state[ours] = value
            report.loaded.append(ours)
    report.missing = [k for k in target if k not in new_state]
    if strict and (report.shape_mismatch or report.unexpected or report.missing):
        problems = (report.shape_mismatch + report.unexpected + report.missing)[:5]
        raise ModelLoadError(
            f"strict checkpoint load failed: {report.summary()}; first problems: {problems}")
    model.load_state_dict(new_state, strict=False)
    return report
