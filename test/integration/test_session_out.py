"""``rehab session --out DIR`` keeps everything it writes under DIR, the graph's
recording included (it used to land in ./out/recording, issue 13 finding 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
DOMAIN = 1 + (os.getpid() * 17 + zlib.crc32(__name__.encode())) % 100


def test_session_writes_its_recording_under_out(tmp_path):
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(30):
        image = np.full((120, 160, 3), 30, np.uint8)
        cv2.circle(image, (20 + i * 3, 60), 12, (0, 200, 0), -1)
        writer.write(image)
    writer.release()
    stack = yaml.safe_load((REPO / "launch" / "config" / "stack.yaml").read_text())
    keep = ["recorder", "skeleton_tracker", "pose_estimator", "image_source"]
    stack["rehab_container"]["ros__parameters"].update(
        components=keep[::-1], remappings=["recorder:skeletons:=tracked_skeletons"])
    stack["lifecycle_manager"]["ros__parameters"]["node_names"] = keep
    params = tmp_path / "stack.yaml"
    params.write_text(yaml.safe_dump(stack))
    out, cwd = tmp_path / "session", tmp_path / "cwd"
    cwd.mkdir()
    done = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "rehab"), "session", "--exercise", "squat",
         "--repetitions", "1", "--time-limit", "5", "--input", str(clip), "--out", str(out),
         "--params", str(params), "--quiet"],
        cwd=cwd, env={**os.environ, "ROS_DOMAIN_ID": str(DOMAIN)}, capture_output=True,
        text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads((out / "session.json").read_text())["goals"]
    recording = out / "recording" / "outputs.jsonl"
    assert recording.is_file() and recording.read_text().strip(), sorted(out.rglob("*"))
    assert not (cwd / "out").exists(), sorted(cwd.rglob("*"))
