#!/usr/bin/env bash
# colcon-build ros2_ws against the image's ROS install, with the venv's Python
# (so the console scripts' shebangs find the ML packages), into $REHAB_INSTALL.
#
# Env: ROS_DISTRO, REHAB_SRC (default /opt/rehab/src), REHAB_VENV (/opt/rehab/venv),
#      REHAB_INSTALL (/opt/rehab/install), REHAB_ROS_SETUP (/opt/ros/$ROS_DISTRO/setup.bash)
set -eo pipefail

SRC=${REHAB_SRC:-/opt/rehab/src}
VENV=${REHAB_VENV:-/opt/rehab/venv}
INSTALL=${REHAB_INSTALL:-/opt/rehab/install}
ROS_SETUP=${REHAB_ROS_SETUP:-/opt/ros/${ROS_DISTRO:-unset}/setup.bash}
die() { printf 'build_workspace: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$ROS_SETUP" ]] || die "no ROS install at $ROS_SETUP (set ROS_DISTRO or REHAB_ROS_SETUP)"
[[ -x "$VENV/bin/colcon" ]] || die "no colcon in the venv $VENV (run install_python_deps.sh first)"
[[ -d "$SRC/ros2_ws/src" ]] || die "no workspace sources at $SRC/ros2_ws/src"
# shellcheck disable=SC1090
source "$ROS_SETUP"
export PATH="$VENV/bin:$PATH"
cd "$SRC/ros2_ws"
"$VENV/bin/colcon" build --install-base "$INSTALL" --merge-install \
  --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
  --event-handlers console_cohesion- summary+
rm -rf build log
