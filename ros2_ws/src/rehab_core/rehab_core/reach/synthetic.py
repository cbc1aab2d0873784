"""Synthetic infant reach sequences as detector output, with per-frame labels.

No infant reaching data can ship with this repository, so BabyNet is trained
on sequences from this generator. It is a model of what a box detector sees,
not of images, and it encodes these assumptions (all in infant-box-diagonal
units ``u``, so camera scale is one multiplier):

* Scene: one sitting infant box (diagonal 150-900 px, aspect 1.1-1.6), 1-3
  toys in front of it (box side 0.07-0.2 u, at least 0.22 u apart, 0.3-0.6 u below
  the infant centre), hands
  resting near the lap (hand box side 0.08-0.14 u).
* Each hand independently alternates rests and actions: a *reach* (55 %),
  an *abandoned reach* (15 %: heads for a toy, covers 25-60 % of the way,
  turns back), a *non-reach movement* (20 %: hand to mouth, wave, scratch) or
  a long rest (10 %). Rests wobble (AR(1) drift plus tremor).
* A reach is 1-3 minimum-jerk sub-movements (first covers 55-90 % of the
  path, later ones correct it, with 0-2 frame pauses between), plus a
  perpendicular wobble. Infants hit toys still moving, so the profile is cut
  at 80-95 % of its normalised time: the contact frame has a visible step.
  After contact the hand holds the toy 3-25 frames, then goes back or on.
* Labels per hand (class ids of :mod:`rehab_core.reach.babynet`):
  RN on the first frame the hand has covered >= 5 % of the way (first
  visible movement), RF on the contact frame, R between, NoR everywhere else
  (abandoned reaches are NoR: they are not reaches). Reach spans are 5-15
  frames at speed factor 1, the range reported by Dechemi et al.
* Frame rate: a per-sequence speed factor 0.75-1.5 stretches every duration
  (frames at a higher frame rate), while detection jitter stays per frame.
* Detector noise: per-sequence jitter 0.3-1.2 % u of box coordinates, box
  size jitter, missed hands (0-8 % per frame, in bursts), missed toys (0-5 %),
  missed infant box (2 %) and false toy detections (0-4 % of frames, lasting
  1-3 frames, anywhere near the infant).

What this cannot model: real infant kinematics beyond these rules, real
detector failure modes (label swaps, hands hidden behind toys), camera
motion, or whether a clinician would mark onset on the same frame. Numbers
measured on this data say the pipeline works as designed, not how well it
will do on real infants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rehab_core.reach.babynet import NOR, RF, RN, R
from rehab_core.reach.features import HAND_LABELS, INFANT_LABEL, OBJECT_LABEL, SIDES
from rehab_core.types import Detection


@dataclass
class ReachEvent:
    """One ground-truth reach of one hand: onset/offset frame indices, toy index."""

    side: str
    onset: int
    offset: int
    object_index: int


@dataclass
class SyntheticSequence:
    """Detector output per frame plus ground truth (labels is (T, 2), sides in SIDES order)."""

    detections: list[list[Detection]]
    labels: np.ndarray
    events: list[ReachEvent]
    fps: float
    infant_diag_px: float
    seed: int
    abandoned: int = 0
    hand_paths: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)))

    def __len__(self) -> int:
        return len(self.detections)


def _min_jerk(n: int, tau_end: float = 1.0) -> np.ndarray:
    """Progress 0..1 at n frames of a min-jerk profile cut at tau_end (renormalised)."""
    tau = np.arange(1, n + 1) / n * tau_end
    s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    return s / s[-1]


class _HandPath:
    """Builds one hand's position track and labels frame by frame."""

    def __init__(self, rng: np.random.Generator, rest: np.ndarray, length: int) -> None:
        self.rng = rng
        self.rest = rest
        self.length = length
        self.pos: list[np.ndarray] = [rest + rng.normal(0, 0.01, 2)]
        self.labels: list[int] = [NOR]

    @property
    def here(self) -> np.ndarray:
        return self.pos[-1]

    @property
    def full(self) -> bool:
        return len(self.pos) >= self.length

    def rest_for(self, n: int, anchor: np.ndarray | None = None) -> None:
        anchor = self.here if anchor is None else anchor
        drift = self.here - anchor
        for _ in range(n):
            drift = 0.85 * drift + self.rng.normal(0, 0.0025, 2)
            self.pos.append(anchor + drift + self.rng.normal(0, 0.001, 2))
            self.labels.append(NOR)

    def move(self, target: np.ndarray, n: int, tau_end: float = 1.0,
             wobble: float = 0.0) -> np.ndarray:
        """Append an n-frame min-jerk movement to target; returns the (n, 2) positions."""
        start = self.here.copy()
        delta = target - start
        length = float(np.linalg.norm(delta)) + 1e-9
        perp = np.array([-delta[1], delta[0]]) / length
        s = _min_jerk(max(n, 1), tau_end)
        phase = self.rng.uniform(0, 2 * np.pi)
        bump = np.sin(np.pi * s) * np.sin(phase + 2 * np.pi * s * self.rng.uniform(0.5, 1.5))
        pts = start + s[:, None] * delta + (wobble * length * bump)[:, None] * perp
        for p in pts:
            self.pos.append(p)
            self.labels.append(NOR)
        return pts


def _reach(hand: _HandPath, contact: np.ndarray, n_span: int, rng: np.random.Generator) -> tuple[
        int, int]:
    """Append a reach; returns (onset, offset) frame indices in the hand's track."""
    start = hand.here.copy()
    total = float(np.linalg.norm(contact - start)) + 1e-9
    n_sub = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    first_frac = rng.uniform(0.55, 0.9) if n_sub > 1 else 1.0
    first_n = max(3, round(n_span * (first_frac if n_sub > 1 else 1.0) + 1))
    begin = len(hand.pos)
    if n_sub == 1:
        hand.move(contact, first_n, tau_end=rng.uniform(0.8, 0.95), wobble=rng.uniform(0, 0.08))
    else:
        delta = contact - start
        perp = np.array([-delta[1], delta[0]]) / total
        via = start + first_frac * delta + perp * rng.normal(0, 0.06) * total
        hand.move(via, first_n, wobble=rng.uniform(0, 0.08))
        rest_n = max(2, n_span + 1 - first_n)
        for k in range(n_sub - 1):
            hand.rest_for(int(rng.integers(0, 3)))
            last = k == n_sub - 2
            sub_target = contact if last else hand.here + 0.6 * (contact - hand.here)
            hand.move(sub_target, max(2, rest_n // (n_sub - 1)),
                      tau_end=rng.uniform(0.8, 0.95) if last else 1.0,
                      wobble=rng.uniform(0, 0.05))
    track = np.asarray(hand.pos[begin:])
    progress = 1.0 - np.linalg.norm(track - contact, axis=1) / total
    onset = begin + int(np.argmax(progress >= 0.05))
    offset = len(hand.pos) - 1
    onset = min(onset, offset - 1)
    hand.labels[onset] = RN
    for t in range(onset + 1, offset):
        hand.labels[t] = R
    hand.labels[offset] = RF
    return onset, offset


def _span_frames(rng: np.random.Generator, speed: float) -> int:
    """Reach span in frames: 5-15 peaking near 8 at speed 1, stretched by speed."""
    base = rng.triangular(5, 8, 15.99)
    return int(np.clip(round(base * speed), 4, 24))


def _hand_track(rng: np.random.Generator, side: int, length: int, speed: float,
                objects: np.ndarray, obj_sizes: np.ndarray) -> tuple[_HandPath, list[tuple]]:
    sign = -1.0 if side == 0 else 1.0
    rest = np.array([sign * rng.uniform(0.08, 0.2), rng.uniform(0.02, 0.16)])
    hand = _HandPath(rng, rest, length)
    reaches: list[tuple] = []
    abandoned = 0
    hand.rest_for(int(rng.integers(2, 25) * speed))

    def dur(lo: int, hi: int) -> int:
        return max(2, round(rng.integers(lo, hi) * speed))

    while not hand.full:
        action = rng.choice(4, p=[0.55, 0.15, 0.2, 0.1])
        # prefer toys on this hand's side
        w = np.exp(-2.0 * np.abs(objects[:, 0] - rest[0]))
        j = int(rng.choice(len(objects), p=w / w.sum()))
        if action == 0:
            half = obj_sizes[j] / 2
            contact = objects[j] + rng.uniform(-0.35, 0.35, 2) * half
            onset, offset = _reach(hand, contact, _span_frames(rng, speed), rng)
            reaches.append((onset, offset, j))
            hand.rest_for(dur(3, 25))
            if rng.random() < 0.7:
                hand.move(rest + rng.normal(0, 0.03, 2), dur(5, 12), wobble=0.05)
        elif action == 1:
            frac = rng.uniform(0.25, 0.6)
            via = hand.here + frac * (objects[j] - hand.here)
            hand.move(via, dur(3, 7), wobble=rng.uniform(0, 0.08))
            hand.rest_for(int(rng.integers(0, 3)))
            hand.move(rest + rng.normal(0, 0.03, 2), dur(5, 10), wobble=0.05)
            abandoned += 1
        elif action == 2:
            kind = rng.integers(3)
            if kind == 0:  # hand to mouth
                target = np.array([sign * 0.03, -0.3]) + rng.normal(0, 0.03, 2)
            elif kind == 1:  # wave outwards/up
                target = np.array([sign * rng.uniform(0.3, 0.55), rng.uniform(-0.35, 0.0)])
            else:  # scratch / touch own leg
                target = np.array([sign * rng.uniform(0.0, 0.2), rng.uniform(0.15, 0.3)])
            hand.move(target, dur(4, 10), wobble=0.08)
            hand.rest_for(dur(1, 10))
            hand.move(rest + rng.normal(0, 0.03, 2), dur(4, 10), wobble=0.05)
        else:
            hand.rest_for(dur(10, 30), anchor=rest)
        hand.rest_for(dur(2, 15))
    hand.abandoned = abandoned  # type: ignore[attr-defined]
    return hand, reaches


def _place_objects(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    centres: list[np.ndarray] = []
    while len(centres) < n:
        c = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.3, 0.6)])
        if all(np.linalg.norm(c - o) > 0.22 for o in centres):
            centres.append(c)
    sizes = rng.uniform(0.07, 0.2, (n, 2))
    return np.asarray(centres), sizes


def _box(centre: np.ndarray, size: np.ndarray) -> np.ndarray:
    return np.array([centre[0] - size[0] / 2, centre[1] - size[1] / 2,
                     centre[0] + size[0] / 2, centre[1] + size[1] / 2])


def generate_sequence(seed: int, length: int | None = None) -> SyntheticSequence:
    """One reproducible sequence (same seed -> identical detections and labels)."""
    rng = np.random.default_rng(seed)
    length = int(length or rng.integers(90, 181))
    speed = float(rng.uniform(0.75, 1.5))
    diag = float(rng.uniform(150, 900))
    aspect = rng.uniform(1.1, 1.6)  # height / width of the sitting infant box
    infant_w = 1.0 / np.sqrt(1 + aspect**2)
    infant_size = np.array([infant_w, infant_w * aspect])
    origin = rng.uniform(0.6, 1.4, 2) * diag  # infant centre in px
    objects, obj_sizes = _place_objects(rng)
    hands = []
    events: list[ReachEvent] = []
    labels = np.full((length, 2), NOR, np.int64)
    abandoned = 0
    hand_size = rng.uniform(0.08, 0.14, 2)
    for s, side in enumerate(SIDES):
        hand, reaches = _hand_track(rng, s, length, speed, objects, obj_sizes)
        hands.append(np.asarray(hand.pos[:length]))
        labels[:, s] = np.asarray(hand.labels[:length])
        abandoned += hand.abandoned  # type: ignore[attr-defined]
        events += [ReachEvent(side, a, b, j) for a, b, j in reaches if b < length]
    # a reach cut by the end of the sequence has no offset: label it NoR (unknown)
    for s in range(2):
        col = labels[:, s]
        last_rn = np.where(col == RN)[0]
        if last_rn.size and not np.any(col[last_rn[-1]:] == RF):
            col[last_rn[-1]:] = NOR
    paths = np.stack(hands, axis=1)

    jitter = rng.uniform(0.003, 0.012)
    p_miss_hand = rng.uniform(0.0, 0.08)
    p_miss_obj = rng.uniform(0.0, 0.05)
    p_false = rng.uniform(0.0, 0.04)
    missing = [False, False]
    false_obj: tuple[np.ndarray, int] | None = None
    frames: list[list[Detection]] = []

    def det(label: str, centre: np.ndarray, size: np.ndarray, sigma: float) -> Detection:
        c = centre + rng.normal(0, sigma, 2)
        sz = size * rng.normal(1.0, 0.05, 2)
        box = np.tile(origin, 2) + diag * _box(c, sz)
        return Detection(label, float(rng.uniform(0.5, 0.99)), box)

    for t in range(length):
        dets: list[Detection] = []
        if rng.random() > 0.02:
            dets.append(det(INFANT_LABEL, np.zeros(2), infant_size, jitter / 2))
        for s, side in enumerate(SIDES):
            # bursty misses: a missed hand stays missed with probability 0.4
            missing[s] = rng.random() < (0.4 if missing[s] else p_miss_hand)
            if not missing[s]:
                dets.append(det(HAND_LABELS[side], paths[t, s], np.full(2, hand_size[s]), jitter))
        for c, size in zip(objects, obj_sizes):
            if rng.random() > p_miss_obj:
                dets.append(det(OBJECT_LABEL, c, size, jitter / 2))
        if false_obj is None and rng.random() < p_false:
            false_obj = (rng.uniform([-0.6, -0.4], [0.6, 0.55]), int(rng.integers(1, 4)))
        if false_obj is not None:
            dets.append(det(OBJECT_LABEL, false_obj[0], np.full(2, 0.1), jitter))
            false_obj = None if false_obj[1] <= 1 else (false_obj[0], false_obj[1] - 1)
        frames.append(dets)
    fps = 15.0 * speed
    return SyntheticSequence(frames, labels, events, fps, diag, seed, abandoned, paths)


def generate_dataset(num_sequences: int, seed: int = 0) -> list[SyntheticSequence]:
    """``num_sequences`` sequences with seeds derived from ``seed`` (reproducible)."""
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, num_sequences)
    return [generate_sequence(int(s)) for s in seeds]
