#!/usr/bin/env bash
# Install what the image needs from apt before the Python packages: the ROS
# launch front end, bag playback (benchmarks), interface generators, rosdep,
# and the system libraries the PyPI ML wheels expect (OpenCV/MediaPipe need
# libGL and glib; video files need ffmpeg). The ROS packages our package.xml
# files declare come later, from install_ros_deps.sh (rosdep), once the
# sources are in the image.
#
# Usage: install_system_deps.sh [--print]   (--print: list the apt packages, install nothing)
# Env:   ROS_DISTRO (set by every ROS base image)
set -euo pipefail

: "${ROS_DISTRO:?ROS_DISTRO is not set (the ROS base image sets it; e.g. jazzy or humble)}"

# Beyond rosdep: the launch front end, bag playback for benchmarks, build tools.
APT_PACKAGES=(
  "ros-${ROS_DISTRO}-ros2launch"
  "ros-${ROS_DISTRO}-launch-ros"
  "ros-${ROS_DISTRO}-rosbag2"
  "ros-${ROS_DISTRO}-rosidl-default-generators"
  "ros-${ROS_DISTRO}-ament-cmake"
  python3-venv
  python3-pip
  python3-rosdep
  libgl1
  libglib2.0-0
  ffmpeg
)

if [[ "${1:-}" == "--print" ]]; then
  printf '%s\n' "${APT_PACKAGES[@]}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"

rm -rf /var/lib/apt/lists/*
