"""A check of a rosbag2's ``metadata.yaml`` against the rules of rosbag2's own parser.

Why: there is no ROS 2 install in CI to run ``ros2 bag info``; a bag that
passes :func:`check_rosbag2_metadata` opens with it on Humble to Kilted. The
tests of our bag writers (``output_bag``, ``skeleton_bag``) read their bags with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rehab_core.io.bag_qos import POLICIES as _POLICIES

#: the storage plugins rosbag2 ships (and our writers write)
STORAGES = ("mcap", "sqlite3")
_MAX_U64 = 2**64 - 1
_QOS_TIMES = ("deadline", "lifespan", "liveliness_lease_duration")
_TYPE_RE = re.compile(r"^[A-Za-z][\w]*/(msg|srv|action)/[A-Z][A-Za-z0-9]*$")
_SUFFIX = {"mcap": ".mcap", "sqlite3": ".db3"}


def check_rosbag2_metadata(path: str | Path, *, require_qos: bool = False) -> list[str]:
    """Problems a real rosbag2 would have with the bag at ``path`` (empty list = ok).

    The schema follows rosbag2's own parser, which its maintainers name as
    the format's specification (ros2/rosbag2#1258):
    ``rosbag2_storage/include/rosbag2_storage/yaml.hpp`` (``convert<BagMetadata>``,
    ``convert<TopicMetadata>``, ``convert<FileInformation>``: which keys each
    version requires, all counts and times as uint64 ``nanoseconds`` /
    ``nanoseconds_since_epoch``) and ``rosbag2_storage/src/rosbag2_storage/qos.cpp``
    (``convert<rclcpp::QoS>``: up to version 8 ``offered_qos_profiles`` is a YAML
    *string* of profiles with integer policies; from version 9, ros2/rosbag2#1476,
    a YAML *list* of profiles with policy names as ``rmw_qos_*_policy_to_str``).
    The storage files are also read (with ``rosbags``) to check that the
    message counts, starting time and duration match what they hold.
    ``require_qos``: also report topics recorded without an offered profile.
    """
    bag = Path(path)
    meta_path = bag / "metadata.yaml"
    if not meta_path.is_file():
        return [f"{meta_path}: missing (a rosbag2 is a directory with metadata.yaml)"]
    try:
        doc = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        return [f"{meta_path}: not YAML: {err}"]
    info = doc.get("rosbag2_bagfile_information") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        return ["top-level key 'rosbag2_bagfile_information' (a mapping) is missing"]
    problems = _check_info(info, bag, require_qos)
    if not problems:
        problems += _check_against_storage(info, bag)
    return problems


def _is_u64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_U64


def _u64(node: Any, key: str, where: str, problems: list[str]) -> int | None:
    value = node.get(key) if isinstance(node, dict) else None
    if not _is_u64(value):
        problems.append(f"{where}.{key} must be an unsigned integer, got {value!r}")
        return None
    return value


def _string(node: dict, key: str, where: str, problems: list[str]) -> str | None:
    value = node.get(key)
    if not isinstance(value, str):
        problems.append(f"{where}.{key} must be a string, got {value!r}")
        return None
    return value


def _check_info(info: dict, bag: Path, require_qos: bool) -> list[str]:
    problems: list[str] = []
    version = info.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 9:
        return [f"version must be an integer 1..9 (rosbag2 up to Kilted), got {version!r}"]
    storage = _string(info, "storage_identifier", "", problems)
    if storage is not None and storage not in STORAGES:
        problems.append(f"storage_identifier {storage!r} is not one of rosbag2's {STORAGES}")
    _u64(info.get("duration"), "nanoseconds", "duration", problems)
    _u64(info.get("starting_time"), "nanoseconds_since_epoch", "starting_time", problems)
    total = _u64(info, "message_count", "", problems)
    paths = info.get("relative_file_paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        problems.append(f"relative_file_paths must be a non-empty list of strings, got {paths!r}")
        paths = []
    compressed = False
    if version >= 3:
        _string(info, "compression_format", "", problems)
        compressed = bool(_string(info, "compression_mode", "", problems))
    for rel in paths:
        if not (bag / rel).is_file():
            problems.append(f"relative_file_paths: {rel} does not exist in {bag}")
        elif storage in _SUFFIX and not compressed and not rel.endswith(_SUFFIX[storage]):
            problems.append(f"relative_file_paths: {rel} is not a {storage} file")
    if version >= 5:
        problems += _check_files(info.get("files"), paths, total)
    if version >= 6:
        custom = info.get("custom_data")
        if custom is not None and not (isinstance(custom, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in custom.items())):
            problems.append(f"custom_data must be empty or a string->string map, got {custom!r}")
    if version >= 8:
        _string(info, "ros_distro", "", problems)
    topics = info.get("topics_with_message_count")
    if not isinstance(topics, list):
        problems.append("topics_with_message_count must be a list")
        return problems
    counted = 0
    for i, entry in enumerate(topics):
        where = f"topics_with_message_count[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping")
            continue
        counted += _u64(entry, "message_count", where, problems) or 0
        problems += _check_topic(entry.get("topic_metadata"), version, f"{where}.topic_metadata",
                                 require_qos)
    if total is not None and counted != total:
        problems.append(f"message_count {total} != sum of topic message counts {counted}")
    return problems


def _check_files(files: Any, paths: list[str], total: int | None) -> list[str]:
    if not isinstance(files, list):
        return ["files must be a list (metadata version >= 5)"]
    problems: list[str] = []
    counted = 0
    for i, entry in enumerate(files):
        where = f"files[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping")
            continue
        name = _string(entry, "path", where, problems)
        if name is not None and name not in paths:
            problems.append(f"{where}.path {name} is not in relative_file_paths")
        _u64(entry.get("starting_time"), "nanoseconds_since_epoch", f"{where}.starting_time",
             problems)
        _u64(entry.get("duration"), "nanoseconds", f"{where}.duration", problems)
        counted += _u64(entry, "message_count", where, problems) or 0
    if total is not None and files and counted != total:
        problems.append(f"message_count {total} != sum of files' message counts {counted}")
    return problems


def _check_topic(meta: Any, version: int, where: str, require_qos: bool) -> list[str]:
    if not isinstance(meta, dict):
        return [f"{where} must be a mapping"]
    problems: list[str] = []
    name = _string(meta, "name", where, problems)
    if name is not None and not name.startswith("/"):
        problems.append(f"{where}.name {name!r} is not a fully qualified topic name")
    msgtype = _string(meta, "type", where, problems)
    if msgtype is not None and not _TYPE_RE.match(msgtype):
        problems.append(f"{where}.type {msgtype!r} is not of the form pkg/msg/Type")
    fmt = _string(meta, "serialization_format", where, problems)
    if fmt is not None and fmt != "cdr":
        problems.append(f"{where}.serialization_format is {fmt!r}, not 'cdr'")
    if version >= 7:
        _string(meta, "type_description_hash", where, problems)
    if version >= 4:
        problems += _check_qos_field(meta, version, f"{where}.offered_qos_profiles", require_qos)
    return problems


def _check_qos_field(meta: dict, version: int, where: str, require_qos: bool) -> list[str]:
    if "offered_qos_profiles" not in meta:
        return [f"{where} is missing"]
    raw = meta["offered_qos_profiles"]
    if version <= 8:
        if not isinstance(raw, str):
            return [f"{where} must be a YAML string up to version 8, got {type(raw).__name__}"]
        try:
            profiles = yaml.safe_load(raw) if raw.strip() else []
        except yaml.YAMLError as err:
            return [f"{where}: not YAML: {err}"]
    else:
        profiles = raw
    if not isinstance(profiles, list):
        return [f"{where} must hold a list of QoS profiles, got {profiles!r}"]
    if require_qos and not profiles:
        return [f"{where} is empty: the publisher's QoS was not recorded"]
    problems: list[str] = []
    for i, profile in enumerate(profiles):
        problems += _check_profile(profile, version, f"{where}[{i}]")
    return problems


def _check_profile(profile: Any, version: int, where: str) -> list[str]:
    if not isinstance(profile, dict):
        return [f"{where} must be a mapping"]
    problems: list[str] = []
    for policy, names in _POLICIES.items():
        value = profile.get(policy)
        if version <= 8:
            ok = isinstance(value, int) and not isinstance(value, bool) and \
                0 <= value < len(names) and names[value] != "unknown"
            want = "an rmw enum value"
        else:
            ok = value in names and value != "unknown"  # 'unknown' breaks playback
            want = f"one of {[n for n in names if n != 'unknown']}"
        if not ok:
            problems.append(f"{where}.{policy} must be {want}, got {value!r}")
    _u64(profile, "depth", where, problems)
    for key in _QOS_TIMES:
        node = profile.get(key)
        _u64(node, "sec", f"{where}.{key}", problems)
        _u64(node, "nsec", f"{where}.{key}", problems)
    if not isinstance(profile.get("avoid_ros_namespace_conventions"), bool):
        problems.append(f"{where}.avoid_ros_namespace_conventions must be a boolean")
    return problems


def _check_against_storage(info: dict, bag: Path) -> list[str]:
    """Counts and time range of metadata.yaml against the messages the files hold."""
    from rosbags.rosbag2 import Reader

    counts: dict[str, int] = {}
    first, last = None, None
    try:
        with Reader(bag) as reader:
            for conn, stamp, _raw in reader.messages():
                counts[conn.topic] = counts.get(conn.topic, 0) + 1
                first = stamp if first is None else min(first, stamp)
                last = stamp if last is None else max(last, stamp)
    except Exception as err:  # rosbags raises several unrelated types
        return [f"storage files of {bag} cannot be read: {err}"]
    problems = []
    for entry in info["topics_with_message_count"]:
        name = entry["topic_metadata"]["name"]
        held = counts.pop(name, 0)
        if entry["message_count"] != held:
            problems.append(f"topic {name}: metadata says {entry['message_count']} messages, "
                            f"the files hold {held}")
    for name, held in counts.items():
        problems.append(f"topic {name}: {held} messages in the files, not in metadata.yaml")
    if first is not None:
        if info["starting_time"]["nanoseconds_since_epoch"] != first:
            problems.append(f"starting_time {info['starting_time']['nanoseconds_since_epoch']} "
                            f"!= first message time {first}")
        if info["duration"]["nanoseconds"] != last - first:
            problems.append(f"duration {info['duration']['nanoseconds']} != last - first message "
                            f"time {last - first}")
    return problems
