#!/usr/bin/env bash
# Install, through rosdep, every ROS package that ros2_ws/src/*/package.xml
# declares (<depend>/<exec_depend>/<build_depend>), so the image cannot drift
# from package.xml. OpenCV and pytest come from PyPI in our venv, so their
# apt versions are skipped.
#
# Env: ROS_DISTRO, REHAB_SRC (default /opt/rehab/src)
set -euo pipefail

SRC=${REHAB_SRC:-/opt/rehab/src}
: "${ROS_DISTRO:?ROS_DISTRO is not set (the ROS base image sets it; e.g. jazzy or humble)}"
[[ -d "$SRC/ros2_ws/src" ]] || { echo "install_ros_deps: error: no $SRC/ros2_ws/src" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt-get update
[[ -f /etc/ros/rosdep/sources.list.d/20-default.list ]] || rosdep init
rosdep update --rosdistro "$ROS_DISTRO"
rosdep install --from-paths "$SRC/ros2_ws/src" --ignore-src -y --rosdistro "$ROS_DISTRO" \
  --skip-keys "python3-opencv python3-pytest"
rm -rf /var/lib/apt/lists/*
