"""A trained ST-GCN on disk: weights, labels and the settings needed to feed it.

A bundle is a folder holding ``model.pt`` (torch: the model config and the
state dict), optionally ``model.onnx`` (for torch-free inference),
``labels.txt`` (one class per line, index order) and ``config.yaml`` (layout,
window, fps, normalisation, threshold, ...). The streaming classifier reads
the same ``config.yaml`` the trainer wrote, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rehab_core.errors import ModelLoadError

MODEL_PT = "model.pt"
MODEL_ONNX = "model.onnx"
LABELS = "labels.txt"
CONFIG = "config.yaml"


@dataclass
class ModelBundle:
    """Paths and settings of one bundle folder."""

    root: Path
    labels: list[str]
    config: dict = field(default_factory=dict)

    @property
    def torch_path(self) -> Path:
        return self.root / MODEL_PT

    @property
    def onnx_path(self) -> Path:
        return self.root / MODEL_ONNX

    @property
    def name(self) -> str:
        return str(self.config.get("name", self.root.name))


def read_labels(path: str | Path) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"labels file not found: {p}")
    labels = [line.strip() for line in p.read_text().splitlines() if line.strip()]
    if not labels:
        raise ModelLoadError(f"labels file is empty: {p}")
    return labels


def load_bundle(root: str | Path) -> ModelBundle:
    """Read a bundle folder's labels and config (weights are loaded by the user)."""
    path = Path(root)
    if not path.is_dir():
        raise ModelLoadError(f"model folder not found: {path}")
    config_path = path / CONFIG
    config = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    if not isinstance(config, dict):
        raise ModelLoadError(f"{config_path} must hold a mapping")
    if not (path / MODEL_PT).is_file() and not (path / MODEL_ONNX).is_file():
        raise ModelLoadError(f"no {MODEL_PT} or {MODEL_ONNX} in {path}")
    return ModelBundle(root=path, labels=read_labels(path / LABELS), config=config)


def save_torch_model(model, path: str | Path, extra: dict | None = None) -> None:
    """Save config + state dict (loadable with ``load_torch_model``)."""
    import torch

    payload = {"config": model.config.to_dict()}
    members = getattr(model, "members", None)
    if members is not None:  # a SeedEnsemble: one state dict per member
        payload["members"] = [m.state_dict() for m in members]
        payload["flip_channels"] = list(model.flip_channels)
    else:
        payload["state_dict"] = model.state_dict()
    if extra:
        payload["extra"] = extra
    torch.save(payload, Path(path))


def load_torch_model(path: str | Path):
    """Rebuild an ``STGCN`` (or a ``SeedEnsemble`` of them) from ``save_torch_model``
    output, in eval mode."""
    import torch

    from rehab_core.recognition.checkpoint import load_pretrained
    from rehab_core.recognition.stgcn import STGCN, STGCNConfig

    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"model weights not found: {p}")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelLoadError(f"cannot read {p}: {err}") from err
    if not isinstance(payload, dict) or "config" not in payload:
        raise ModelLoadError(f"{p} is not an ST-GCN model file written by save_torch_model")
    config = STGCNConfig.from_dict(payload["config"])
    if "members" in payload:
        from rehab_core.recognition.ensemble import SeedEnsemble

        members = []
        for state in payload["members"]:
            member = STGCN(config)
            load_pretrained(member, state, strict=True)
            members.append(member)
        return SeedEnsemble(members, payload.get("flip_channels", ())).eval()
    model = STGCN(config)
    load_pretrained(model, payload["state_dict"], strict=True)
    return model.eval()


def export_onnx(model, path: str | Path, window: int, opset: int = 17) -> Path:
    """Export for onnxruntime with a dynamic batch axis; input (N, C, window, V)."""
    import torch

    model = model.eval()
    cfg = model.config
    dummy = torch.zeros(1, cfg.in_channels, window, model.num_nodes)
    out = Path(path)
    torch.onnx.export(
        model, (dummy,), str(out), input_names=["skeleton"], output_names=["logits"],
        dynamic_axes={"skeleton": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset, dynamo=False,
    )
    return out
