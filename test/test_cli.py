"""The ``rehab`` console script from a plain shell, and its bad-input contract:
one clear error line, a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REHAB = REPO_ROOT / ".venv" / "bin" / "rehab"
PLAIN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}


def rehab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    if not REHAB.exists():
        pytest.fail(f"{REHAB} missing: run make setup")
    return subprocess.run(
        [str(REHAB), *args], env=PLAIN_ENV, capture_output=True, text=True, timeout=timeout
    )


def test_help_works_with_nothing_sourced():
    done = rehab("--help")
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout and "train" in done.stdout
    assert "warning" not in done.stderr, done.stderr


def assert_one_clear_error(done: subprocess.CompletedProcess, *needles: str,
                           command: str = "run") -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"rehab {command}: error:")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_file(tmp_path):
    assert_one_clear_error(rehab("run", str(tmp_path / "nope.mp4"), "--out", str(tmp_path)),
                           "not found", "nope.mp4")


def test_unreadable_video(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    assert_one_clear_error(rehab("run", str(broken), "--out", str(tmp_path / "o")), "broken.mp4")


def test_empty_bag(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    bag = tmp_path / "empty_bag"
    with Writer(bag, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=store)
    assert_one_clear_error(rehab("run", str(bag), "--out", str(tmp_path / "o")), "no messages")


def test_bag_without_images(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    bag = tmp_path / "strings"
    string_t = store.types["std_msgs/msg/String"]
    with Writer(bag, version=8, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conn = writer.add_connection("/chatter", string_t.__msgtype__, typestore=store)
        writer.write(conn, 1, store.serialize_cdr(string_t(data="hi"), string_t.__msgtype__))
    assert_one_clear_error(rehab("run", str(bag), "--out", str(tmp_path / "o")), "no image topic")


def test_camera_that_does_not_open(tmp_path):
    assert_one_clear_error(rehab("run", "9", "--out", str(tmp_path)), "camera 9")


def test_directory_that_is_not_a_bag(tmp_path):
    assert_one_clear_error(rehab("run", str(tmp_path), "--out", str(tmp_path / "o")),
                           "not a rosbag2")


@pytest.mark.parametrize("plan", ["- {exercise: squat, repetitions: 5}\n"
                                  "- {exercise: bicep curl, repetitions: 8}\n",
                                  "- {exercise: unknown, repetitions: 3}\n"])
def test_a_session_goal_the_model_does_not_know_is_refused_before_the_input_runs(
        tmp_path, plan):
    """It ran the whole input, then reported the goal 'rejected' and exited 0."""
    path = tmp_path / "plan.yaml"
    path.write_text("goals:\n" + "".join("  " + line for line in plan.splitlines(True)))
    done = rehab("session", "--plan", str(path), "--input", str(tmp_path / "never_read.npz"),
                 "--out", str(tmp_path / "out"))
    assert_one_clear_error(done, "unknown exercise", "squat, lunge", command="session")
    assert not (tmp_path / "out").exists()
