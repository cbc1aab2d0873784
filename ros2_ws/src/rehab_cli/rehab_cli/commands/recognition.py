"""``rehab eval recognition`` and ``rehab train recognition``: the view-robust exercise model.

Both read the corpus skeleton cache (``python -m rehab_core.datasets.corpus_extract
../shared/corpus --out .cache/skeletons/corpus``) and the corpus's ``SOURCES.tsv``
and UI-PRMD skeletons::

    rehab eval recognition --out runs/recognition_loso            # leave-one-source-out
    rehab eval recognition --folds 5 --out runs/recognition_lso5  # 5 groups of whole sources
    rehab eval recognition --folds 5 --seeds 0 1 2 --flip --jobs 2 --out runs/ens  # an ensemble
    rehab train recognition --out models/exercise_stgcn/fallback_2d \
        --media-cache .cache/skeletons/media_world
    rehab train recognition --input fused --fallback models/exercise_stgcn/fallback_2d \
        --out models/exercise_stgcn --media-cache .cache/skeletons/media_world   # the shipped one

``eval`` prints and writes window/video accuracy, per-class precision and
recall, confusion matrices (PNG + JSON), the count of every clip with a true
count (in a goal, and without one as ``rehab run`` counts: ``unguided``) and
the false repetitions per minute on ``other`` clips (both ways).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rehab_core.errors import ConfigError

DEFAULT_CACHE = Path(".cache/skeletons/corpus")
DEFAULT_CORPUS = Path("../shared/corpus")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"corpus skeleton cache (default {DEFAULT_CACHE})")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                   help=f"corpus root with SOURCES.tsv and skeletons/ (default {DEFAULT_CORPUS})")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw",
                   help="adamw, or sgd: the thesis recipe (LR 0.01, x0.1 step decay)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--views", type=int, default=2, help="virtual camera views per 3-D clip")
    p.add_argument("--uiprmd-per-class", type=int, default=15,
                   help="UI-PRMD sequences per class (0: none)")
    p.add_argument("--procedural", type=int, default=0, metavar="N",
                   help="N procedural (synthetic 3-D) clips per class, training only "
                        "(default 0: none)")
    p.add_argument("--pretrain-epochs", type=int, default=0, metavar="N",
                   help="train N epochs on the procedural clips alone first, then on the "
                        "real ones (default 0: mixed)")
    p.add_argument("--clips-per-class", type=int, default=0,
                   help="use at most N cached clips of each class (quick runs, tests)")
    p.add_argument("--media-cache", type=Path, default=None,
                   help="also use the first clip set (../shared/media, one more source), "
                        "cached by corpus_extract ../shared --out DIR")
    p.add_argument("--raw-score", action="store_true",
                   help="feed the raw keypoint score (default: seen/unseen only)")
    p.add_argument("--input", choices=["2d", "world3d", "fused"], default="2d",
                   help="2d: image keypoints (x, y, seen); world3d: the pose model's 3-D world "
                        "landmarks in the body's own frame (x, y, z); fused: both (6 channels)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="train one model per seed and average their probabilities (an "
                        "ensemble: seed-to-seed luck averaged out); default: --seed alone")
    p.add_argument("--threshold", type=float, default=None,
                   help="a window is unknown under this confidence (default 0.5); the "
                        "bundle's threshold; with --recount: label the run's windows again")
    p.add_argument("--flip", action="store_true",
                   help="each model also reads the mirrored window (averaged)")
    p.add_argument("--fps", type=float, default=15.0,
                   help="model frame rate: every clip is resampled to it (default 15)")
    p.add_argument("--window", type=int, default=30,
                   help="model frames per window (default 30: 2 s at 15 fps)")
    p.add_argument("--active-only", action="store_true",
                   help="train only on windows where a counted exercise's key angle moves "
                        "(idle stretches of exercise clips left out; fused input)")
    p.add_argument("--max-windows-per-source", type=int, default=0, metavar="N",
                   help="at most N training windows per class and source and seed (0: no "
                        "cap): no single source, e.g. UI-PRMD's lab recordings, defines a class")
    p.add_argument("--motion", action="store_true",
                   help="the network also reads each channel's frame-to-frame change")
    p.add_argument("--repetition-evidence", action="store_true",
                   help="a window under the threshold is the likeliest exercise (at least as "
                        "likely as unknown) that completed a repetition in the last 4 s "
                        "(as the live classifier does with the bundle's repetition_evidence); with "
                        "--recount: rescore the run")
    p.add_argument("--stance", action="store_true",
                   help="a squat-family window is a lunge when the legs are split at the bottom "
                        "(3-D; the live classifier's stance rule, the bundle's stance); with "
                        "--recount: rescore the run")
    p.add_argument("--motion-check", action="store_true",
                   help="a window named as a counted exercise whose key joint did not cover "
                        "a repetition's range in the last 4 s (jumping jacks: nor the "
                        "feet in 3-D) is unknown (the live "
                        "classifier's motion check, the bundle's motion_check); with "
                        "--recount: rescore the run")


def register_eval(sub) -> None:
    p = sub.add_parser("recognition",
                       help="leave-source-out evaluation of exercise recognition and counting")
    _common(p)
    p.add_argument("--folds", type=int, default=0,
                   help="0: one fold per source; N: N balanced groups of whole sources")
    p.add_argument("--jobs", type=int, default=1,
                   help="folds trained in parallel processes (one core each)")
    p.add_argument("--recount", type=Path, default=None, metavar="RUN",
                   help="score a finished evaluation folder again (today's repetition "
                        "counter, its stored window labels) into --out (may be RUN itself)")
    p.add_argument("--mix", type=Path, default=None, metavar="RUN2",
                   help="with --recount: average RUN's window probabilities with RUN2's "
                        "(same folds; e.g. the 2-D input's run), as the live classifier does "
                        "with the bundle's fallback_weight")
    p.add_argument("--mix-weight", type=float, default=0.5,
                   help="RUN2's share with --mix (default 0.5)")
    p.add_argument("--members", type=int, default=None, metavar="N",
                   help="with --recount: score the ensemble of RUN's (and RUN2's) first N "
                        "seeds, from the members' stored windows (an ensemble's size "
                        "weighed by held-out accuracy without retraining)")
    p.add_argument("--live-smoothing", type=Path, default=None, metavar="BUNDLE",
                   help="with --recount: also smooth the windows as BUNDLE's live classifier "
                        "does (its ema_alpha before the rules, its hysteresis after; same "
                        "time constants on the evaluation's finer window grid)")
    p.add_argument("--bundle", type=Path, default=None,
                   help="evaluate this saved model folder on every clip instead (no training; "
                        "e.g. the previous model as the baseline)")
    p.set_defaults(func=run_eval)


def register_train(sub) -> None:
    p = sub.add_parser("recognition",
                       help="train the shipped view-robust exercise classifier on the corpus")
    _common(p)
    p.add_argument("--eval", type=Path, default=None,
                   help="an `rehab eval recognition` folder whose figures go in the bundle")
    p.add_argument("--fallback", type=Path, default=None,
                   help="a 2-D bundle copied into a fused bundle: it answers when the pose "
                        "model gives no 3-D")
    p.add_argument("--fallback-weight", type=float, default=0.0, metavar="W",
                   help="with --fallback: the 2-D model's share of the answer when a window "
                        "has 3-D (0: only the fused model; 0.5: both alike)")
    p.set_defaults(func=run_train)


def _load(args):
    from dataclasses import replace

    import torch

    from rehab_core.datasets.corpus import load_corpus_clips, load_uiprmd_sequences
    from rehab_core.training.recognition import recognition_spec
    from rehab_core.training.recognition_data import RecognitionData

    torch.set_num_threads(max(1, args.threads))
    # the options are checked before the cache is read (minutes for the whole corpus)
    data = RecognitionData(views=args.views, seed=args.seed, binary_score=not args.raw_score,
                           input=args.input, fps=args.fps, window=args.window,
                           active_only=args.active_only,
                           max_windows_per_source=args.max_windows_per_source)
    clips = load_corpus_clips(args.cache, args.corpus)
    if args.clips_per_class:
        kept: dict[str, int] = {}
        subset = []
        for c in clips:
            if kept.get(c.label, 0) < args.clips_per_class:
                kept[c.label] = kept.get(c.label, 0) + 1
                subset.append(c)
        clips = subset
    if not clips:
        raise ConfigError(f"no cached corpus clips in {args.cache} (run corpus_extract first)")
    if args.media_cache is not None:
        from rehab_core.datasets.corpus import load_media_clips

        clips += load_media_clips(args.media_cache)
    if args.uiprmd_per_class:
        clips += load_uiprmd_sequences(args.corpus, args.uiprmd_per_class)
    if args.procedural > 0:
        from rehab_core.datasets.procedural import procedural_clips

        clips += procedural_clips(args.procedural, seed=args.seed)
    spec = recognition_spec(data, args.optimizer, args.epochs, name="exercise_stgcn",
                            threads=args.threads)
    spec.train.seed = args.seed
    spec.motion = args.motion
    spec.repetition_evidence = args.repetition_evidence
    spec.stance = args.stance
    spec.motion_check = args.motion_check
    if args.pretrain_epochs and not args.procedural:  # said before any rendering
        raise ConfigError("--pretrain-epochs needs --procedural N clips")
    spec.train = replace(spec.train, pretrain_epochs=args.pretrain_epochs)  # validated there
    if args.threshold is not None:
        if not 0.0 < args.threshold <= 1.0:
            raise ConfigError(f"--threshold must be in (0, 1], got {args.threshold}")
        spec.threshold = args.threshold
    return clips, data, spec


def run_eval(args) -> int:
    from rehab_core.training.recognition import leave_sources_out

    if args.mix is not None and args.recount is None:
        raise ConfigError("--mix RUN2 needs --recount RUN (it averages two finished runs)")
    if args.members is not None and args.recount is None:
        raise ConfigError("--members N needs --recount RUN (it averages RUN's stored members)")
    if args.live_smoothing is not None and args.recount is None:
        raise ConfigError("--live-smoothing BUNDLE needs --recount RUN (a finished run's "
                          "stored window probabilities)")
    from rehab_core.training.live_smoothing import LiveSmoothing

    smoothing = None if args.live_smoothing is None else LiveSmoothing.from_bundle(
        args.live_smoothing)  # a bad bundle fails before the cache is read
    clips, data, spec = _load(args)
    if args.bundle is not None:
        from rehab_core.training.recognition import evaluate_bundle_on_clips

        s = evaluate_bundle_on_clips(args.bundle, clips, args.out, data.labels)
    elif args.recount is not None:
        from rehab_core.training.recognition_folds import recount_run

        s = recount_run(args.recount, clips, data, threshold=args.threshold, out_dir=args.out,
                        evidence=args.repetition_evidence, mix=args.mix,
                        mix_weight=args.mix_weight, stance=args.stance,
                        motion_check=args.motion_check, members=args.members,
                        smoothing=smoothing)
    else:
        s = leave_sources_out(clips, data, spec, args.out, args.folds, seeds=args.seeds,
                              flip=args.flip, jobs=args.jobs)
    print(json.dumps({k: s[k] for k in (
        "split", "folds", "clips", "window_accuracy", "video_accuracy", "count_clips",
        "count_exact", "count_within_1", "counter_exact_without_classifier",
        "unguided_count_exact", "unguided_count_within_1", "other_clips",
        "other_dominant_unknown", "other_false_reps_per_min",
        "other_unguided_reps_per_min")}, indent=1))
    if "corpus" in s:
        print("corpus clips alone:", json.dumps(s["corpus"], indent=1))
    for name, m in s["per_class"].items():
        print(f"  {name:14s} clips {m['clips']:3d} sources {m['sources']:2d} "
              f"video P/R {_f(m['video_precision'])}/{_f(m['video_recall'])} "
              f"window P/R {_f(m['window_precision'])}/{_f(m['window_recall'])}")
    print(f"wrote {args.out}")
    return 0


def run_train(args) -> int:
    from rehab_core.training.recognition import train_bundle

    if not 0.0 <= args.fallback_weight <= 1.0 or (args.fallback_weight and not args.fallback):
        raise ConfigError("--fallback-weight must be in [0, 1] and needs --fallback")
    clips, data, spec = _load(args)
    evaluation = None
    if args.eval is not None:
        path = args.eval / "summary.json"
        if not path.is_file():
            raise ConfigError(f"no evaluation summary at {path}")
        evaluation = json.loads(path.read_text())
    train_bundle(clips, data, spec, args.out, evaluation, fallback=args.fallback,
                 fallback_weight=args.fallback_weight,
                 seeds=args.seeds, flip=args.flip)
    return 0


def _f(v: float | None) -> str:
    return "  - " if v is None else f"{v:.2f}"
