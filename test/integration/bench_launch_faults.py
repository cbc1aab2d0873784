"""Fault figures under the real ``ros2 launch`` (separate processes, full stack.yaml).

``kill -9`` of each named component: launch respawns it, the lifecycle manager
brings it back; prints when the manager first noticed and when the node was
active again (targets: detected <= 4 s, active again <= 10 s), then Ctrl-C and
whether every process exited cleanly.

    make ros2-tools
    .venv/bin/python test/integration/bench_launch_faults.py [--input VIDEO] [NODE ...]

Needs the ROS 2 tools from ../shared/ros2-tools (``make ros2-tools``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ros2_cli import REPO, Launch, tool_env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", nargs="*", default=["pose_estimator", "recorder"])
    parser.add_argument("--input", default=str(REPO.parent / "shared" / "media" / "exercise" /
                                               "squat.mp4"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Launch(tool_env(), "rehab_bringup", "stack.launch.py", "use_container:=false",
                     f"input:={args.input}", cwd=Path(tmp))
        up = run.wait_line(r"autostart: ", 180)
        if not up or "all nodes active" not in up.string:
            print(run.text[-3000:])
            run.interrupt()
            return 1
        for node in args.nodes:
            mark, killed = len(run.lines), time.time()
            os.kill(run.pids()[f"{node}_node"], signal.SIGKILL)
            run.wait_line(rf"{node}: back to active", 60, start=mark)
            seen = run.stamped("lifecycle_manager", node, start=mark)
            back = run.stamped("lifecycle_manager", rf"{node}: back to active", start=mark)
            if not back:
                print(f"{node}: not back to active within 60 s")
                continue
            print(f"kill -9 {node}: detected after {seen[0][0] - killed:.1f} s ({seen[0][1]}), "
                  f"active again after {back[0][0] - killed:.1f} s", flush=True)
            time.sleep(2)
        code = run.interrupt()
        started, clean = run.text.count("process started"), run.text.count("finished cleanly")
        print(f"Ctrl-C: launch exit {code}; {clean} of {started - len(args.nodes)} running "
              f"processes finished cleanly; tracebacks: {run.text.count('Traceback')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
