"""Repetition counts on the real shared clips against the hand-counted truth.

Truth: test/data/repetitions_truth.yaml (counted from contact sheets).
Skeletons: the project cache ``.cache/skeletons/<stem>.npz`` (our BlazePose
estimator, see rehab_core.io.skeleton_store) when present, otherwise
extracted here with MediaPipe's BlazePose on every second frame (the
counter's parameters are in seconds, so 12-15 fps input is a valid test
too, and it halves the extraction time).

Tolerance: |counted - truth| <= max(1, round(0.1 * truth)), or the clip's
``accept`` range where the truth itself is ambiguous (half reps at the
clip's ends); and at least truth - max(1, 10 %) counted reps must match a
distinct hand-marked rep in time (extreme inside its span), so that a miss
and a false count cannot cancel out. Planks: 0 reps and a hold time within
1 s of the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from rehab_core.repetition import RepetitionCounter
from rehab_core.skeleton import convert_keypoints

REPO_ROOT = Path(__file__).resolve().parents[4]
TRUTH_FILE = REPO_ROOT / "test" / "data" / "repetitions_truth.yaml"
CACHE_DIR = REPO_ROOT / ".cache" / "skeletons"
TRUTH = yaml.safe_load(TRUTH_FILE.read_text())["videos"]


def _extract_with_mediapipe(video: Path, every: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 3) coco17 px keypoints and stamps of every ``every``-th frame."""
    cv2 = pytest.importorskip("cv2")
    mp = pytest.importorskip("mediapipe")
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        pytest.fail(f"cannot open {video}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    kps, stamps, i = [], [], 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        while True:
            ok = cap.grab()
            if not ok:
                break
            if i % every == 0:
                _, img = cap.retrieve()
                h, w = img.shape[:2]
                s = min(1.0, 640 / max(h, w))
                small = cv2.resize(img, (int(w * s), int(h * s))) if s < 1 else img
                res = pose.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
                k = np.zeros((33, 3), np.float32)
                if res.pose_landmarks:
                    for j, lm in enumerate(res.pose_landmarks.landmark):
                        k[j] = (lm.x * w, lm.y * h, lm.visibility)
                kps.append(convert_keypoints(k, "blazepose33", "coco17"))
                stamps.append(round(i / fps * 1e9))
            i += 1
    cap.release()
    return np.stack(kps), np.asarray(stamps, np.int64)


def _skeletons(shared_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    cached = CACHE_DIR / f"{Path(name).stem}.npz"
    if cached.is_file():
        from rehab_core.io.skeleton_store import load_skeletons

        seq = load_skeletons(cached).to_layout("coco17")
        return seq.keypoints, seq.stamps_ns, f"cache ({seq.pose_model or 'unknown model'})"
    kp, st = _extract_with_mediapipe(shared_dir / "media" / "exercise" / name)
    return kp, st, "mediapipe, every 2nd frame"


def truth_spans(truth: dict) -> list[tuple[float, float]]:
    """Time spans in which a counted rep's extreme must fall to match a true rep."""
    if "reps" in truth:
        return [(start - 0.3, end + 0.3) for start, _, end in truth["reps"]]
    return [(p - 0.4, p + 0.4) for v in truth["reps_by_view"].values() for p in v["peaks"]]


def matched_reps(counter: RepetitionCounter, spans: list[tuple[float, float]]) -> int:
    """Counted reps that match a distinct true rep (one-to-one, by extreme time)."""
    used: set[int] = set()
    for rep in counter.repetitions:
        for i, (a, b) in enumerate(spans):
            if i not in used and a <= rep.extreme_t <= b:
                used.add(i)
                break
    return len(used)


def count_clip(kp: np.ndarray, stamps: np.ndarray, exercise: str) -> RepetitionCounter:
    counter = RepetitionCounter(exercise)
    for k, st in zip(kp, stamps):
        seen = np.isfinite(k).all() and k[:, 2].max() > 0
        counter.update(k if seen else None, int(st))
    return counter


def test_truth_file_is_complete():
    """Every clip has a label and a count; reps listed match the count."""
    assert len(TRUTH) == 8
    for name, t in TRUTH.items():
        assert t["exercise"] in ("squat", "jumping_jacks", "push_up", "plank"), name
        if "reps" in t:
            assert len(t["reps"]) == t["repetitions"], name
            for start, extreme, end in t["reps"]:
                assert start < extreme < end, name


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_count_matches_hand_counted_truth(shared_dir, name):
    truth = TRUTH[name]
    kp, stamps, source = _skeletons(shared_dir, name)
    counter = count_clip(kp, stamps, truth["exercise"])
    expected = truth["repetitions"]
    print(f"{name}: truth {expected}, counted {counter.count} (skeletons: {source})")
    if truth["exercise"] == "plank":
        assert counter.count == 0
        assert abs(counter.hold_s - truth["hold_s"]) <= 1.0, counter.hold_s
        return
    lo, hi = truth.get("accept", [expected - max(1, round(0.1 * expected)),
                                  expected + max(1, round(0.1 * expected))])
    assert lo <= counter.count <= hi, (
        f"{name}: counted {counter.count}, truth {expected} (accepted {lo}..{hi}); "
        f"reps at {[round(r.start_t, 1) for r in counter.repetitions]}"
    )
    # The count must come from the right reps, not from errors that cancel out.
    matched = matched_reps(counter, truth_spans(truth))
    assert matched >= expected - max(1, round(0.1 * expected)), (name, matched)
