"""The seed ensemble: mean of member probabilities, mirror averaging, saving, ONNX, and the
leave-sources-out run that scores the ensemble beside each member."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_recognition_pipeline import LABELS, synthetic_clips
from test_repetition_new_configs import filmed

from rehab_core.datasets.augment import flip_horizontal
from rehab_core.errors import ConfigError
from rehab_core.recognition.ensemble import SeedEnsemble
from rehab_core.recognition.model_bundle import export_onnx, load_torch_model, save_torch_model
from rehab_core.recognition.stgcn import STGCN, STGCNConfig
from rehab_core.recognition.streaming import StreamingClassifier
from rehab_core.training.live_smoothing import LiveSmoothing
from rehab_core.training.recognition import leave_sources_out, recognition_spec, train_bundle
from rehab_core.training.recognition_data import RecognitionData
from rehab_core.training.recognition_eval import summarize_clips
from rehab_core.training.recognition_folds import recount_run
from rehab_core.types import Skeleton


def _members(n: int, in_channels: int = 6) -> list[STGCN]:
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        cfg = STGCNConfig(num_classes=4, in_channels=in_channels, channels=(8, 8),
                          strides=(1, 2))
        out.append(STGCN(cfg).eval())
    return out


def _windows(n: int = 3, c: int = 6) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, c, 30, 17)).astype(np.float32)


def test_ensemble_answers_the_mean_of_its_members_probabilities():
    members = _members(3)
    x = torch.from_numpy(_windows())
    with torch.inference_mode():
        expected = torch.stack([torch.softmax(m(x), 1) for m in members]).mean(0)
        got = torch.softmax(SeedEnsemble(members)(x), 1)
    assert torch.allclose(got, expected, atol=1e-5)


def test_mirrored_ensemble_gives_a_window_and_its_mirror_the_same_answer():
    ens = SeedEnsemble(_members(2), flip_channels=(0, 3)).eval()
    x = _windows()
    mirrored = np.stack([flip_horizontal(w, "coco17", (0, 3)) for w in x])
    with torch.inference_mode():
        a = torch.softmax(ens(torch.from_numpy(x)), 1)
        b = torch.softmax(ens(torch.from_numpy(mirrored)), 1)
    assert torch.allclose(a, b, atol=1e-5)


def test_members_must_share_one_config_and_flip_channels_must_exist():
    with pytest.raises(ConfigError, match="share one model config"):
        SeedEnsemble([_members(1)[0], _members(1, in_channels=3)[0]])
    with pytest.raises(ConfigError, match="flip channel 6"):
        SeedEnsemble(_members(1), flip_channels=(6,))
    with pytest.raises(ConfigError, match="at least one"):
        SeedEnsemble([])


def test_ensemble_saves_loads_and_exports_to_onnx_alike(tmp_path):
    import onnxruntime as ort

    ens = SeedEnsemble(_members(2), flip_channels=(0, 3)).eval()
    save_torch_model(ens, tmp_path / "model.pt")
    loaded = load_torch_model(tmp_path / "model.pt")
    assert isinstance(loaded, SeedEnsemble) and loaded.flip_channels == (0, 3)
    x = _windows()
    with torch.inference_mode():
        ref = ens(torch.from_numpy(x)).numpy()
        assert np.allclose(loaded(torch.from_numpy(x)).numpy(), ref, atol=1e-5)
    export_onnx(ens, tmp_path / "model.onnx", 30)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(None, {"skeleton": x})[0], ref, atol=1e-4)


def test_ensemble_leave_sources_out_scores_members_beside_it_and_ships_it(tmp_path):
    clips = synthetic_clips()
    data = RecognitionData(labels=LABELS, views=1, max_windows_per_rendering=15)
    spec = recognition_spec(data, "adamw", epochs=1)
    out = tmp_path / "eval"
    summary = leave_sources_out(clips, data, spec, out, folds=0, log=lambda m: None,
                                seeds=[0, 1], flip=True, jobs=2)
    assert summary["ensemble"] == {"seeds": [0, 1], "flip": True}
    assert summary["clips"] == 9 and summary["variant"] == "main"
    for name in ("seed0", "seed1", "mean_no_flip"):
        member = json.loads((out / "variants" / name / "summary.json").read_text())
        assert member["clips"] == 9 and member["variant"] == name
    for fold in json.loads((out / "folds.json").read_text()):
        assert not set(fold["held_out_sources"]) & set(fold["train_sources"])
    again = recount_run(out, clips, data, log=lambda m: None)  # same counter: same counts
    assert again["recounted"] and again["count_exact"] == summary["count_exact"]
    assert again["other_false_reps_per_min"] == summary["other_false_reps_per_min"]
    rows = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    assert all(len(r["window_probs"]) == r["windows"] for r in rows)
    # windows labelled again from their stored probabilities: none is sure enough at 1.01
    strict = recount_run(out, clips, data, log=lambda m: None, threshold=1.01,
                         out_dir=tmp_path / "strict")
    assert strict["threshold"] == 1.01 and strict["video_accuracy"] == 3 / 9  # unknown clips
    assert (tmp_path / "strict" / "variants" / "seed1" / "summary.json").is_file()
    # a run averaged with itself (as with the 2-D input's run on the same folds) is itself
    mixed = recount_run(out, clips, data, log=lambda m: None, mix=out, out_dir=tmp_path / "mix")
    assert mixed["mixed_with"]["weight"] == 0.5
    assert mixed["video_accuracy"] == summary["video_accuracy"]
    assert not (tmp_path / "mix" / "variants").exists()  # the members are not mixed
    # a smaller ensemble from the stored members: the first seed alone is that member's run
    first = recount_run(out, clips, data, log=lambda m: None, members=1, mix=out,
                        out_dir=tmp_path / "first")
    alone = json.loads((out / "variants" / "seed0" / "summary.json").read_text())
    assert first["members"] == 1
    assert first["window_accuracy"] == alone["window_accuracy"]
    assert first["video_accuracy"] == alone["video_accuracy"]
    # the live smoothing emulated: with no averaging and no hold it is the plain relabel
    plain = recount_run(out, clips, data, log=lambda m: None, threshold=0.5,
                        out_dir=tmp_path / "plain")
    none = recount_run(out, clips, data, log=lambda m: None, out_dir=tmp_path / "none",
                       smoothing=LiveSmoothing(ema_alpha=1.0, hysteresis=1))
    assert none["live_smoothing"]["ema_alpha"] == 1.0
    assert (none["window_accuracy"], none["video_accuracy"]) == (
        plain["window_accuracy"], plain["video_accuracy"])
    for wrong in (0, 3):
        with pytest.raises(ConfigError, match="stores 2 members"):
            recount_run(out, clips, data, log=lambda m: None, members=wrong,
                        out_dir=tmp_path / "y")
    other = tmp_path / "other_folds"
    other.mkdir()
    (other / "clips.jsonl").write_text((out / "clips.jsonl").read_text())
    (other / "folds.json").write_text(json.dumps([{"held_out_sources": ["elsewhere"]}]))
    with pytest.raises(ConfigError, match="held out other sources"):
        recount_run(out, clips, data, log=lambda m: None, mix=other, out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="seeds must differ"):
        leave_sources_out(clips, data, spec, out, seeds=[1, 1], log=lambda m: None)
    model_dir = tmp_path / "bundle"
    meta = train_bundle(clips, data, spec, model_dir, log=lambda m: None, seeds=[0, 1], flip=True)
    assert meta["ensemble"] == {"seeds": [0, 1], "flip": True}
    assert isinstance(load_torch_model(model_dir / "model.pt"), SeedEnsemble)
    kp, stamps = filmed("arm_raise", 2, 30.0)
    answers = []
    for runtime in ("torch", "onnx"):
        clf = StreamingClassifier.from_bundle(model_dir, runtime=runtime)
        preds = [clf.update(Skeleton("coco17", k.astype(np.float32), np.zeros(4), 1.0), int(s))
                 for k, s in zip(kp, stamps)]
        answers.append([(p.raw_label, round(p.confidence, 3)) for p in preds if p is not None])
    assert answers[0] and [a for a, _ in answers[0]] == [a for a, _ in answers[1]]


def test_summary_gives_the_corpus_alone_beside_the_first_clip_set():
    def row(source, label, dominant):
        return {"source": source, "label": label, "dominant": dominant, "pred_windows": [0],
                "minutes": 0.1, "false_reps": {}}

    rows = [row("a/b", "squat", "squat"), row("c/d", "squat", "unknown"),
            row("shared/media", "squat", "squat")]
    for r in rows:
        r["pred_windows"] = [0 if r["dominant"] == "squat" else 1]
    s = summarize_clips(rows, ["squat", "unknown"])
    assert s["video_accuracy"] == 2 / 3 and s["corpus"]["video_accuracy"] == 0.5
    assert s["corpus"]["clips"] == 2
    assert "corpus" not in summarize_clips(rows[:2], ["squat", "unknown"])


def test_pretraining_on_procedural_clips_then_fine_tuning_on_the_real_ones():
    from dataclasses import replace

    from rehab_core.datasets.procedural import procedural_clips
    from rehab_core.training.recognition_data import render_clip
    from rehab_core.training.recognition_folds import fit_rendered

    real = synthetic_clips()
    made = [c for c in procedural_clips(1, seed=0) if c.label in LABELS]
    data = RecognitionData(labels=LABELS, views=1, max_windows_per_rendering=15)
    spec = recognition_spec(data, "adamw", epochs=1)
    spec = replace(spec, train=replace(spec.train, pretrain_epochs=1))
    rendered = [render_clip(c, data) for c in real + made]
    lines: list[str] = []
    _, history, n_train = fit_rendered(spec, rendered, lines.append, desc="t")
    assert any("t pretrain epoch 1/1" in line for line in lines), lines
    assert n_train == sum(len(r.x) for r in rendered[:len(real)])  # real windows only
    assert len(history.epochs) == 1
    with pytest.raises(ConfigError, match="needs procedural clips"):
        fit_rendered(spec, rendered[:len(real)], lines.append)
