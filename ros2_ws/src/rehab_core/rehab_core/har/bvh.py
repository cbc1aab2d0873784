"""BVH motion-capture reader with forward kinematics to joint positions.

InHard (industrial human action recognition) records its skeletons with a
Perception Neuron suit as BVH files, so the HAR classifiers need BVH without
extra dependencies. Supported: HIERARCHY (ROOT/JOINT/End Site, OFFSET,
CHANNELS in any order, 3 or 6 channels per joint) and MOTION (Frames,
Frame Time, one line of values per frame).

Kinematics conventions (the common ones; Perception Neuron follows them):
rotations are Euler angles in degrees applied in the order the CHANNELS line
lists them (``Zrotation Xrotation Yrotation`` -> R = Rz @ Rx @ Ry); a joint's
local translation is its position channels when it has them (root, or every
joint in Neuron files "with displacement"), else its OFFSET; world position
= parent position + parent rotation @ local translation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rehab_core.errors import InputSourceError

_ROT = ("Xrotation", "Yrotation", "Zrotation")
_POS = ("Xposition", "Yposition", "Zposition")


@dataclass
class BvhMotion:
    """A parsed BVH file: the joint tree and the per-frame channel values."""

    names: list[str]
    parents: list[int]  # -1 for the root
    offsets: np.ndarray  # (J, 3)
    channels: list[list[str]]  # per joint, in file order
    end_site: list[bool]
    frame_time: float
    values: np.ndarray  # (F, total channels)
    channel_start: list[int] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time if self.frame_time > 0 else 0.0

    def joint_index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError as err:
            raise InputSourceError(f"BVH has no joint {name!r}") from err

    def positions(self, include_end_sites: bool = False) -> np.ndarray:
        """World joint positions (F, J, 3) by forward kinematics, in file units."""
        f = self.num_frames
        nj = len(self.names)
        world_r = np.zeros((f, nj, 3, 3))
        world_p = np.zeros((f, nj, 3))
        for j in range(nj):
            local_r = np.broadcast_to(np.eye(3), (f, 3, 3)).copy()
            trans = np.broadcast_to(self.offsets[j], (f, 3)).copy()
            start = self.channel_start[j]
            pos_seen = False
            for k, ch in enumerate(self.channels[j]):
                col = self.values[:, start + k]
                if ch in _POS:
                    if not pos_seen:
                        trans[:] = 0.0
                        pos_seen = True
                    trans[:, _POS.index(ch)] = col
                else:
                    local_r = local_r @ _axis_rotation(_ROT.index(ch), np.deg2rad(col))
            parent = self.parents[j]
            if parent < 0:
                world_r[:, j], world_p[:, j] = local_r, trans
            else:
                world_r[:, j] = world_r[:, parent] @ local_r
                world_p[:, j] = world_p[:, parent] + np.einsum(
                    "fab,fb->fa", world_r[:, parent], trans)
        if include_end_sites:
            return world_p
        keep = [j for j in range(nj) if not self.end_site[j]]
        return world_p[:, keep]

    def joint_names(self, include_end_sites: bool = False) -> list[str]:
        return [n for n, e in zip(self.names, self.end_site) if include_end_sites or not e]


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((len(angle), 3, 3))
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, axis, axis] = 1.0
    out[:, a, a] = c
    out[:, a, b] = -s
    out[:, b, a] = s
    out[:, b, b] = c
    return out


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items = text.split()
        self.i = 0

    def next(self, what: str) -> str:
        if self.i >= len(self.items):
            raise InputSourceError(f"BVH ended early: expected {what}")
        tok = self.items[self.i]
        self.i += 1
        return tok

    def expect(self, word: str) -> None:
        tok = self.next(word)
        if tok != word:
            raise InputSourceError(f"BVH: expected {word!r}, found {tok!r} (token {self.i})")

    def number(self, what: str) -> float:
        tok = self.next(what)
        try:
            return float(tok)
        except ValueError as err:
            raise InputSourceError(f"BVH: {what} must be a number, found {tok!r}") from err


def parse_bvh(text: str) -> BvhMotion:
    """Parse BVH text; malformed input raises InputSourceError saying what was expected."""
    tok = _Tokens(text)
    tok.expect("HIERARCHY")
    m = BvhMotion([], [], np.zeros((0, 3)), [], [], 0.0, np.zeros((0, 0)))
    offsets: list[list[float]] = []
    kind = tok.next("ROOT")
    if kind != "ROOT":
        raise InputSourceError(f"BVH: expected ROOT, found {kind!r}")
    stack: list[int] = []
    name = tok.next("root name")
    while True:
        j = len(m.names)
        m.names.append(name)
        m.parents.append(stack[-1] if stack else -1)
        is_end = name.endswith("_End") and kind == "End"
        m.end_site.append(is_end)
        tok.expect("{")
        tok.expect("OFFSET")
        offsets.append([tok.number("OFFSET x"), tok.number("OFFSET y"), tok.number("OFFSET z")])
        chans: list[str] = []
        if not is_end:
            tok.expect("CHANNELS")
            n = int(tok.number("channel count"))
            for _ in range(n):
                ch = tok.next("channel name")
                if ch not in _ROT + _POS:
                    raise InputSourceError(f"BVH: unknown channel {ch!r} in joint {name!r}")
                chans.append(ch)
        m.channels.append(chans)
        stack.append(j)
        # children or closing braces
        while True:
            word = tok.next("JOINT, End Site, } or MOTION")
            if word == "}":
                stack.pop()
                if not stack:
                    break
                continue
            if word == "JOINT":
                kind, name = "JOINT", tok.next("joint name")
                break
            if word == "End":
                tok.expect("Site")
                kind, name = "End", f"{m.names[stack[-1]]}_End"
                break
            raise InputSourceError(f"BVH: unexpected {word!r} in HIERARCHY")
        if not stack:
            break
    tok.expect("MOTION")
    tok.expect("Frames:")
    frames = int(tok.number("frame count"))
    tok.expect("Frame")
    tok.expect("Time:")
    m.frame_time = tok.number("frame time")
    m.offsets = np.asarray(offsets, np.float64).reshape(-1, 3)
    starts, total = [], 0
    for chans in m.channels:
        starts.append(total)
        total += len(chans)
    m.channel_start = starts
    rest = tok.items[tok.i:]
    if frames < 0 or len(rest) < frames * total:
        raise InputSourceError(
            f"BVH: {frames} frames x {total} channels need {frames * total} values, "
            f"found {len(rest)}")
    try:
        m.values = np.asarray(rest[:frames * total], np.float64).reshape(frames, total)
    except ValueError as err:
        raise InputSourceError(f"BVH: non-numeric motion value ({err})") from err
    if not np.isfinite(m.values).all():
        raise InputSourceError("BVH: motion values must be finite")
    return m


def load_bvh(path: str | Path) -> BvhMotion:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InputSourceError(f"cannot read BVH file {p}: {err}") from err
    try:
        return parse_bvh(text)
    except InputSourceError as err:
        raise InputSourceError(f"{p}: {err}") from err


def bvh_features(motion: BvhMotion, frames: int | None = None,
                 root_relative: bool = True) -> np.ndarray:
    """(T, J*3) float32 joint positions for the LSTM, root-centred, optionally resampled.

    Positions are divided by the skeleton's height range (max over frames of
    the vertical extent) so subjects of different size look alike.
    """
    pos = motion.positions()
    if root_relative:
        pos = pos - pos[:, :1]
    extent = float(np.max(pos.max(axis=1) - pos.min(axis=1))) if pos.size else 0.0
    if extent > 1e-9:
        pos = pos / extent
    if frames is not None and len(pos) > 0 and frames != len(pos):
        src = np.linspace(0, len(pos) - 1, frames)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, len(pos) - 1)
        w = (src - lo)[:, None, None]
        pos = (1 - w) * pos[lo] + w * pos[hi]
    return pos.reshape(len(pos), -1).astype(np.float32)
