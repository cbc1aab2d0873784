"""Leave-sources-out evaluation of the exercise classifier, one model or a seed ensemble.

The real corpus's sources (repositories) are held out in turn; each fold's
model(s) train on every other source plus UI-PRMD's re-projected 3-D
skeletons and measure every held-out clip (``recognition_eval.py``). With
several ``seeds`` each fold trains one member per seed (its own draw of
virtual views, speeds and initial weights) and the figures are those of
their averaged probabilities (``recognition/ensemble.py``); each member alone
and the ensemble without mirroring are scored too (``variants/``), so one run
says what the ensemble adds over a single seed. ``jobs`` trains folds in
parallel processes (forked: the rendered windows are shared, not copied).
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from rehab_core.datasets.augment import RandomAugment
from rehab_core.datasets.corpus import CorpusClip, source_folds
from rehab_core.datasets.procedural import PROCEDURAL_SOURCE
from rehab_core.errors import ConfigError
from rehab_core.training.evaluation import plot_confusion
from rehab_core.training.live_smoothing import LiveSmoothing
from rehab_core.training.recognition_data import (
    ClipWindows,
    RecognitionData,
    cap_per_source,
    render_clip,
    stack,
)
from rehab_core.training.recognition_eval import (
    evaluate_clip,
    mix_row,
    recount,
    summarize_clips,
)
from rehab_core.training.stgcn_pipeline import StgcnSpec, build_model
from rehab_core.training.trainer import train_classifier

#: the x channels of each input (mirrored when the ensemble also reads the flipped window)
X_CHANNELS = {"2d": (0,), "world3d": (0,), "fused": (0, 3)}


def render_seeds(clips: Sequence[CorpusClip], data: RecognitionData,
                 seeds: Sequence[int]) -> dict[int, dict[str, ClipWindows]]:
    """Every clip's training windows once per seed (each seed its own virtual views), cut to
    ``data.max_windows_per_source`` per (class, source): a source is never split between
    training and held-out clips, so capping before the folds equals capping in each."""
    return {s: cap_per_source({c.name: render_clip(c, replace(data, seed=s)) for c in clips},
                              data.max_windows_per_source, s) for s in seeds}


def fit_members(spec: StgcnSpec, rendered: dict[int, list[ClipWindows]], input_space: str,
                log: Callable[[str], None], desc: str) -> tuple[list, int, float]:
    """One model per seed on that seed's windows: (models, windows per member, mean loss)."""
    models, losses, n_train = [], [], 0
    for seed, windows in rendered.items():
        member_spec = replace(spec, train=replace(spec.train, seed=seed))
        model, history, n_train = fit_rendered(member_spec, windows, log,
                                               desc=f"{desc} seed {seed}",
                                               input_space=input_space)
        models.append(model)
        losses.append(history.epochs[-1].train_loss)
    return models, n_train, float(np.mean(losses))


def combine(members: Sequence, input_space: str, flip: bool):
    """The model a bundle ships: one member as is, else their ``SeedEnsemble``."""
    if len(members) == 1 and not flip:
        return members[0]
    from rehab_core.recognition.ensemble import SeedEnsemble

    return SeedEnsemble(list(members), X_CHANNELS[input_space] if flip else ()).eval()


def variants(members: Sequence, seeds: Sequence[int], input_space: str,
             flip: bool) -> dict[str, object]:
    """The shipped combination ("main") and, for an ensemble, each member and the plain mean."""
    out: dict[str, object] = {"main": combine(members, input_space, flip)}
    if len(members) > 1 or flip:
        out.update({f"seed{s}": m for s, m in zip(seeds, members)})
    if len(members) > 1 and flip:
        out["mean_no_flip"] = combine(members, input_space, False)
    return out


def fit_rendered(spec: StgcnSpec, rendered: Sequence[ClipWindows],
                 log: Callable[[str], None] = print, desc: str = "train",
                 input_space: str = "2d"):
    """Train one model on pre-rendered windows (flip/zoom/tilt augmented on the fly).

    3-D windows are already scaled by the torso; zooming only x and y would
    distort them, so they get flip and tilt alone."""
    rendered = list(rendered)
    model = build_model(spec, log)
    zoom = (1.0, 1.0) if input_space == "world3d" else (0.85, 1.15)
    augment = RandomAugment(spec.layout, seed=spec.train.seed, max_rotation_deg=8.0,
                            zoom_range=zoom,
                            x_channels=(0, 3) if input_space == "fused" else (0,))
    if spec.train.pretrain_epochs:  # synthetic first, then fine-tuned on the rest
        synthetic = [r for r in rendered if r.source == PROCEDURAL_SOURCE]
        if not synthetic:
            raise ConfigError("pretrain_epochs needs procedural clips (--procedural N)")
        x, y = stack(synthetic)
        train_classifier(model, x, y, replace(spec.train, epochs=spec.train.pretrain_epochs,
                                              lr_steps=(), freeze_epochs=0),
                         len(spec.labels), augment=augment, log=log, desc=f"{desc} pretrain")
        rendered = [r for r in rendered if r.source != PROCEDURAL_SOURCE]
    x, y = stack(rendered)
    history = train_classifier(model, x, y, spec.train, len(spec.labels), augment=augment,
                               log=log, desc=desc)
    return model.eval(), history, len(x)


def per_fold_accuracy(folds: list[dict], results: list[dict]) -> list[dict]:
    """``folds`` with each fold's video accuracy taken from ``results`` (one variant's)."""
    out = []
    for fold in folds:
        held = set(fold["held_out_sources"])
        mine = [r for r in results if r["source"] in held]
        acc = float(np.mean([r["dominant"] == r["label"] for r in mine])) if mine else None
        out.append({**fold, "video_accuracy": acc})
    return out


def write_outputs(out: Path, summary: dict, results: list[dict], folds: list[dict]) -> None:
    """summary.json, clips.jsonl, counts.csv, folds.json, confusion PNG + JSON (videos, windows)."""
    labels = summary["labels"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "folds.json").write_text(json.dumps(folds, indent=2))
    with (out / "clips.jsonl").open("w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")  # per-window labels/confidences: recount offline
    lines = ["clip,source,label,true_count,counter,goal,error,unguided"]
    for r in results:
        if "count" in r:
            c = r["count"]
            lines.append(f"{r['clip']},{r['source']},{r['label']},{c['true']},{c['counter']},"
                         f"{c['goal']},{c['goal'] - c['true']},{c.get('unguided', '')}")
    (out / "counts.csv").write_text("\n".join(lines) + "\n")
    for kind in ("videos", "windows"):
        cm = np.asarray(summary[f"confusion_{kind}"])
        (out / f"confusion_{kind}.json").write_text(json.dumps(
            {"labels": labels, "rows_true_cols_pred": cm.tolist()}, indent=2))
        plot_confusion(cm, labels, out / f"confusion_{kind}.png",
                       f"{summary['split']}: {kind}")


def data_dict(data: RecognitionData) -> dict:
    return json.loads(json.dumps(asdict(data)))  # tuples -> lists (YAML-safe)


_FOLD_STATE: dict = {}


def _run_fold(i: int) -> tuple[dict[str, list[dict]], dict]:
    st = _FOLD_STATE
    clips, data, spec, seeds = st["clips"], st["data"], st["spec"], st["seeds"]
    held = st["groups"][i]
    held_set = set(held)
    train = {s: [st["rendered"][s][c.name] for c in clips if c.source not in held_set]
             for s in seeds}
    test = [c for c in clips if c.source in held_set and c.real]
    leaked = {r.source for r in train[seeds[0]]} & held_set
    if leaked:
        raise ConfigError(f"fold {i}: sources on both sides of the split: {sorted(leaked)}")
    if st["threads"]:
        import torch

        torch.set_num_threads(st["threads"])
    members, n_train, loss = fit_members(spec, train, data.input, st["log"], f"fold {i + 1}")
    rules = {"evidence": spec.repetition_evidence, "stance": spec.stance,
             "motion_check": spec.motion_check}
    results = {name: [evaluate_clip(model, c, data, spec.threshold, **rules) for c in test]
               for name, model in variants(members, seeds, data.input, st["flip"]).items()}
    acc = float(np.mean([r["dominant"] == r["label"] for r in results["main"]]))
    fold = {"held_out_sources": held,
            "train_sources": sorted({r.source for r in train[seeds[0]]}),
            "train_windows": n_train, "test_clips": len(test), "video_accuracy": acc,
            "final_train_loss": loss}
    st["log"](f"fold {i + 1}/{len(st['groups'])} held out {held}: video accuracy {acc:.2f} "
              f"on {len(test)} clips ({time.time() - st['t0']:.0f} s)")
    return results, fold


def leave_sources_out(clips: Sequence[CorpusClip], data: RecognitionData, spec: StgcnSpec,
                      out_dir: str | Path, folds: int = 0,
                      log: Callable[[str], None] = print, seeds: Sequence[int] | None = None,
                      flip: bool = False, jobs: int = 1) -> dict:
    """Hold each source group out in turn; write per-clip results and the pooled figures.

    Clips of a held-out source never reach its models' training sets (checked
    here, not assumed); 3-D-only sources (UI-PRMD) are always training data.
    """
    seeds = list(seeds) if seeds else [spec.train.seed]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"ensemble seeds must differ, got {seeds}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rendered = render_seeds(clips, data, seeds)
    log(f"rendered {sum(len(r.x) for r in rendered[seeds[0]].values())} windows per seed from "
        f"{len(clips)} clips, {len(seeds)} seed(s), in {time.time() - t0:.0f} s")
    groups = source_folds(list(clips), folds)
    _FOLD_STATE.update(clips=list(clips), data=data, spec=spec, seeds=seeds, groups=groups,
                       rendered=rendered, flip=flip, log=log, t0=t0,
                       threads=spec.train.num_threads if jobs > 1 else 0)
    try:
        if jobs > 1:
            with multiprocessing.get_context("fork").Pool(min(jobs, len(groups))) as pool:
                per_fold = pool.map(_run_fold, range(len(groups)), chunksize=1)
        else:
            per_fold = [_run_fold(i) for i in range(len(groups))]
    finally:
        _FOLD_STATE.clear()
    fold_log = [f for _, f in per_fold]
    common = {"split": "leave-sources-out" if folds else "leave-one-source-out",
              "folds": len(groups), "optimizer": spec.train.optimizer,
              "train": spec.train.to_dict(), "data": data_dict(data),
              "ensemble": {"seeds": seeds, "flip": flip}, "threshold": spec.threshold,
              "repetition_evidence": spec.repetition_evidence, "stance": spec.stance,
              "motion_check": spec.motion_check,
              "seconds": round(time.time() - t0, 1)}
    summary = {}
    for name in per_fold[0][0]:
        results = [r for fold_results, _ in per_fold for r in fold_results[name]]
        s = {**summarize_clips(results, list(data.labels)), **common, "variant": name}
        write_outputs(out if name == "main" else out / "variants" / name, s, results,
                      per_fold_accuracy(fold_log, results))
        if name == "main":
            summary = s
        else:
            log(f"variant {name}: video {s['video_accuracy']:.3f} "
                f"window {s['window_accuracy']:.3f}")
    return summary


def recount_run(run_dir: str | Path, clips: Sequence[CorpusClip], data: RecognitionData,
                log: Callable[[str], None] = print, threshold: float | None = None,
                out_dir: str | Path | None = None, evidence: bool = False,
                mix: str | Path | None = None, mix_weight: float = 0.5,
                stance: bool = False, motion_check: bool = False,
                members: int | None = None, smoothing: LiveSmoothing | None = None) -> dict:
    """Score a finished evaluation's counts again with today's counter (every variant),
    from its stored window labels: no retraining. With ``threshold``, ``evidence`` (the
    repetition evidence rule), ``stance`` or ``motion_check`` the windows are labelled again
    from their stored probabilities; with ``mix`` (another run on the same folds, e.g. the
    2-D input's) from ``(1 - mix_weight)`` x this run's + ``mix_weight`` x that run's
    probabilities (the main result only); with ``members`` N the ensemble of each run's first
    N members (``member_rows``); with ``smoothing`` the live classifier's, emulated
    (``live_smoothing.py``). Writes to ``out_dir`` (default: in place)."""
    root = Path(run_dir)
    by_name = {c.name: c for c in clips}
    folds = json.loads((root / "folds.json").read_text())
    other = None
    if mix is not None:
        other = _mixed_run(root, Path(mix), folds, members)
        if not 0.0 <= mix_weight <= 1.0:
            raise ConfigError(f"the mix weight must be in [0, 1], got {mix_weight}")
    main: dict = {}
    dest = Path(out_dir) if out_dir is not None else root
    variants = [] if other is not None or members is not None else sorted(
        p for p in (root / "variants").glob("*") if p.is_dir())
    for src in [root, *variants]:
        out = dest / src.relative_to(root)
        old = json.loads((src / "summary.json").read_text())
        rows = _rows(src) if members is None else member_rows(src, members)
        missing = [r["clip"] for r in rows if r["clip"] not in by_name]
        if missing:
            raise ConfigError(f"{out}: clips not in the cache: {missing[:5]}")
        level = threshold
        if level is None and (evidence or stance or motion_check or other is not None
                              or smoothing is not None):
            level = old.get("threshold", 0.5)
        if other is not None:
            rows = [mix_row(r, other.get(r["clip"]), mix_weight) for r in rows]
        results = [recount(r, by_name[r["clip"]], data, level, evidence, stance, motion_check,
                           smoothing) for r in rows]
        s = {**old, **summarize_clips(results, list(data.labels)), "recounted": True}
        if level is not None:
            s["threshold"] = level
        if evidence:
            s["repetition_evidence"] = True
        if stance:
            s["stance"] = True
        if motion_check:
            s["motion_check"] = True
        if other is not None:
            s["mixed_with"] = {"run": str(mix), "weight": mix_weight}
        if members is not None:
            s["members"] = members
        if smoothing is not None:
            s["live_smoothing"] = asdict(smoothing)
        write_outputs(out, s, results, per_fold_accuracy(folds, results))
        log(f"{out}: goal counts exact {s['count_exact']:.3f} within 1 "
            f"{s['count_within_1']:.3f}, false reps/min on other "
            f"{s['other_false_reps_per_min']:.2f} (rehab run's: "
            f"{s['other_unguided_reps_per_min']:.2f})")
        main = main or s
    return main


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "clips.jsonl").read_text().splitlines()]


def member_rows(run: Path, members: int) -> list[dict]:
    """The run's rows with each window's probabilities the mean of its first ``members``
    members' (``variants/seedN``, by seed): a smaller ensemble scored without retraining,
    since each member was trained and scored on the same folds."""
    seeds = sorted((p for p in (run / "variants").glob("seed*") if p.name[4:].isdigit()),
                   key=lambda p: int(p.name[4:]))
    if not 1 <= members <= len(seeds):
        raise ConfigError(f"{run} stores {len(seeds)} members' windows (variants/seedN), "
                          f"not {members}")
    tables = [_rows(p) for p in seeds[:members]]
    if len({len(t) for t in tables}) != 1:
        raise ConfigError(f"{run}: its members scored different clips")
    out = []
    for rows in zip(*tables):
        if len({(r["clip"], tuple(r["window_start_s"])) for r in rows}) != 1:
            raise ConfigError(f"{run}: its members did not score the same windows")
        mean = np.mean([np.asarray(r["window_probs"], np.float64) for r in rows], axis=0)
        out.append({**rows[0], "window_probs": np.round(mean, 3).tolist()})
    return out


def _mixed_run(root: Path, mix: Path, folds: list[dict],
               members: int | None = None) -> dict[str, dict]:
    """The other run's rows by clip, once its folds are checked to be this run's."""
    theirs = json.loads((mix / "folds.json").read_text())
    if [sorted(f["held_out_sources"]) for f in theirs] != \
            [sorted(f["held_out_sources"]) for f in folds]:
        raise ConfigError(f"{mix} held out other sources than {root}: the models of one "
                          "clip would not be the same held-out fold")
    rows = _rows(mix) if members is None else member_rows(mix, members)
    return {r["clip"]: r for r in rows}
