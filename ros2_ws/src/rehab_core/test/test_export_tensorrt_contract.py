"""Engine building against a recording stand-in of the TensorRT 10 builder API (no GPU here).

Checks our side of the contract (parse → config flags → build_serialized_network
→ engine + cache sidecar, and the clear refusals); a real build needs a GPU.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.export.tensorrt import build_engine


def make_fake_trt(log, has_fp16=True, parse_ok=True):
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.9.0-fake"
    flags = {"INT8": "int8"} | ({"FP16": "fp16"} if has_fp16 else {})
    trt.BuilderFlag = types.SimpleNamespace(**flags)
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="workspace")

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    class Config:
        def set_memory_pool_limit(self, pool, size):
            log.append(("workspace", size))

        def set_flag(self, flag):
            log.append(("flag", flag))

    class Network:
        pass

    class Parser:
        num_errors = 1

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            log.append(("parse", len(data)))
            return parse_ok

        def get_error(self, i):
            return "Unsupported operator Foo"

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger):
            pass

        def create_network(self, flags):
            log.append(("create_network", flags))
            return Network()

        def create_builder_config(self):
            return Config()

        def build_serialized_network(self, network, config):
            log.append(("build",))
            return b"SERIALIZED"

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, Parser
    return trt


def test_fp16_build_writes_engine_and_sidecar(tmp_path, monkeypatch):
    log = []
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt(log))
    onnx_file = tmp_path / "pose.onnx"
    onnx_file.write_bytes(b"onnx-bytes")
    engine = build_engine(onnx_file, precision="fp16", workspace_gb=1)
    assert engine == tmp_path / "pose.fp16.engine"
    assert engine.read_bytes() == b"SERIALIZED"
    assert log == [("create_network", 0), ("parse", 10), ("workspace", 1 << 30),
                   ("flag", "fp16"), ("build",)]
    sidecar = json.loads((tmp_path / "pose.fp16.engine.json").read_text())
    assert sidecar["precision"] == "fp16" and sidecar["tensorrt_version"] == "10.9.0-fake"
    assert len(sidecar["model_sha256"]) == 64


def test_clear_refusals(tmp_path, monkeypatch):
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt([], has_fp16=False))
    with pytest.raises(ConfigError, match="removed in TensorRT 11"):
        build_engine(onnx_file, precision="fp16")
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt([], parse_ok=False))
    with pytest.raises(ModelLoadError, match="Unsupported operator Foo"):
        build_engine(onnx_file)
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt([]))
    with pytest.raises(ConfigError, match="int8 needs calibration_source"):
        build_engine(onnx_file, precision="int8")
    with pytest.raises(ConfigError, match="precision must be"):
        build_engine(onnx_file, precision="fp8")
