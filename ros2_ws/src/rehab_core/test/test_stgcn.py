"""ST-GCN model: size of the Kinetics setting, shapes, checkpoint loading, ONNX parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rehab_core.errors import ModelLoadError, ShapeMismatchError
from rehab_core.recognition.benchmark import stgcn_latency
from rehab_core.recognition.checkpoint import load_pretrained, map_reference_key
from rehab_core.recognition.model_bundle import export_onnx, load_torch_model, save_torch_model
from rehab_core.recognition.stgcn import STGCN, STGCNConfig, count_parameters

torch.set_num_threads(1)

# Published Kinetics ST-GCN: ~3.1 M parameters (openpose18, spatial, edge importance).
KINETICS_PARAMS = 3.1e6


def _kinetics() -> STGCN:
    return STGCN(STGCNConfig(num_classes=400, in_channels=3, layout="openpose18",
                             strategy="spatial", edge_importance=True))


def test_kinetics_parameter_count_matches_paper():
    n = count_parameters(_kinetics())
    print(f"ST-GCN Kinetics parameters: {n:,}")
    assert abs(n - KINETICS_PARAMS) / KINETICS_PARAMS < 0.04


def test_forward_accepts_persons_axis_and_single_person():
    model = STGCN(STGCNConfig(num_classes=5, layout="coco17", width=0.25)).eval()
    x = torch.randn(2, 3, 30, 17)
    out4 = model(x)
    out5 = model(torch.stack([x, x], dim=-1))  # two identical persons average to one
    assert out4.shape == (2, 5)
    torch.testing.assert_close(out4, out5, atol=1e-5, rtol=1e-5)
    with pytest.raises(ShapeMismatchError):
        model(torch.randn(1, 3, 30, 18))


def test_strides_halve_time_twice_and_extra_fc_head():
    model = STGCN(STGCNConfig(num_classes=3, width=0.25, extra_fc=512, classifier="fc")).eval()
    assert model(torch.randn(1, 3, 32, 17)).shape == (1, 3)
    assert sum(b.tcn[2].stride[0] == 2 for b in model.blocks) == 2
    assert len(model.blocks) == 10


def _as_reference_state(model: STGCN) -> dict[str, torch.Tensor]:
    """Our weights under the published implementation's key names (DataParallel style)."""
    rename = {"input_bn.": "data_bn.", "blocks.": "st_gcn_networks.", "classifier.": "fcn."}
    out = {}
    for key, value in model.state_dict().items():
        for ours, ref in rename.items():
            if key.startswith(ours):
                key = ref + key[len(ours):]
        out["module." + key] = value.clone()
    return out


def test_reference_key_names_map_onto_ours():
    assert map_reference_key("module.st_gcn_networks.3.gcn.conv.weight") == \
        "blocks.3.gcn.conv.weight"
    assert map_reference_key("st_gcn_networks.0.tcn.2.bias") == "blocks.0.tcn.2.bias"
    assert map_reference_key("edge_importance.9") == "edge_importance.9"
    assert map_reference_key("data_bn.running_mean") == "input_bn.running_mean"
    assert map_reference_key("fcn.weight") == "classifier.weight"


def test_load_reference_checkpoint_full_and_partial():
    torch.manual_seed(0)
    source = _kinetics().eval()
    # Make batch-norm statistics non-trivial so a wrong mapping would show.
    with torch.no_grad():
        for m in source.modules():
            if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.9, 1.1)
    ref_state = _as_reference_state(source)
    assert "module.st_gcn_networks.4.residual.0.weight" in ref_state
    assert "module.st_gcn_networks.0.gcn.conv.weight" in ref_state

    target = _kinetics().eval()
    report = load_pretrained(target, ref_state, strict=True)
    assert not report.missing and not report.shape_mismatch
    x = torch.randn(1, 3, 20, 18, 2)
    torch.testing.assert_close(target(x), source(x))

    # Another class count: everything but the classifier loads, and the report says so.
    small = STGCN(STGCNConfig(num_classes=5, layout="openpose18"))
    report = load_pretrained(small, ref_state, strict=False)
    assert set(report.missing) == {"classifier.weight", "classifier.bias"}
    assert len(report.shape_mismatch) == 2
    torch.testing.assert_close(small.blocks[5].tcn[2].weight, source.blocks[5].tcn[2].weight)
    with pytest.raises(ModelLoadError, match="strict"):
        load_pretrained(STGCN(STGCNConfig(num_classes=5, layout="openpose18")), ref_state,
                        strict=True)


def test_load_pretrained_from_file_and_bad_file(tmp_path):
    model = STGCN(STGCNConfig(num_classes=4, width=0.25))
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": model.state_dict()}, path)
    report = load_pretrained(STGCN(STGCNConfig(num_classes=4, width=0.25)), path, strict=True)
    assert len(report.loaded) == len(model.state_dict())
    with pytest.raises(ModelLoadError):
        load_pretrained(model, tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError):
        load_pretrained(model, tmp_path / "junk.pt")


def test_save_load_and_onnx_parity(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = STGCN(STGCNConfig(num_classes=5, width=0.5)).eval()
    save_torch_model(model, tmp_path / "model.pt")
    again = load_torch_model(tmp_path / "model.pt")
    x = torch.randn(3, 3, 30, 17)
    torch.testing.assert_close(again(x), model(x))
    export_onnx(model, tmp_path / "model.onnx", window=30)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"skeleton": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), atol=1e-4)


def test_latency_benchmark_prints_numbers():
    """Prints latency (no timing assert: the CI machine is shared)."""
    pytest.importorskip("onnxruntime")
    for width in (0.25, 1.0):
        result = stgcn_latency(width=width, runs=10)
        print(f"ST-GCN width {width}, 30-frame window, coco17: {result}")
        assert set(result) == {"torch_ms", "onnxruntime_ms"}
        assert all(v > 0 for v in result.values())


def test_motion_channels_are_frame_changes_and_ignore_dropouts():
    from rehab_core.recognition.stgcn import with_motion

    x = torch.zeros(1, 2, 4, 3, 1)
    x[0, :, :, 0, 0] = torch.tensor([[1.0, 2.0, 4.0, 7.0], [0.0, 0.0, 0.0, 0.0]])
    x[0, 0, :, 1, 0] = torch.tensor([1.0, 0.0, 5.0, 6.0])  # joint 1 drops out at frame 1
    step = with_motion(x)[0, :, :, :, 0]
    assert step[0, :, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert step[0, :, 1].tolist() == [0.0, 0.0, 0.0, 1.0]  # no jump in or out of a dropout
    assert not step[1].any() and not step[:, :, 2].any()


def test_motion_model_keeps_the_plain_input_contract(tmp_path):
    """A motion model takes the same (N, C, T, V) window, saves, loads and exports."""
    ort = pytest.importorskip("onnxruntime")
    model = STGCN(STGCNConfig(num_classes=4, in_channels=6, channels=(8, 8), strides=(1, 2),
                              motion=True)).eval()
    assert model.input_bn.num_features == 12 * 17
    x = torch.randn(2, 6, 30, 17)
    save_torch_model(model, tmp_path / "model.pt")
    again = load_torch_model(tmp_path / "model.pt")
    assert again.config.motion
    torch.testing.assert_close(again(x), model(x))
    still = x.clone()
    still[:] = x[:, :, :1]  # a motionless window differs from a moving one with its first frame
    assert not torch.allclose(model(still), model(x))
    export_onnx(model, tmp_path / "model.onnx", window=30)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"skeleton": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), atol=1e-4)
