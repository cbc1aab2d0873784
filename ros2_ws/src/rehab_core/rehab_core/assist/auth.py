"""Who may command the exoskeleton: signed goals, operator tokens, a persisted e-stop latch.

Why files and not ROS parameters: any node on the domain can read another
node's parameters (``ros2 param get``), so a secret held in a parameter is no
secret. The parameters only name files (mode 0600) that the policy node, the
controller and the operator share on the host.

* ``GoalSigner`` / ``GoalVerifier``: HMAC-SHA256 over the goal's fields, the
  sender's wall-clock stamp and a per-sender counter; the verifier refuses
  stamps outside ``window_s`` and a signature it has already seen (replay).
* ``read_secret`` / ``load_or_create_key``: the shared goal key (created
  once, random, 0600, when missing) and the operator token (never created:
  an operator must write it).
* ``EstopLatch``: the latched emergency stop, written atomically to a file so
  it survives a restart of the node; an unreadable file reads as ENGAGED.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path

from rehab_core.errors import ConfigError

MIN_SECRET_BYTES = 16


def _f32(value: float) -> bytes:
    """Floats as the float32 the message carries, so both sides sign the same bytes."""
    return struct.pack("<f", value) if math.isfinite(value) else repr(float(value)).encode()


def goal_digest(key: bytes, side: str, level: float, mode: int, max_duration_s: float,
                stamp_ns: int) -> str:
    payload = b"|".join((side.encode(), _f32(level), str(int(mode)).encode(),
                         _f32(max_duration_s), str(int(stamp_ns)).encode()))
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


class GoalSigner:
    """Signs goals with the shared key; stamps are made unique (strictly increasing)."""

    def __init__(self, key: bytes, clock=time.time_ns) -> None:
        self._key, self._clock, self._last = key, clock, 0
        self._lock = threading.Lock()

    def sign(self, side: str, level: float, mode: int, max_duration_s: float) -> tuple[int, str]:
        with self._lock:
            stamp = max(int(self._clock()), self._last + 1)
            self._last = stamp
        return stamp, goal_digest(self._key, side, level, mode, max_duration_s, stamp)


class GoalVerifier:
    """Accepts a goal only if signed with the key, recent, and never seen before."""

    def __init__(self, key: bytes, window_s: float = 2.0, clock=time.time_ns,
                 max_remembered: int = 20000) -> None:
        if not window_s > 0:
            raise ConfigError(f"signature window must be > 0 s, got {window_s}")
        self._key, self._window_ns, self._clock = key, int(window_s * 1e9), clock
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._max = max_remembered
        self._lock = threading.Lock()

    def check(self, side: str, level: float, mode: int, max_duration_s: float, stamp_ns: int,
              signature: str) -> str | None:
        """Why the goal is refused, or None when it is authentic and fresh."""
        if not signature:
            return "unsigned goal (only the policy node holding the goal key may command)"
        want = goal_digest(self._key, side, level, mode, max_duration_s, stamp_ns)
        if not hmac.compare_digest(want, signature):
            return "bad signature (sender does not hold the goal key)"
        now = int(self._clock())
        if abs(now - int(stamp_ns)) > self._window_ns:
            return f"signature stamp {abs(now - int(stamp_ns)) / 1e9:.1f} s off (replay?)"
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self._window_ns
                                  or len(self._seen) >= self._max):
                self._seen.popitem(last=False)
            if signature in self._seen:
                return "replayed goal (signature already used)"
            self._seen[signature] = int(stamp_ns)
        return None


def read_secret(path: str | Path, what: str) -> bytes:
    """The secret in ``path`` (stripped), or a ConfigError saying what is wrong."""
    p = Path(path).expanduser()
    try:
        data = p.read_bytes().strip()
    except OSError as err:
        raise ConfigError(f"{what} file {p} unreadable: {err.strerror or err}") from None
    if len(data) < MIN_SECRET_BYTES:
        raise ConfigError(f"{what} file {p} holds {len(data)} bytes; at least "
                          f"{MIN_SECRET_BYTES} are needed")
    return data


def load_or_create_key(path: str | Path) -> bytes:
    """The shared goal key; created (random, mode 0600) if the file does not exist yet."""
    p = Path(path).expanduser()
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another node created it first: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    return read_secret(p, "goal key")


def token_matches(expected: bytes | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected, given.strip().encode())


class EstopLatch:
    """A latched emergency stop persisted in ``path`` ('' keeps it in memory only)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser() if str(path) else None
        self.engaged = False
        self.reason = ""
        if self.path is not None and self.path.exists():
            try:
                text = self.path.read_text().strip()
            except (OSError, UnicodeDecodeError) as err:
                text = f"engaged: latch file unreadable ({err})"
            self.engaged = text != "released"
            self.reason = text.partition(":")[2].strip() if self.engaged else ""

    def engage(self, reason: str) -> None:
        self.engaged, self.reason = True, reason
        self._write(f"engaged: {reason}")

    def release(self) -> None:
        self.engaged, self.reason = False, ""
        self._write("released")

    def _write(self, text: str) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
