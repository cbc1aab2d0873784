"""The recorder's rosbag2 of the stack's outputs: a real graph on the shipped skeleton sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from rclpy.serialization import deserialize_message

from rehab_core.errors import ConfigError
from rehab_core.io.bag import bag_topics, open_bag
from rehab_core.io.output_bag import SENSOR_DATA_QOS, TopicQos
from rehab_core.io.rosbag2_metadata import check_rosbag2_metadata
from rehab_core.io.skeleton_bag import typestore
from rehab_interfaces.msg import ActionPrediction, Skeleton2DArray
from rehab_perception.recorder_node import msg_type_name, offered_qos
from rehab_perception.run_graph import run_graph
from rehab_runtime import codecs

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "models" / "samples" / "squat_skeletons"
FRAMES = 596  # the whole sample: 6 squats, so /repetitions carries data too
COMPONENTS = ["image_source", "skeleton_tracker", "action_classifier", "repetition_counter",
              "recorder"]
#: bag topic -> outputs.jsonl key (the recorder reads tracked skeletons, as in stack.yaml)
JSONL_KEY = {"/tracked_skeletons": "skeletons", "/action": "action",
             "/repetitions": "repetitions", "/reach": "reach", "/detections": "detections"}


def _stack(out: Path, storage: str) -> dict:
    remap = ["action_classifier:skeletons:=tracked_skeletons",
             "repetition_counter:skeletons:=tracked_skeletons",
             "recorder:skeletons:=tracked_skeletons"]
    return {
        "rehab_container": {"ros__parameters": {"components": COMPONENTS, "remappings": remap}},
        "lifecycle_manager": {"ros__parameters": {"node_names": COMPONENTS[::-1]}},
        "action_classifier": {"ros__parameters": {
            "model_dir": str(REPO / "models" / "exercise_stgcn")}},
        "recorder": {"ros__parameters": {"output_dir": str(out), "bag_storage": storage}},
    }


def _jsonl_counts(out: Path) -> dict[str, int]:
    rows = [json.loads(line) for line in (out / "outputs.jsonl").read_text().splitlines()]
    counts = {"skeletons": sum("skeletons" in r for r in rows),
              "action": sum("action" in r for r in rows),
              "repetitions": sum(len(r.get("repetitions", [])) for r in rows),
              "reach": sum(len(r.get("reach", [])) for r in rows),
              "detections": sum("detections" in r for r in rows)}
    assert counts["skeletons"] == len(rows) == FRAMES
    return counts


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_recorder_bags_the_stacks_outputs(tmp_path, domain_id, storage):
    run = run_graph(_stack(tmp_path, storage), str(SAMPLE),
                    domain_id=domain_id, timeout_s=120)
    assert run.frames == FRAMES
    bag = tmp_path / "outputs_bag"
    assert check_rosbag2_metadata(bag, require_qos=True) == []
    counts = _jsonl_counts(tmp_path)
    topics = {t.name: (t.msgtype, t.count) for t in bag_topics(bag)[0]}
    # what carried data is in the bag, nothing else (no detector ran: no /detections)
    assert topics == {name: (msg_type_name(codec.msg_type), counts[JSONL_KEY[name]])
                      for name, codec in (("/tracked_skeletons", codecs.SKELETONS),
                                          ("/action", codecs.ACTION),
                                          ("/repetitions", codecs.REPETITION))}
    assert counts["action"] > 0 and counts["repetitions"] >= 5
    lines = (tmp_path / "outputs.jsonl").read_text().splitlines()
    rows = {r["stamp_ns"]: r for r in map(json.loads, lines)}
    with open_bag(bag, default_typestore=typestore()) as reader:
        raws: dict[str, list[tuple[int, bytes]]] = {}
        for conn, stamp, raw in reader.messages():
            raws.setdefault(conn.topic, []).append((stamp, bytes(raw)))
    # the real ROS types read the messages back; receive time = source stamp = jsonl row
    skeletons = [(s, deserialize_message(raw, Skeleton2DArray))
                 for s, raw in raws["/tracked_skeletons"]]
    assert [s for s, _ in skeletons] == sorted(rows)
    stamp, msg = next((s, m) for s, m in skeletons if m.skeletons)
    assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec == stamp
    row = rows[stamp]["skeletons"][0]
    assert msg.image_width == 1280 and len(msg.skeletons[0].keypoints) == 17
    assert msg.skeletons[0].track_id == row["track_id"]
    assert [round(k.x, 2) for k in msg.skeletons[0].keypoints] == [k[0] for k in row["keypoints"]]
    stamp, raw = raws["/action"][0]
    action = deserialize_message(raw, ActionPrediction)
    assert action.header.stamp.sec * 1_000_000_000 + action.header.stamp.nanosec == stamp
    assert action.label == rows[stamp]["action"]["label"]
    # type_description_hash (rosbags computes it) is the one rosidl generated for the install
    info = yaml.safe_load((bag / "metadata.yaml").read_text())
    for entry in info["rosbag2_bagfile_information"]["topics_with_message_count"]:
        meta = entry["topic_metadata"]
        generated = json.loads((Path(sys.prefix) / "share" / f"{meta['type']}.json").read_text())
        assert meta["type_description_hash"] == generated["type_hashes"][0]["hash_string"]


def test_a_second_activation_writes_a_new_bag_and_none_disables_it(tmp_path, domain_id):
    stack = _stack(tmp_path, "mcap")
    for _ in range(2):
        run_graph(stack, str(SAMPLE), max_frames=3, domain_id=domain_id, timeout_s=60)
    assert check_rosbag2_metadata(tmp_path / "outputs_bag") == []
    assert check_rosbag2_metadata(tmp_path / "outputs_bag_1") == []
    assert len((tmp_path / "outputs.jsonl").read_text().splitlines()) == 6  # appended as before
    stack["recorder"]["ros__parameters"]["bag_storage"] = "none"
    run_graph(stack, str(SAMPLE), max_frames=3, domain_id=domain_id, timeout_s=60)
    assert not (tmp_path / "outputs_bag_2").exists()


def test_an_unknown_bag_storage_fails_configure_clearly(tmp_path, domain_id):
    stack = _stack(tmp_path, "rosbag1")
    with pytest.raises(ConfigError, match=r"recorder: .*bag_storage.*'rosbag1'.*mcap"):
        run_graph(stack, str(SAMPLE), max_frames=3, domain_id=domain_id, timeout_s=60)


def test_recorded_qos_is_what_the_codecs_offer():
    assert offered_qos(codecs.IMAGE.qos) == SENSOR_DATA_QOS  # what write_image_bag records
    assert offered_qos(codecs.SKELETONS.qos) == TopicQos(depth=10)
