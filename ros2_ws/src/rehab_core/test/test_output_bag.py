"""The outputs bag writer (our message types, both storages) and the rosbag2 metadata check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rehab_core.errors import ConfigError, RehabError
from rehab_core.io.bag import bag_topics, write_image_bag
from rehab_core.io.output_bag import (
    SENSOR_DATA_QOS,
    OutputBagWriter,
    TopicQos,
    new_bag_path,
)
from rehab_core.io.rosbag2_metadata import check_rosbag2_metadata
from rehab_core.io.skeleton_bag import typestore
from rehab_core.types import Frame

REPO_ROOT = Path(__file__).resolve().parents[4]
SAMPLE = REPO_ROOT / "models" / "samples" / "squat_skeletons"
OURS = ("Skeleton2DArray", "ActionPrediction", "RepetitionEvent", "ReachState",
        "Detection2DArray")
_NUMPY = {"float32": np.float32, "float64": np.float64, "uint8": np.uint8, "int32": np.int32}


def _default(store: Any, typename: str) -> Any:
    """A message of ``typename`` with every field zero/empty (rosbags wants numpy for numbers)."""
    from rosbags.interfaces import Nodetype

    def value(node: tuple) -> Any:
        kind, args = node
        if kind == Nodetype.NAME:
            return _default(store, args)
        if kind == Nodetype.BASE:
            return "" if args[0] == "string" else False if args[0] == "bool" else 0
        elem, length = args
        if elem[0] == Nodetype.BASE and elem[1][0] in _NUMPY:
            return np.zeros(length if kind == Nodetype.ARRAY else 0, _NUMPY[elem[1][0]])
        return [value(elem) for _ in range(length if kind == Nodetype.ARRAY else 0)]

    _consts, fields = store.fielddefs[typename]
    return store.types[typename](**{name: value(node) for name, node in fields})


def _message(store: Any, short: str, i: int) -> Any:
    msg = _default(store, f"rehab_interfaces/msg/{short}")
    msg.header.stamp.sec, msg.header.frame_id = 100 + i, "camera"
    if short == "ActionPrediction":
        msg.label, msg.class_names = "squat", ["squat", "jumping_jacks"]
        msg.class_scores = np.array([0.75, 0.25], np.float32)
    elif short == "RepetitionEvent":
        msg.exercise, msg.count = "squat", i + 1
    elif short == "Skeleton2DArray":
        msg.image_width, msg.main_track_id = 640, 3
    return msg


def _write_ours(path: Path, storage: str, version: int, n: int = 3) -> dict[str, list[Any]]:
    store = typestore()
    sent: dict[str, list[Any]] = {}
    with OutputBagWriter.open(path, storage, version=version) as bag:
        for short in OURS:
            topic = f"/{short.lower()}"
            bag.add_topic(topic, f"rehab_interfaces/msg/{short}", TopicQos(depth=10))
            for i in range(n):
                msg = _message(store, short, i)
                bag.write(topic, (100 + i) * 1_000_000_000,
                          store.serialize_cdr(msg, f"rehab_interfaces/msg/{short}"))
                sent.setdefault(topic, []).append(msg)
        assert bag.counts == {t: n for t in sent}
    return sent


@pytest.mark.parametrize(("storage", "version"), [("mcap", 8), ("sqlite3", 8), ("mcap", 9),
                                                  ("sqlite3", 9)])
def test_our_types_round_trip_and_pass_the_metadata_check(tmp_path, storage, version):
    from rosbags.highlevel import AnyReader

    sent = _write_ours(tmp_path / "bag", storage, version)
    # a fresh reader knows none of our types: they must come from the bag itself
    with AnyReader([tmp_path / "bag"]) as reader:
        got: dict[str, list[Any]] = {}
        for conn, stamp, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            assert stamp == msg.header.stamp.sec * 1_000_000_000  # receive time = stamp
            got.setdefault(conn.topic, []).append(msg)
    assert sorted(got) == sorted(sent)
    action = got["/actionprediction"][1]
    assert action.label == "squat" and list(action.class_names) == ["squat", "jumping_jacks"]
    assert action.class_scores.tolist() == [0.75, 0.25]
    assert [m.count for m in got["/repetitionevent"]] == [1, 2, 3]
    assert got["/skeleton2darray"][0].main_track_id == 3
    assert check_rosbag2_metadata(tmp_path / "bag", require_qos=True) == []
    meta = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    info = meta["rosbag2_bagfile_information"]
    assert info["version"] == version and info["storage_identifier"] == storage
    qos = info["topics_with_message_count"][0]["topic_metadata"]["offered_qos_profiles"]
    if version == 8:  # a YAML string with rmw's enum values (history 1 = keep_last ...)
        assert isinstance(qos, str)
        qos = yaml.safe_load(qos)
        assert (qos[0]["history"], qos[0]["reliability"], qos[0]["durability"]) == (1, 1, 2)
    else:  # a list with the policy names
        assert (qos[0]["history"], qos[0]["reliability"]) == ("keep_last", "reliable")
    assert qos[0]["depth"] == 10


def test_rehab_bag_info_lists_our_types(tmp_path):
    _write_ours(tmp_path / "bag", "mcap", 8, n=2)
    topics, duration_s, start_ns = bag_topics(tmp_path / "bag")
    assert {(t.name, t.msgtype, t.count) for t in topics} == {
        (f"/{s.lower()}", f"rehab_interfaces/msg/{s}", 2) for s in OURS}
    assert duration_s == pytest.approx(1.0) and start_ns == 100_000_000_000


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_from_video_bags_record_sensor_qos_and_pass_the_check(tmp_path, storage):
    frames = [Frame(image=np.zeros((8, 12, 3), np.uint8), stamp_ns=1_000 + i * 10_000_000,
                    index=i) for i in range(4)]
    write_image_bag(tmp_path / "img", frames, storage=storage)
    assert check_rosbag2_metadata(tmp_path / "img", require_qos=True) == []
    info = yaml.safe_load((tmp_path / "img" / "metadata.yaml").read_text())
    for entry in info["rosbag2_bagfile_information"]["topics_with_message_count"]:
        qos = yaml.safe_load(entry["topic_metadata"]["offered_qos_profiles"])
        assert (qos[0]["reliability"], qos[0]["depth"]) == (2, 5)  # best effort, keep last 5


def test_shipped_sample_passes_the_check():
    assert check_rosbag2_metadata(SAMPLE) == []


def _break(bag: Path, edit) -> list[str]:
    meta = bag / "metadata.yaml"
    doc = yaml.safe_load(meta.read_text())
    edit(doc["rosbag2_bagfile_information"])
    meta.write_text(yaml.safe_dump(doc))
    return check_rosbag2_metadata(bag)


def _topic(info: dict) -> dict:
    return info["topics_with_message_count"][0]["topic_metadata"]


@pytest.mark.parametrize(("edit", "expect"), [
    (lambda i: i.pop("ros_distro"), "ros_distro must be a string"),
    (lambda i: i["duration"].update(nanoseconds=1.5), "duration.nanoseconds must be an unsigned"),
    (lambda i: i.update(relative_file_paths=["gone.mcap"]), "gone.mcap does not exist"),
    (lambda i: i["topics_with_message_count"][0].update(message_count=7),
     "message_count 15 != sum of topic message counts 19"),
    (lambda i: _topic(i).update(serialization_format="json"), "not 'cdr'"),
    (lambda i: _topic(i).update(offered_qos_profiles=[{"history": 1}]),
     "must be a YAML string up to version 8"),
    (lambda i: _topic(i).update(offered_qos_profiles="- history: 7\n  depth: 1\n"),
     "history must be an rmw enum value, got 7"),
    (lambda i: i.update(storage_identifier="rosbags"), "storage_identifier 'rosbags'"),
])
def test_a_broken_metadata_yaml_is_reported(tmp_path, edit, expect):
    _write_ours(tmp_path / "bag", "mcap", 8)
    problems = _break(tmp_path / "bag", edit)
    assert any(expect in p for p in problems), problems


def test_counts_that_disagree_with_the_files_are_reported(tmp_path):
    _write_ours(tmp_path / "bag", "sqlite3", 8)

    def lie(info: dict) -> None:
        info["message_count"] = info["files"][0]["message_count"] = 16
        info["topics_with_message_count"][0]["message_count"] = 4

    problems = _break(tmp_path / "bag", lie)
    assert problems == ["topic /skeleton2darray: metadata says 4 messages, the files hold 3"]


def test_v9_profiles_need_policy_names(tmp_path):
    _write_ours(tmp_path / "bag", "mcap", 9)
    problems = _break(tmp_path / "bag", lambda i: _topic(i)["offered_qos_profiles"][0].update(
        history="unknown", depth=-1))
    assert problems == [
        "topics_with_message_count[0].topic_metadata.offered_qos_profiles[0].history must be "
        "one of ['system_default', 'keep_last', 'keep_all'], got 'unknown'",
        "topics_with_message_count[0].topic_metadata.offered_qos_profiles[0].depth must be an "
        "unsigned integer, got -1",
    ]


def test_not_a_bag_is_reported(tmp_path):
    assert "missing" in check_rosbag2_metadata(tmp_path)[0]
    (tmp_path / "metadata.yaml").write_text("version: 8\n")
    assert "rosbag2_bagfile_information" in check_rosbag2_metadata(tmp_path)[0]


def test_writer_misuse_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown bag storage"):
        OutputBagWriter.open(tmp_path / "a", "rosbag1")
    with pytest.raises(ConfigError, match="QoS reliability"):
        TopicQos(reliability="sometimes")
    with OutputBagWriter.open(tmp_path / "b") as bag:
        with pytest.raises(ConfigError, match="unknown message type"):
            bag.add_topic("/x", "rehab_interfaces/msg/Nope")
        with pytest.raises(RehabError, match="was not added"):
            bag.write("/x", 0, b"")
    with pytest.raises(RehabError, match="exists"):
        OutputBagWriter.open(tmp_path / "b")
    assert check_rosbag2_metadata(tmp_path / "b") == []  # an empty bag is still a valid bag


def test_an_exception_inside_the_block_still_finalises_the_bag(tmp_path):
    store = typestore()
    with pytest.raises(RuntimeError), OutputBagWriter.open(tmp_path / "bag") as bag:
        bag.add_topic("/a", "rehab_interfaces/msg/ActionPrediction", SENSOR_DATA_QOS)
        bag.write("/a", 5, store.serialize_cdr(_message(store, "ActionPrediction", 0),
                                               "rehab_interfaces/msg/ActionPrediction"))
        raise RuntimeError("stage crashed")
    assert check_rosbag2_metadata(tmp_path / "bag") == []


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_any_thread_may_write_and_close(tmp_path, storage):
    """A ROS executor calls back on several threads; sqlite3 alone would refuse that."""
    import threading

    store = typestore()
    raw = store.serialize_cdr(_message(store, "RepetitionEvent", 0),
                              "rehab_interfaces/msg/RepetitionEvent")
    bag = OutputBagWriter.open(tmp_path / "bag", storage)
    bag.add_topic("/repetitions", "rehab_interfaces/msg/RepetitionEvent")
    threads = [threading.Thread(target=bag.write, args=("/repetitions", i, raw))
               for i in range(3)]
    for t in threads:
        t.start()
        t.join()
    closer = threading.Thread(target=bag.close)
    closer.start()
    closer.join()
    assert bag_topics(tmp_path / "bag")[0][0].count == 3
    assert check_rosbag2_metadata(tmp_path / "bag") == []


def test_new_bag_path_never_reuses_a_folder(tmp_path):
    assert new_bag_path(tmp_path) == tmp_path / "outputs_bag"
    (tmp_path / "outputs_bag").mkdir()
    (tmp_path / "outputs_bag_1").mkdir()
    assert new_bag_path(tmp_path) == tmp_path / "outputs_bag_2"
