"""Build and export ultralytics YOLO pose/detect models to ONNX, offline.

``export_yolo_onnx`` turns a local ``.pt`` checkpoint or a model ``.yaml``
(random init) into an ONNX file at a path we choose. ``random_yolo`` builds a
reproducible random-init model for tests and benchmarks: plain random init
makes activations vanish through the deep backbone (every score ≈ the bias),
so BatchNorm statistics are re-estimated on seeded noise images and the class
bias is zeroed; the network then produces spread-out scores, boxes and
keypoints, which is what decode/parity tests and timings need. Nothing here
downloads (see ``ultralytics_offline``).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.export.ultralytics_offline import import_ultralytics

TASK_YAML = {"pose": "yolo11-pose.yaml", "detect": "yolo11.yaml"}


def _yaml_for(task: str, variant: str, nc: int, out_dir: Path) -> Path:
    """A copy of ultralytics' model yaml with ``nc`` set, named so the scale is inferred."""
    import yaml

    ultralytics = import_ultralytics()
    if task not in TASK_YAML:
        raise ConfigError(f"task must be one of {sorted(TASK_YAML)}, got {task!r}")
    src = Path(ultralytics.__file__).parent / "cfg/models/11" / TASK_YAML[task]
    cfg = yaml.safe_load(src.read_text())
    cfg["nc"] = int(nc)
    suffix = "-pose" if task == "pose" else ""
    path = out_dir / f"{variant}{suffix}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _calibration_images(imgsz: int, seed: int) -> Any:
    """Seeded image-like scenes: smooth backgrounds, flat boxes, letterbox bands, some noise.

    BatchNorm statistics from white noise alone do not transfer to photos (flat
    regions and edges blow activations up), so the scenes mimic those.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    n = 8
    coarse = torch.rand(n, 3, 5, 5, generator=gen)
    images = torch.nn.functional.interpolate(coarse, size=(imgsz, imgsz), mode="bilinear")
    for k in range(n):
        for _ in range(6):
            x0, y0 = (int(v) for v in torch.randint(0, imgsz - 16, (2,), generator=gen))
            w, h = (int(v) for v in torch.randint(8, imgsz // 2, (2,), generator=gen))
            images[k, :, y0 : y0 + h, x0 : x0 + w] = torch.rand(3, 1, 1, generator=gen)
        band = int(torch.randint(0, imgsz // 4, (1,), generator=gen))
        images[k, :, :band] = 114 / 255
        images[k, :, imgsz - band :] = 114 / 255
    images[: n // 2] += 0.05 * torch.randn(n // 2, 3, imgsz, imgsz, generator=gen)
    return images.clamp(0, 1)


def _scale_class_logits(net: Any, images: Any, target_std: float) -> None:
    """Rescale the class convolutions so class logits have ``target_std`` (no saturation)."""
    import torch

    head = net.model[-1]
    logits: list = []
    hooks = [b[-1].register_forward_hook(lambda m, i, o: logits.append(o.flatten()))
             for b in head.cv3]
    net(images)
    for hook in hooks:
        hook.remove()
    std = float(torch.cat(logits).std())
    for branch in head.cv3:
        branch[-1].weight.mul_(target_std / max(std, 1e-6))


def random_yolo(
    task: str = "pose",
    variant: str = "yolo11n",
    nc: int | None = None,
    imgsz: int = 320,
    seed: int = 0,
    work_dir: str | Path | None = None,
) -> Any:
    """A reproducible random-init ``ultralytics.YOLO`` with non-degenerate outputs.

    ``nc`` defaults to 1 ("person") for pose and 4 for detect.
    """
    import tempfile

    import torch

    ultralytics = import_ultralytics()
    nc = nc if nc is not None else (1 if task == "pose" else 4)
    out_dir = Path(work_dir or tempfile.mkdtemp(prefix="rehab_yolo_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = ultralytics.YOLO(str(_yaml_for(task, variant, nc, out_dir)), task=task)
        net = model.model
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative: one pass sets the batch statistics
        calib = _calibration_images(imgsz, seed)
        net.train()
        with torch.no_grad():
            net(calib)
        net.eval()
        with torch.no_grad():
            for branch in net.model[-1].cv3:
                torch.nn.init.zeros_(branch[-1].bias)
            _scale_class_logits(net, calib, target_std=1.0)
    finally:
        torch.random.set_rng_state(state)
    model.model.names = {i: ("person" if task == "pose" and nc == 1 else f"class{i}")
                         for i in range(nc)}
    return model


def export_yolo_onnx(
    model: str | Path | Any,
    output: str | Path,
    imgsz: int = 640,
    dynamic: bool = False,
    opset: int | None = None,
    simplify: bool = False,
    half: bool = False,
) -> Path:
    """Export a ``.pt`` / ``.yaml`` path or a ``YOLO`` object to ONNX at ``output``."""
    ultralytics = import_ultralytics()
    output = Path(output)
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        if path.suffix not in (".pt", ".yaml", ".yml"):
            raise ModelLoadError(f"expected a .pt or .yaml model, got {path.name}")
        model = ultralytics.YOLO(str(path))
    if imgsz % 32:
        raise ConfigError(f"imgsz must be a multiple of 32, got {imgsz}")
    output.parent.mkdir(parents=True, exist_ok=True)
    # ultralytics writes next to ``pt_path``: point it into the output folder
    model.model.pt_path = str(output.with_suffix(".pt"))
    kwargs: dict[str, Any] = {"format": "onnx", "imgsz": imgsz, "dynamic": dynamic,
                              "simplify": simplify, "verbose": False}
    if half:
        kwargs["half"] = True
    if opset:
        kwargs["opset"] = opset
    try:
        written = Path(model.export(**kwargs))
    except Exception as err:  # ultralytics raises many kinds; the message says what failed
        raise ModelLoadError(f"ultralytics ONNX export failed: {err}") from err
    if written.resolve() != output.resolve():
        shutil.move(str(written), output)
    return output


def cached_random_yolo_onnx(
    cache_dir: str | Path,
    task: str = "pose",
    variant: str = "yolo11n",
    imgsz: int = 320,
    nc: int | None = None,
    seed: int = 0,
    dynamic: bool = False,
) -> Path:
    """Export ``random_yolo(...)`` once into ``cache_dir``; later calls reuse the file."""
    ultralytics = import_ultralytics()
    key = f"{task}-{variant}-{imgsz}-{nc}-{seed}-{dynamic}-{ultralytics.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    output = Path(cache_dir) / f"{variant}-{task}-{imgsz}-{digest}.onnx"
    if output.is_file():
        return output
    work = Path(cache_dir) / f"work-{digest}"
    model = random_yolo(task, variant, nc, imgsz, seed, work)
    export_yolo_onnx(model, output, imgsz=imgsz, dynamic=dynamic)
    shutil.rmtree(work, ignore_errors=True)
    return output


def export_random_yolo_pair(output: str | Path, task: str = "pose", variant: str = "yolo11n",
                            imgsz: int = 640, seed: int = 0) -> tuple[Path, Path]:
    """``random_yolo`` written twice: ``output`` (ONNX, for our stack) and its ``.pt`` sibling.

    Why: comparing our pipeline with ultralytics' own ``predict`` needs the
    same weights in both forms, and no pretrained YOLO-pose file can be
    downloaded here. Returns (onnx, pt).
    """
    import contextlib
    import io

    output = Path(output)
    if output.suffix != ".onnx":
        raise ConfigError(f"output must be a .onnx path, got {output.name}")
    output.parent.mkdir(parents=True, exist_ok=True)
    work = output.parent / f"work-{output.stem}"
    with contextlib.redirect_stdout(io.StringIO()):
        model = random_yolo(task, variant, None, imgsz, seed, work)
        pt = output.with_suffix(".pt")
        model.save(str(pt))
        export_yolo_onnx(model, output, imgsz=imgsz)
    shutil.rmtree(work, ignore_errors=True)
    return output, pt
