"""The real ROS 2 tools in tests: ``ros2 launch`` in the background, ``ros2 ...`` CLI calls.

``make ros2-tools`` installs them from ``../shared/ros2-tools`` into the venv
(test material: a real ROS 2 install has its own); tests skip with that
reason when the folder is absent. Every call gets a private ROS_DOMAIN_ID and
localhost-only discovery, like the launch files give their processes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
TOOLS = Path(os.environ.get("REHAB_SHARED_DIR", REPO.parent / "shared")) / "ros2-tools"
LOG_STAMP = re.compile(r"\[(\d{9,}\.\d+)\] \[([^\]]+)\]: (.*)")


def install_tools() -> dict[str, str]:
    """``make ros2-tools`` (a no-op when done), then the environment for ``ros2``."""
    if not (TOOLS / "install.sh").is_file():
        pytest.skip(f"{TOOLS} is absent: the real ROS 2 launch/CLI tools cannot be installed")
    done = subprocess.run(["make", "-s", "ros2-tools", f"ROS2_TOOLS={TOOLS}"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return tool_env()


def tool_env(domain: int | None = None) -> dict[str, str]:
    domain = domain if domain is not None else 1 + (os.getpid() * 7 + zlib.crc32(b"l")) % 100
    return {**os.environ, "AMENT_PREFIX_PATH": str(VENV),
            "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
            "ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "PYTHONUNBUFFERED": "1"}


def ros2(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """One ``ros2`` CLI call (no daemon); its stdout, asserting success."""
    done = subprocess.run([str(VENV / "bin" / "ros2"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"ros2 {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def ros2_asked_again(env: dict[str, str], args: list[str],
                     settled: Callable[[subprocess.CompletedProcess], bool],
                     attempts: int) -> subprocess.CompletedProcess:
    """A ``ros2`` CLI call (no daemon, 3 s spin) asked again until ``settled(answer)``: on a
    loaded machine discovery may not yet have seen a node or a topic within the spin time.
    Returns the last answer."""
    cmd = [str(VENV / "bin" / "ros2"), *args, "--no-daemon", "--spin-time", "3"]
    for _ in range(attempts):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if settled(done):
            break
    return done


def lifecycle_get(env: dict[str, str], node: str, attempts: int = 4) -> str:
    """``ros2 lifecycle get NODE``, asked again while the answer is "Node not found"."""
    args = ["lifecycle", "get", node]
    done = ros2_asked_again(env, args, lambda d: "Node not found" not in d.stdout + d.stderr,
                            attempts)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout.strip()


def topic_info(env: dict[str, str], topic: str, complete: Callable[[str], bool],
               attempts: int = 5) -> str:
    """``ros2 topic info TOPIC --verbose``, asked again until ``complete(info)`` ("Unknown
    topic", or not all of its endpoints seen yet). Returns the last answer."""
    done = ros2_asked_again(env, ["topic", "info", topic, "--verbose"],
                            lambda d: d.returncode == 0 and complete(d.stdout + d.stderr),
                            attempts)
    return done.stdout + done.stderr


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def topic_hz(env: dict[str, str], topic: str, seconds: float = 8.0) -> float:
    """``ros2 topic hz`` for ``seconds``: the last average rate it printed (0 if none)."""
    proc = subprocess.Popen([str(VENV / "bin" / "ros2"), "topic", "hz", topic, "--window", "30",
                             "--spin-time", "3"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    rates = re.findall(r"average rate: ([\d.]+)", out)
    return float(rates[-1]) if rates else 0.0


class Launch:
    """``ros2 launch ...`` in its own session, its output collected line by line."""

    def __init__(self, env: dict[str, str], *args: str, cwd: Path | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([str(VENV / "bin" / "ros2"), "launch", *args], env=env,
                                     cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_line(self, pattern: str, timeout: float, start: int = 0) -> re.Match | None:
        found: list[re.Match] = []

        def seen() -> bool:
            for line in self.lines[start:]:
                match = re.search(pattern, line)
                if match:
                    found.append(match)
                    return True
            return self.proc.poll() is not None

        wait_for(seen, timeout)
        return found[0] if found else None

    def pids(self) -> dict[str, int]:
        """Process name (e.g. ``pose_estimator_node``) -> latest pid launch started."""
        out = {}
        for line in self.lines:
            match = re.search(r"\[INFO\] \[([a-z_]+)-\d+\]: process started with pid \[(\d+)\]",
                              line)
            if match:
                out[match.group(1)] = int(match.group(2))
        return out

    def stamped(self, node: str, pattern: str, start: int = 0) -> list[tuple[float, str]]:
        """(wall time, message) of ``node``'s log lines after line ``start`` matching pattern."""
        out = []
        for line in self.lines[start:]:
            match = LOG_STAMP.search(line)
            if match and match.group(2) == node and re.search(pattern, match.group(3)):
                out.append((float(match.group(1)), match.group(3)))
        return out

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C as a user gives it; launch's exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=30)  # every line up to EOF (launch has exited)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
