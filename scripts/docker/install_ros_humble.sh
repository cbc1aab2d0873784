#!/usr/bin/env bash
# Jetson only: the L4T JetPack base has CUDA, cuDNN and TensorRT but no ROS.
# Add the ROS 2 apt repository and install ROS 2 Humble (the distro for
# Ubuntu 22.04, which JetPack 6 / L4T r36 is) from binary packages.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends curl gnupg2 lsb-release ca-certificates locales
locale-gen en_US.UTF-8
curl -sSL https://raw.githubusercontent.com/ros/rosdistro/master/ros.key \
  -o /usr/share/keyrings/ros-archive-keyring.gpg
echo "deb [arch=$(dpkg --print-architecture) signed-by=/usr/share/keyrings/ros-archive-keyring.gpg]" \
  "http://packages.ros.org/ros2/ubuntu $(lsb_release -cs) main" > /etc/apt/sources.list.d/ros2.list
apt-get update
apt-get install -y --no-install-recommends ros-humble-ros-base
rm -rf /var/lib/apt/lists/*
