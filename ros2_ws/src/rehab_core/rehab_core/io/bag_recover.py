"""Recover an MCAP bag whose writer was killed: no summary, no footer, no metadata.yaml.

Why: ``OutputBagWriter`` closes its MCAP chunk and flushes the file every
second, so after a SIGKILL every complete chunk is on disk; but rosbags (and
``ros2 bag``) refuse a file without its footer, and a rosbag2 directory
without ``metadata.yaml``. ``recover_mcap`` walks the file record by record
(MCAP spec: opcode u8, length u64, body), keeps every complete chunk's
schemas, channels and messages, stops at the first truncated record, and
writes them to a new, finished bag (the original is left untouched).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from rehab_core.errors import InputSourceError

_MAGIC = b"\x89MCAP0\r\n"
_SCHEMA, _CHANNEL, _MESSAGE, _CHUNK = 0x03, 0x04, 0x05, 0x06


@dataclass
class Recovered:
    """What ``recover_mcap`` found and wrote."""

    out: Path
    messages: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    truncated_bytes: int = 0  # the unfinished tail that was left out


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    (size,) = struct.unpack_from("<I", buf, pos)
    return buf[pos + 4:pos + 4 + size].decode(), pos + 4 + size


def _records(buf: bytes, pos: int, end: int):
    """(opcode, body) of every complete record in ``buf[pos:end]``, then the stop offset."""
    while pos + 9 <= end:
        op, size = buf[pos], struct.unpack_from("<Q", buf, pos + 1)[0]
        if pos + 9 + size > end:
            break
        yield op, buf[pos + 9:pos + 9 + size]
        pos += 9 + size
    yield None, pos


def _chunk_records(body: bytes) -> bytes:
    from rosbags.rosbag2.storage_mcap import decompress

    _start, _end, size, crc = struct.unpack_from("<QQQI", body, 0)
    compression, pos = _string(body, 28)
    (length,) = struct.unpack_from("<Q", body, pos)
    return decompress(body[pos + 8:pos + 8 + length], compression, size, crc)


def mcap_file(path: str | Path) -> Path:
    """The .mcap of a bag directory, or the file itself."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.mcap"))
        if len(files) != 1:
            raise InputSourceError(f"{path}: expected one .mcap file, found {len(files)}")
        return files[0]
    if not path.is_file():
        raise InputSourceError(f"bag not found: {path}")
    return path


def recover_mcap(path: str | Path, out: str | Path) -> Recovered:
    """Copy every complete message of a (possibly unfinished) MCAP bag into a new bag ``out``."""
    from rehab_core.io.output_bag import OutputBagWriter

    src = mcap_file(path)
    buf = src.read_bytes()
    if not buf.startswith(_MAGIC):
        raise InputSourceError(f"{src} is not an MCAP file")
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}
    result = Recovered(Path(out))
    with OutputBagWriter.open(out, "mcap") as bag:

        def take(op: int, body: bytes) -> None:
            if op == _SCHEMA:
                (sid,) = struct.unpack_from("<H", body, 0)
                schemas[sid] = _string(body, 2)[0]
            elif op == _CHANNEL:
                cid, sid = struct.unpack_from("<HH", body, 0)
                channels[cid] = (_string(body, 4)[0], schemas.get(sid, ""))
            elif op == _MESSAGE:
                cid, _seq, log_time = struct.unpack_from("<HIQ", body, 0)
                topic, msgtype = channels[cid]
                if not bag.has_topic(topic):
                    bag.add_topic(topic, msgtype)  # offered QoS is not recoverable
                bag.write(topic, log_time, body[22:])
                result.topics[topic] = result.topics.get(topic, 0) + 1
                result.messages += 1

        end = len(buf) - len(_MAGIC) if len(buf) > 2 * len(_MAGIC) and buf.endswith(_MAGIC) \
            else len(buf)  # a finished file ends with the magic again
        stop = end
        for op, body in _records(buf, len(_MAGIC), end):
            if op is None:
                stop = body
                break
            if op == _CHUNK:
                inner = _chunk_records(body)
                for inner_op, inner_body in _records(inner, 0, len(inner)):
                    if inner_op is not None:
                        take(inner_op, inner_body)
            else:
                take(op, body)
        result.truncated_bytes = end - stop
    return result
