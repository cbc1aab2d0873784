"""The stack's outputs as a rosbag2 (MCAP or sqlite3).

Why: ``outputs.jsonl`` is for people and scripts; a bag of the very messages
the stack published is what ROS tools (``ros2 bag info/play``, Foxglove,
PlotJuggler) read. It is written with ``rosbags`` like ``rehab bag
from-video`` (no ROS needed), with our ``rehab_interfaces`` types registered
so MCAP schemas / sqlite message definitions travel inside the bag.

``rosbag2_metadata.check_rosbag2_metadata`` checks what it writes the way
the real rosbag2 parser reads it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from rehab_core.errors import ConfigError, RehabError
from rehab_core.io.bag_qos import SENSOR_DATA_QOS as SENSOR_DATA_QOS  # re-exported
from rehab_core.io.bag_qos import TopicQos
from rehab_core.io.rosbag2_metadata import STORAGES as STORAGES  # re-exported
from rehab_core.io.rosbag2_metadata import (  # re-exported: its old home
    check_rosbag2_metadata as check_rosbag2_metadata,
)

#: 8 (Iron's format) opens on Humble to Kilted; 9 (Jazzy, Kilted) only on Jazzy and later
METADATA_VERSIONS = (8, 9)


def new_bag_path(parent: str | Path, name: str = "outputs_bag") -> Path:
    """``parent/name``, or ``name_1``, ``name_2`` ... when taken (a bag is never appended to)."""
    parent = Path(parent)
    path, n = parent / name, 0
    while path.exists():
        n += 1
        path = parent / f"{name}_{n}"
    return path


class OutputBagWriter:
    """Write serialised (CDR) messages of any known type to a new rosbag2.

    Use ``OutputBagWriter.open(path, storage)`` (also a context manager);
    ``add_topic`` before the first ``write`` to a topic. ``close`` writes
    ``metadata.yaml`` and is idempotent; leaving the ``with`` block by an
    exception still closes, so what was written stays readable.

    Callers may use it from any thread (a ROS executor's callbacks hop
    threads): every storage call runs on one thread of its own, because
    sqlite3 connections refuse use from another thread than their creator's.

    Crash safety: at most every ``flush_period_s`` the pending MCAP chunk is
    closed and the file flushed (sqlite3: the transaction committed), so a
    process killed outright (SIGKILL, power cut of the process) loses at most
    the last period; ``rehab bag recover`` turns such an unfinished MCAP (no
    summary, no metadata.yaml) back into a readable bag.
    """

    def __init__(self, path: str | Path, storage: str = "mcap", *, version: int = 8,
                 flush_period_s: float = 1.0) -> None:
        if storage not in STORAGES:
            raise ConfigError(f"unknown bag storage {storage!r}; use one of {list(STORAGES)}")
        if version not in METADATA_VERSIONS:
            raise ConfigError(f"rosbag2 metadata version {version} not in {METADATA_VERSIONS}")
        self.path = Path(path)
        self.storage = storage
        self.version = version
        self.counts: dict[str, int] = {}
        self._writer: Any = None
        self._connections: dict[str, Any] = {}
        self._io: ThreadPoolExecutor | None = None
        self.flush_period_s = flush_period_s
        self._flushed_at = time.monotonic()
        self.flushes = 0

    @classmethod
    def open(cls, path: str | Path, storage: str = "mcap", *, version: int = 8,
             flush_period_s: float = 1.0) -> OutputBagWriter:
        bag = cls(path, storage, version=version, flush_period_s=flush_period_s)
        bag._open()
        return bag

    def _open(self) -> None:
        from rosbags.rosbag2 import Writer

        from rehab_core.io.bag import storage_plugin

        if self.path.exists():
            raise RehabError(f"{self.path} exists; a rosbag2 is written to a new directory")
        writer = Writer(self.path, version=self.version,
                        storage_plugin=storage_plugin(self.storage))
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bag-writer")
        try:
            self._call(writer.open)
        except Exception as err:  # rosbags' WriterError, OSError
            self._io.shutdown()
            self._io = None
            raise RehabError(f"cannot create bag {self.path}: {err}") from err
        self._writer = writer

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)`` on the writer's own thread; its exception is raised here."""
        assert self._io is not None
        return self._io.submit(fn, *args, **kwargs).result()

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    def add_topic(self, name: str, msgtype: str, qos: TopicQos | None = None) -> None:
        """Declare ``name`` with its message type (ours or a standard one) and offered QoS."""
        from rehab_core.io.skeleton_bag import typestore

        if self._writer is None:
            raise RehabError(f"bag {self.path} is not open")
        if name in self._connections:
            raise RehabError(f"topic {name} is already in bag {self.path}")
        store = typestore()
        if msgtype not in store.fielddefs:
            raise ConfigError(f"unknown message type {msgtype!r} for bag topic {name}")
        offered = [qos.to_rosbags()] if qos is not None else []
        self._connections[name] = self._call(
            self._writer.add_connection, name, msgtype, typestore=store,
            offered_qos_profiles=offered)
        self.counts[name] = 0

    def has_topic(self, name: str) -> bool:
        return name in self._connections

    def write(self, topic: str, stamp_ns: int, cdr: bytes | memoryview) -> None:
        """Append one message; ``stamp_ns`` is its receive time in the bag."""
        if self._writer is None:
            raise RehabError(f"bag {self.path} is not open")
        conn = self._connections.get(topic)
        if conn is None:
            raise RehabError(f"topic {topic} was not added to bag {self.path}")
        self._call(self._writer.write, conn, int(stamp_ns), cdr)
        self.counts[topic] += 1
        if time.monotonic() - self._flushed_at >= self.flush_period_s:
            self.flush()

    def flush(self) -> None:
        """Make everything written so far survive a kill of this process (see the class)."""
        self._flushed_at = time.monotonic()
        if self._writer is not None:
            self._call(_flush_storage, self._writer)
            self.flushes += 1

    def close(self) -> None:
        """Finish the storage file and write ``metadata.yaml`` (no-op when closed)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            self._call(writer.close)
        except Exception as err:
            with contextlib.suppress(Exception):
                self._call(writer.abort)
            raise RehabError(f"cannot finish bag {self.path}: {err}") from err
        finally:
            assert self._io is not None
            self._io.shutdown()
            self._io = None

    def __enter__(self) -> OutputBagWriter:
        if self._writer is None:
            self._open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _flush_storage(writer: Any) -> None:
    """Close the pending MCAP chunk and flush the file, or commit the sqlite3 transaction.

    rosbags' writers have no flush of their own; this uses their storage objects
    (``McapWriter.close_chunk`` / ``bio``, ``Sqlite3Writer.conn``), checked here
    so a rosbags release without them only loses crash safety, never data.
    """
    storage = getattr(writer, "storage", None)
    chunk = getattr(storage, "chunk", None)
    if chunk is not None and hasattr(storage, "close_chunk") and hasattr(storage, "bio"):
        if chunk.bio.tell():
            storage.close_chunk()
        storage.bio.flush()
    elif hasattr(storage, "conn"):
        storage.conn.commit()
