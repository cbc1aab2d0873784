"""Skeleton tracking across frames: stable ids and one "main subject".

Why: pose estimators answer per frame, in no particular order; the action
classifier and the repetition counter need the same person's keypoints over
time, and a rehab session has one patient among possible bystanders.

Matching (per ``update``): each live track predicts its box and keypoints
with a constant-velocity step, then tracks and detections are matched on a
similarity that mixes box IoU with an OKS-like keypoint similarity
(distance normalised by the track's box size, so it works at any
resolution). Assignment is optimal (Hungarian, ``scipy``) or greedy; pairs
below ``min_similarity`` never match.

Life cycle, in frames (``update`` calls), not seconds, so it behaves the same
whatever the frame rate of the pose stage:

* a new detection starts a *tentative* track; after ``min_hits`` consecutive
  matches it is *confirmed* and gets the next public id (ids are never
  reused). During the tracker's first ``min_hits`` frames tracks are
  confirmed at once, so a person present from the start has an id at frame 0.
* a tentative track that misses a frame is dropped; a confirmed one survives
  up to ``max_misses`` consecutive misses (occlusion), then dies.

Main subject rule (``main_track_id``), "longest tracked wins, with
hysteresis" so the subject never flips between two similar people:

* with no main track (start, or it died): the visible confirmed track with
  the most matched frames; ties go to the largest box, then to the box
  closest to the image centre (when the image size is known);
* while the main track is visible it stays main, unless another visible
  track has been matched in more than ``main_takeover_ratio`` times as many
  frames (the long-tracked patient coming back from behind a bystander);
* while it is unseen it stays main for up to ``main_patience`` frames (a
  short occlusion), then the best visible track takes over; at once if a
  visible track has at least as many matched frames (so a short-lived false
  positive that became main at the start cannot block the real person).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from rehab_core.errors import ConfigError
from rehab_core.types import Skeleton

try:  # optimal assignment when scipy is there; greedy otherwise
    from scipy.optimize import linear_sum_assignment
except ImportError:  # pragma: no cover - scipy is a normal dependency
    linear_sum_assignment = None


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters (see the module docstring for their meaning)."""

    min_hits: int = 3
    max_misses: int = 30
    min_similarity: float = 0.2
    iou_weight: float = 0.5
    keypoint_threshold: float = 0.3
    #: OKS-like falloff: a keypoint off by this fraction of the box size scores ~0.6
    keypoint_sigma: float = 0.1
    matcher: str = "hungarian"
    main_patience: int = 10
    main_takeover_ratio: float = 2.0

    def __post_init__(self) -> None:
        if self.min_hits < 1 or self.max_misses < 0:
            raise ConfigError(
                f"min_hits must be >= 1 and max_misses >= 0, got {self.min_hits}, "
                f"{self.max_misses}"
            )
        if not 0.0 <= self.iou_weight <= 1.0 or not 0.0 <= self.min_similarity <= 1.0:
            raise ConfigError("iou_weight and min_similarity must be in [0, 1]")
        if self.keypoint_sigma <= 0:
            raise ConfigError(f"keypoint_sigma must be > 0, got {self.keypoint_sigma}")
        if self.main_patience < 0 or self.main_takeover_ratio < 1.0:
            raise ConfigError("main_patience must be >= 0 and main_takeover_ratio >= 1")
        if self.matcher not in ("hungarian", "greedy"):
            raise ConfigError(f"matcher must be 'hungarian' or 'greedy', got {self.matcher!r}")


@dataclass
class Track:
    """One followed person. ``track_id`` is -1 while tentative."""

    uid: int
    skeleton: Skeleton
    box: np.ndarray
    track_id: int = -1
    hits: int = 1
    streak: int = 1
    misses: int = 0
    box_velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    kp_velocity: np.ndarray | None = None

    @property
    def confirmed(self) -> bool:
        return self.track_id >= 0

    def predicted(self) -> tuple[np.ndarray, np.ndarray]:
        """Box and keypoints one step after the last update (misses included)."""
        steps = self.misses + 1
        box = self.box + self.box_velocity * steps
        kp = self.skeleton.keypoints.copy()
        if self.kp_velocity is not None:
            kp[:, :2] += self.kp_velocity * steps
        return box, kp


def skeleton_box(skeleton: Skeleton, keypoint_threshold: float = 0.3) -> np.ndarray:
    """The skeleton's box, or one around its seen keypoints when the box is empty."""
    box = np.asarray(skeleton.box, np.float32)
    if box[2] > box[0] and box[3] > box[1]:
        return box
    kp = skeleton.keypoints
    seen = kp[kp[:, 2] >= keypoint_threshold]
    if len(seen) == 0:
        return np.zeros(4, np.float32)
    return np.array(
        [seen[:, 0].min(), seen[:, 1].min(), seen[:, 0].max(), seen[:, 1].max()], np.float32
    )


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def keypoint_similarity(
    kp_a: np.ndarray, kp_b: np.ndarray, scale: float, threshold: float, sigma: float
) -> float | None:
    """OKS-like similarity of two same-layout skeletons (None when no joint is seen in both)."""
    both = (kp_a[:, 2] >= threshold) & (kp_b[:, 2] >= threshold)
    if not both.any():
        return None
    d = np.linalg.norm(kp_a[both, :2] - kp_b[both, :2], axis=1) / max(scale, 1.0)
    return float(np.exp(-0.5 * (d / sigma) ** 2).mean())


def _greedy(similarity: np.ndarray, floor: float) -> list[tuple[int, int]]:
    pairs = []
    sim = similarity.copy()
    while sim.size and sim.max() >= floor:
        r, c = np.unravel_index(int(np.argmax(sim)), sim.shape)
        pairs.append((int(r), int(c)))
        sim[r, :] = -1.0
        sim[:, c] = -1.0
    return pairs


class SkeletonTracker:
    """Give skeletons stable ``track_id`` values across frames and pick the main subject."""

    def __init__(self, config: TrackerConfig | None = None, **overrides: object) -> None:
        base = config or TrackerConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        self.reset()

    def reset(self) -> None:
        """Forget every track (new video). Ids keep increasing: never reused."""
        self.tracks: list[Track] = []
        self.frames = 0
        self._next_uid = 0
        self._next_id = getattr(self, "_next_id", 0)
        self._main_uid: int | None = None

    # -- public API ------------------------------------------------------------

    def update(
        self, skeletons: list[Skeleton], image_size: tuple[int, int] | None = None
    ) -> list[Skeleton]:
        """Match one frame's skeletons to tracks.

        Returns the skeletons of confirmed tracks seen in this frame, as new
        ``Skeleton`` objects (arrays shared) with ``track_id`` set, sorted by
        id. ``image_size`` (width, height) is used only to break ties in the
        main-subject rule.
        """
        cfg = self.config
        self.frames += 1
        boxes = [skeleton_box(s, cfg.keypoint_threshold) for s in skeletons]
        pairs = self._match(skeletons, boxes)
        matched_tracks = {t for t, _ in pairs}
        matched_dets = {d for _, d in pairs}
        for t, d in pairs:
            self._update_track(self.tracks[t], skeletons[d], boxes[d])
        survivors = []
        for i, track in enumerate(self.tracks):
            if i not in matched_tracks:
                track.misses += 1
                track.streak = 0
                if not track.confirmed or track.misses > cfg.max_misses:
                    continue
            survivors.append(track)
        for d, skel in enumerate(skeletons):
            if d not in matched_dets:
                survivors.append(Track(uid=self._next_uid, skeleton=skel, box=boxes[d]))
                self._next_uid += 1
        self.tracks = survivors
        warm_up = self.frames <= cfg.min_hits
        for track in self.tracks:
            if not track.confirmed and (track.streak >= cfg.min_hits or warm_up):
                track.track_id = self._next_id
                self._next_id += 1
        self._choose_main(image_size)
        out = [
            dataclasses.replace(t.skeleton, track_id=t.track_id)
            for t in self.tracks
            if t.confirmed and t.misses == 0
        ]
        return sorted(out, key=lambda s: s.track_id)

    @property
    def main_track_id(self) -> int:
        """Public id of the main subject, or -1 when there is none."""
        track = self._main_track()
        return track.track_id if track else -1

    def main_skeleton(self) -> Skeleton | None:
        """The main subject's skeleton when it was seen in the last frame."""
        track = self._main_track()
        if track is None or track.misses:
            return None
        return dataclasses.replace(track.skeleton, track_id=track.track_id)

    @property
    def confirmed_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.confirmed]

    # -- internals ---------------------------------------------------------------

    def _similarity(self, skeletons: list[Skeleton], boxes: list[np.ndarray]) -> np.ndarray:
        """Tracks x detections: IoU mixed with keypoint similarity, one numpy pass per layout.

        Vectorised because a crowded frame (or a badly thresholded detector) gives
        tens of people and hundreds of tentative tracks; a Python double loop
        over pairs then costs more than the pose model.
        """
        cfg = self.config
        predictions = [t.predicted() for t in self.tracks]
        iou = iou_matrix(np.array([p[0] for p in predictions]), np.array(boxes))
        sim = iou.copy()
        for layout in {s.layout for s in skeletons}:
            rows = [i for i, t in enumerate(self.tracks) if t.skeleton.layout == layout]
            cols = [j for j, s in enumerate(skeletons) if s.layout == layout]
            if not rows or not cols:
                continue
            kp_t = np.stack([predictions[i][1] for i in rows]).astype(np.float32)  # (T, K, 3)
            kp_d = np.stack([skeletons[j].keypoints for j in cols]).astype(np.float32)
            if kp_t.shape[1] != kp_d.shape[1]:
                continue
            box_t = np.stack([predictions[i][0] for i in rows])
            area = (box_t[:, 2] - box_t[:, 0]) * (box_t[:, 3] - box_t[:, 1])
            scale = np.maximum(np.sqrt(np.maximum(area, 1.0)), 1.0)  # (T,)
            seen = ((kp_t[:, None, :, 2] >= cfg.keypoint_threshold)
                    & (kp_d[None, :, :, 2] >= cfg.keypoint_threshold))  # (T, D, K)
            dist = np.linalg.norm(kp_t[:, None, :, :2] - kp_d[None, :, :, :2], axis=-1)
            dist /= scale[:, None, None]
            close = np.exp(-0.5 * (dist / cfg.keypoint_sigma) ** 2) * seen
            n_seen = seen.sum(axis=-1)
            ks = close.sum(axis=-1) / np.maximum(n_seen, 1)
            sub = iou[np.ix_(rows, cols)]
            mixed = np.where(n_seen > 0, cfg.iou_weight * sub + (1 - cfg.iou_weight) * ks, sub)
            sim[np.ix_(rows, cols)] = mixed
        return sim

    def _match(self, skeletons: list[Skeleton], boxes: list[np.ndarray]) -> list[tuple[int, int]]:
        if not self.tracks or not skeletons:
            return []
        sim = self._similarity(skeletons, boxes)
        floor = self.config.min_similarity
        if self.config.matcher == "greedy" or linear_sum_assignment is None:
            return _greedy(sim, floor)
        rows, cols = linear_sum_assignment(-sim)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if sim[r, c] >= floor]

    @staticmethod
    def _update_track(track: Track, skeleton: Skeleton, box: np.ndarray) -> None:
        steps = track.misses + 1
        # velocity per frame, smoothed so one jittery detection does not throw the track
        track.box_velocity = 0.5 * track.box_velocity + 0.5 * (box - track.box) / steps
        if track.skeleton.keypoints.shape == skeleton.keypoints.shape:
            both = (track.skeleton.keypoints[:, 2] > 0) & (skeleton.keypoints[:, 2] > 0)
            step = np.zeros((len(both), 2), np.float32)
            step[both] = (skeleton.keypoints[both, :2] - track.skeleton.keypoints[both, :2]) / steps
            prev = track.kp_velocity if track.kp_velocity is not None else step
            track.kp_velocity = 0.5 * prev + 0.5 * step
        else:
            track.kp_velocity = None
        track.skeleton, track.box = skeleton, box
        track.hits += 1
        track.streak += 1
        track.misses = 0

    def _main_track(self) -> Track | None:
        for track in self.tracks:
            if track.uid == self._main_uid:
                return track
        return None

    def _choose_main(self, image_size: tuple[int, int] | None) -> None:
        cfg = self.config
        current = self._main_track()
        candidates = [t for t in self.tracks if t.confirmed and t.misses == 0]
        if current is not None:
            others = [t for t in candidates if t is not current]
            if current.misses == 0:
                limit = cfg.main_takeover_ratio * current.hits
                if not any(t.hits > limit for t in others):
                    return
            elif current.misses <= cfg.main_patience and all(
                t.hits < current.hits for t in others
            ):
                return
        if not candidates:
            self._main_uid = None if current is None else self._main_uid
            return

        def rank(track: Track) -> tuple[float, float, float]:
            x1, y1, x2, y2 = track.box
            area = max(x2 - x1, 0) * max(y2 - y1, 0)
            centre = 0.0
            if image_size is not None:
                w, h = image_size
                cx, cy = (x1 + x2) / 2 / max(w, 1), (y1 + y2) / 2 / max(h, 1)
                centre = -float(np.hypot(cx - 0.5, cy - 0.5))
            return float(track.hits), float(area), centre

        self._main_uid = max(candidates, key=rank).uid
