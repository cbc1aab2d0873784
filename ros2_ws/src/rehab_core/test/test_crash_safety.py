"""Data survives: strict JSON for non-finite numbers, sanitised skeletons, crash-safe bags.

Issue 12 findings 4 and 5: NaN / Infinity were written into JSONL (invalid
JSON), and a killed writer left an unreadable bag. Here a real writer
process is SIGKILLed mid-stream and its bag recovered.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from rehab_core import jsonsafe
from rehab_core.io.bag import bag_topics
from rehab_core.io.bag_recover import recover_mcap
from rehab_core.io.output_bag import OutputBagWriter
from rehab_core.io.skeleton_bag import typestore
from rehab_core.types import Detection, Skeleton


def test_non_finite_numbers_become_null_and_the_json_is_strict():
    value = {"a": float("nan"), "b": [1.0, float("inf"), np.float32("-inf")],
             "c": np.array([[0.5, np.nan]]), "d": (np.int64(3), "x")}
    text = jsonsafe.dumps(value)
    assert jsonsafe.loads_strict(text) == {"a": None, "b": [1.0, None, None],
                                           "c": [[0.5, None]], "d": [3, "x"]}
    with pytest.raises(ValueError, match="non-finite"):
        jsonsafe.loads_strict(json.dumps({"x": float("nan")}))


def test_skeletons_and_detections_are_cleaned_where_they_are_made():
    kp = np.array([[1.0, 2.0, 0.9], [np.nan, 2.0, 0.9], [1.0, np.inf, 0.9], [1.0, 2.0, -np.inf],
                   [3e38, 1.0, 0.5]], np.float32)
    s = Skeleton("coco17", kp, box=[0, np.nan, 5, 5], score=float("nan"))
    assert np.isfinite(s.keypoints).all()
    assert s.keypoints[0].tolist() == pytest.approx([1.0, 2.0, 0.9])
    assert (s.keypoints[1:] == 0).all()  # "not found"
    assert s.box.tolist() == [0, 0, 0, 0] and s.score == 0.0
    assert np.isnan(kp[1, 0])  # the caller's array is not modified
    d = Detection("toy", float("inf"), [0, 0, np.inf, 3])
    assert d.score == 0.0 and d.box.tolist() == [0, 0, 0, 0]


_WRITER = textwrap.dedent("""
    import os, signal, sys, time
    from rehab_core.io.output_bag import OutputBagWriter
    from rehab_core.io.skeleton_bag import typestore
    store = typestore()
    String = store.types["std_msgs/msg/String"]
    bag = OutputBagWriter.open(sys.argv[1], "mcap")
    bag.add_topic("/t", "std_msgs/msg/String")
    started = time.monotonic()
    while time.monotonic() - started < float(sys.argv[2]):
        stamp = time.time_ns()
        bag.write("/t", stamp, store.serialize_cdr(String(data="x" * 200), String.__msgtype__))
        print(stamp, flush=True)
        time.sleep(0.002)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_writer_loses_at_most_the_last_second(tmp_path):
    bag = tmp_path / "killed"
    done = subprocess.run([sys.executable, "-c", _WRITER, str(bag), "3.5"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -9
    written = [int(line) for line in done.stdout.split()]
    assert not (bag / "metadata.yaml").exists()  # killed: the writer never finished
    found = recover_mcap(bag, tmp_path / "recovered")
    topics, _duration, _start = bag_topics(tmp_path / "recovered")
    assert topics[0].name == "/t" and topics[0].count == found.messages
    lost_s = (written[-1] - _last_stamp(tmp_path / "recovered")) * 1e-9
    print(f"SIGKILL: {found.messages} of {len(written)} messages recovered, last {lost_s:.2f} s "
          "lost")
    assert 0 < found.messages <= len(written)
    assert lost_s <= 1.5  # the flush period (1 s) plus scheduling slack on a loaded machine


def _last_stamp(path) -> int:
    from rehab_core.io.bag import open_bag

    with open_bag(path) as reader:
        return max(t for _c, t, _raw in reader.messages())


def test_recovering_a_finished_bag_keeps_everything(tmp_path):
    store = typestore()
    msg_t = store.types["std_msgs/msg/String"]
    with OutputBagWriter.open(tmp_path / "whole", "mcap", flush_period_s=0.0) as bag:
        bag.add_topic("/a", "std_msgs/msg/String")
        for i in range(50):
            bag.write("/a", 1000 + i, store.serialize_cdr(msg_t(data=str(i)), msg_t.__msgtype__))
        assert bag.flushes == 50
    found = recover_mcap(tmp_path / "whole", tmp_path / "again")
    assert found.messages == 50 and found.truncated_bytes == 0
    assert bag_topics(tmp_path / "again")[0][0].count == 50


def test_flushing_is_time_based(tmp_path):
    store = typestore()
    msg_t = store.types["std_msgs/msg/String"]
    with OutputBagWriter.open(tmp_path / "b", "sqlite3", flush_period_s=0.2) as bag:
        bag.add_topic("/a", "std_msgs/msg/String")
        started = time.monotonic()
        while time.monotonic() - started < 0.7:
            bag.write("/a", time.time_ns(), store.serialize_cdr(msg_t(data="x"),
                                                                msg_t.__msgtype__))
            time.sleep(0.01)
        assert 2 <= bag.flushes <= math.ceil(0.7 / 0.2) + 1
