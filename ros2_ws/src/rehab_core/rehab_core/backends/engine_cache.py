"""Where TensorRT engines live and when one is stale.

A TensorRT engine only runs on the TensorRT version and GPU it was built
for, and silently differs with precision. The cache key is therefore
sha256(model file) + TensorRT version + GPU name + compute capability +
precision; it is written next to the engine as ``<engine>.json`` and checked
on load, so an engine built elsewhere is refused with a message that says
what changed, instead of crashing or running with wrong numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rehab_core.errors import ModelLoadError

SIDE_CAR_SUFFIX = ".json"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on."""

    model_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def differences(self, other: EngineKey) -> list[str]:
        mine, theirs = asdict(self), asdict(other)
        return [f"{k}: engine {theirs[k]!r} vs here {mine[k]!r}" for k in mine
                if mine[k] != theirs[k]]


def current_gpu() -> tuple[str, str]:
    """(GPU name, "major.minor") of device 0 via torch or cuda-python; ("none", "0.0") if none."""
    try:
        import torch

        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability(0)
            return torch.cuda.get_device_name(0), f"{major}.{minor}"
    except ImportError:
        pass
    try:
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart
        err, props = cudart.cudaGetDeviceProperties(0)
        if int(err) == 0:
            name = props.name.decode(errors="replace").rstrip("\x00")
            return name, f"{props.major}.{props.minor}"
    except ImportError:
        pass
    return "none", "0.0"


def current_key(model_path: str | Path, precision: str, tensorrt_version: str) -> EngineKey:
    gpu, capability = current_gpu()
    return EngineKey(file_sha256(model_path), tensorrt_version, gpu, capability, precision)


def engine_path_for(
    model_path: str | Path, precision: str, tensorrt_version: str, cache_dir: str | Path
) -> tuple[Path, EngineKey]:
    """Cache location ``<cache_dir>/<model stem>-<precision>-<key digest>.engine`` and its key."""
    key = current_key(model_path, precision, tensorrt_version)
    name = f"{Path(model_path).stem}-{precision}-{key.digest()}.engine"
    return Path(cache_dir) / name, key


def write_sidecar(engine_path: str | Path, key: EngineKey) -> Path:
    sidecar = Path(str(engine_path) + SIDE_CAR_SUFFIX)
    sidecar.write_text(json.dumps(asdict(key), indent=2, sort_keys=True))
    return sidecar


def read_sidecar(engine_path: str | Path) -> EngineKey | None:
    sidecar = Path(str(engine_path) + SIDE_CAR_SUFFIX)
    if not sidecar.is_file():
        return None
    try:
        return EngineKey(**json.loads(sidecar.read_text()))
    except (ValueError, TypeError) as err:
        raise ModelLoadError(f"engine metadata {sidecar} is unreadable: {err}") from err


def check_engine_key(engine_path: str | Path, expected: EngineKey, model_known: bool) -> None:
    """Raise ``ModelLoadError`` when the engine's recorded key differs from ``expected``.

    With ``model_known=False`` the source model's hash is not compared (only
    the runtime/GPU fields), because the ONNX file may not be on this machine.
    """
    recorded = read_sidecar(engine_path)
    if recorded is None:
        return
    diffs = expected.differences(recorded)
    if not model_known:
        diffs = [d for d in diffs if not d.startswith("model_sha256")]
    if diffs:
        raise ModelLoadError(
            f"stale TensorRT engine {engine_path}: " + "; ".join(diffs)
            + ". Rebuild it with `rehab export engine`."
        )


def check_engine_sidecar(engine_path: str | Path) -> None:
    """Refuse an engine whose sidecar names another TensorRT version or GPU than this one."""
    recorded = read_sidecar(engine_path)
    if recorded is None:
        return
    try:
        import tensorrt

        version = tensorrt.__version__
    except ImportError:
        version = recorded.tensorrt_version
    gpu, capability = current_gpu()
    here = EngineKey(recorded.model_sha256, version, gpu, capability, recorded.precision)
    check_engine_key(engine_path, here, model_known=True)
