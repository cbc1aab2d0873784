"""Launch files compile and name only things that exist; ``rehab up`` runs and stops cleanly."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch"
EXE_DIR = Path(sys.prefix) / "lib" / "rehab_perception"
DOMAIN = 1 + (os.getpid() * 31 + zlib.crc32(__name__.encode())) % 100


BRINGUP = REPO / "ros2_ws" / "src" / "rehab_bringup"


def _launch_files() -> list[Path]:
    files = sorted([*LAUNCH.glob("*.launch.py"), *(BRINGUP / "launch").glob("*.launch.py")])
    assert len(files) >= 4, f"launch files missing: {files}"
    return files


def _string_constants(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def test_launch_files_compile():
    for path in _launch_files():
        compile(path.read_text(), str(path), "exec")


def test_launch_files_name_existing_executables_and_params():
    from rehab_runtime import stack_config

    for path in _launch_files():
        tree = ast.parse(path.read_text())
        consts = _string_constants(tree)
        # literal executables
        for call in ast.walk(tree):
            if isinstance(call, ast.Call):
                kws = {kw.arg: kw.value for kw in call.keywords}
                package = kws.get("package")
                exe_dir = (EXE_DIR.parent / package.value if isinstance(package, ast.Constant)
                           else EXE_DIR)
                exe = kws.get("executable")
                if isinstance(exe, ast.Constant):
                    assert (exe_dir / exe.value).is_file(), exe.value
        # the exoskeleton pair's executables (named in a dict) exist too
        for name in ("exo_assist_node", "exo_simulator_node", "joint_trajectory_adapter"):
            if name in consts:
                assert (EXE_DIR.parent / "rehab_assist" / name).is_file(), name
        # parameter files: every config/*.yaml it mentions exists (rehab_bringup/config,
        # which launch/config links to)
        for name in {c for c in consts if c.endswith((".yaml", ".yml"))}:
            for folder in (BRINGUP / "config", LAUNCH / "config"):
                assert (folder / Path(name).name).is_file(), f"{path.name} names {name}, missing"
    # executables built from the parameter file (f"{plugin}_node") exist too
    stack = stack_config.load_stack(LAUNCH / "config" / "stack.yaml")
    for spec in stack_config.components(stack):
        assert (EXE_DIR / f"{spec.plugin}_node").is_file(), spec.plugin
    for name in ("component_container", "lifecycle_manager"):
        assert (EXE_DIR.parent / "rehab_runtime" / name).is_file(), name


def test_stack_yaml_is_consistent():
    """Every managed node is loaded, every loaded node is managed, each has its section."""
    from rehab_runtime import stack_config
    from rehab_runtime.container import component_class

    stack = stack_config.load_stack(LAUNCH / "config" / "stack.yaml")
    loaded = [s.name for s in stack_config.components(stack)]
    managed = stack_config.manager_params(stack)["node_names"]
    assert sorted(loaded) == sorted(managed)
    assert managed[-1] == "image_source"  # the source starts last: no frame before consumers
    for spec in stack_config.components(stack):
        cls = component_class(spec.plugin)
        declared = {p.name for p in cls.PARAMS} | {"autostart", "diagnostics_period"}
        assert set(stack[spec.name]["ros__parameters"]) <= declared, spec.name


def _clip(tmp_path: Path, frames: int) -> Path:
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(frames):
        image = np.full((120, 160, 3), 30, np.uint8)
        cv2.circle(image, (20 + i % 120, 60), 12, (0, 200, 0), -1)
        writer.write(image)
    writer.release()
    return clip


def _up_params(tmp_path: Path) -> Path:
    params = yaml.safe_load((LAUNCH / "config" / "stack.yaml").read_text())
    keep = ["skeleton_tracker", "pose_estimator", "recorder", "image_source"]
    params["rehab_container"]["ros__parameters"]["components"] = keep[::-1]
    params["rehab_container"]["ros__parameters"]["remappings"] = [
        "recorder:skeletons:=tracked_skeletons"]
    params["lifecycle_manager"]["ros__parameters"]["node_names"] = keep
    params["recorder"]["ros__parameters"]["output_dir"] = str(tmp_path / "rec")
    params_file = tmp_path / "stack.yaml"
    params_file.write_text(yaml.safe_dump(params))
    return params_file


def _rehab_up(tmp_path: Path, clip: Path, *extra: str,
              params: Path | None = None) -> subprocess.Popen:
    rehab = Path(sys.prefix) / "bin" / "rehab"
    params = params or _up_params(tmp_path)
    return subprocess.Popen(
        [str(rehab), "up", "--params", str(params), "--input", str(clip), *extra],
        env={**os.environ, "ROS_DOMAIN_ID": str(DOMAIN)}, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_container_with_a_missing_input_says_so_in_one_line(tmp_path):
    """`ros2 launch ... input:=/nope.mp4` (the container) died with a traceback."""
    exe = Path(sys.prefix) / "lib" / "rehab_runtime" / "component_container"
    done = subprocess.run([str(exe), "--params", str(_up_params(tmp_path)), "--input",
                           str(tmp_path / "nope.mp4")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "ROS_DOMAIN_ID": str(DOMAIN)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == f"component_container: error: input not found: " \
        f"{tmp_path / 'nope.mp4'}", done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_rehab_up_runs_until_a_signal_and_stops_cleanly(tmp_path, sig):
    proc = _rehab_up(tmp_path, _clip(tmp_path, 300))
    out = tmp_path / "rec" / "outputs.jsonl"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_file() and out.stat().st_size:  # frames flowed through the stack
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        signalled = time.monotonic()
        proc.send_signal(sig)
        log, _ = proc.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log[-3000:]
    assert "deactivated" in log and "cleaned up" in log  # lifecycle teardown, not a kill
    # launch escalates to SIGTERM/SIGKILL after 5 s: the teardown is bounded well below
    assert took < 5.0 and "Traceback" not in log, (took, log[-3000:])
    lines = out.read_text().splitlines()
    assert lines and all(line.startswith("{") and line.endswith("}") for line in lines)


def test_rehab_up_exit_at_end_takes_the_stack_down_and_exits_0(tmp_path):
    proc = _rehab_up(tmp_path, _clip(tmp_path, 30), "--exit-at-end")
    try:
        log, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log[-3000:]
    assert "input ended: taking the stack down" in log and "Traceback" not in log, log[-3000:]
    assert log.count("cleaned up") == 4, log[-3000:]  # every component, once: no restart after
    assert "bringing it back" not in log


@pytest.mark.parametrize("how", ["rehab_up", "container_and_manager"])
def test_exit_at_end_publishes_the_repetition_in_progress(shared_dir, tmp_path, how):
    """A real deadlift clip cut at lockout: its one repetition is still in progress at the
    last frame. As a goal does on input_ended (and ``rehab run`` at the end of its input),
    the stack's counter closes it once the input ended and publishes it before the stack
    goes down; the recorder writes it on the last frame. ``rehab up --exit-at-end`` (the
    manager in the process waits ``end_of_input_settle_s``), and ``component_container
    --exit-at-end`` without ``--manager`` beside a ``lifecycle_manager`` process (the
    container waits the same time itself)."""
    from rehab_core.datasets.extract import extract_skeletons
    from rehab_core.io.skeleton_store import save_skeletons

    clip = shared_dir / "corpus" / "media" / "deadlift" / "jeffchen_deadlift_good.mp4"
    skeletons = save_skeletons(tmp_path / "deadlift.npz", extract_skeletons(clip))
    params = yaml.safe_load((LAUNCH / "config" / "stack.yaml").read_text())
    keep = ["recorder", "repetition_counter", "skeleton_tracker", "image_source"]
    container = params["rehab_container"]["ros__parameters"]
    container["components"] = keep[::-1]
    container["remappings"] = [r for r in container["remappings"]
                               if r.split(":")[0] in keep]
    params["lifecycle_manager"]["ros__parameters"]["node_names"] = keep
    params["recorder"]["ros__parameters"]["output_dir"] = str(tmp_path / "rec")
    params["repetition_counter"]["ros__parameters"]["exercise"] = "deadlift"
    params_file = tmp_path / "stack.yaml"
    params_file.write_text(yaml.safe_dump(params))
    manager = None
    if how == "rehab_up":
        proc = _rehab_up(tmp_path, skeletons, "--exit-at-end", params=params_file)
    else:
        env = {**os.environ, "ROS_DOMAIN_ID": str(DOMAIN)}
        bin_dir = Path(sys.prefix) / "lib" / "rehab_runtime"  # as `ros2 run` finds them
        proc = subprocess.Popen(
            [str(bin_dir / "component_container"), "--params", str(params_file),
             "--input", str(skeletons), "--exit-at-end"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        manager = subprocess.Popen(
            [str(bin_dir / "lifecycle_manager"), "--ros-args", "--params-file",
             str(params_file)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        log, _ = proc.communicate(timeout=180)
    finally:
        for p in (proc, manager):
            if p is not None and p.poll() is None:
                p.kill()
    assert proc.returncode == 0, log[-3000:]
    rows = [json.loads(line) for line in
            (tmp_path / "rec" / "outputs.jsonl").read_text().splitlines()]
    reps = [(i, rep) for i, r in enumerate(rows) for rep in r.get("repetitions", [])]
    assert [(i, rep["exercise"], rep["count"]) for i, rep in reps] == [
        (len(rows) - 1, "deadlift", 1)], log[-3000:]
    assert "input ended: 1 repetition(s) in progress closed" in log
