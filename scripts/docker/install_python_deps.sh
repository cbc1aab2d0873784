#!/usr/bin/env bash
# Install the stack's Python (ML) dependencies into a venv that also sees the
# system site-packages (ROS's rclpy via PYTHONPATH, JetPack's TensorRT).
#
# The list is requirements/stack.in minus what the image gets from apt: the
# ROS 2 PyPI wheels (ros-*) and ament are for the wheel-based dev set-up only.
# colcon stays: run from the venv, it gives the console scripts the venv's
# Python as shebang, so `ros2 run` finds the ML packages. requirements/lock.txt is NOT used: it pins cp311, while the
# images run the distro's Python (3.12 on Jazzy/Noble, 3.10 on Humble/Jammy).
# docker/constraints.txt bounds what must match the apt ROS packages instead
# (NumPy 1.x ABI of the distro's message libraries).
#
# Usage: install_python_deps.sh --profile x86|x86-gpu|jetson [--print]
#   x86      onnxruntime (CPU)
#   x86-gpu  onnxruntime-gpu (CUDA execution provider)
#   jetson   onnxruntime (CPU; the heavy models run as TensorRT engines from JetPack)
#   --print  print the requirement list and exit
# Env: REHAB_SRC (default /opt/rehab/src), REHAB_VENV (default /opt/rehab/venv), PYTHON (python3)
set -euo pipefail

SRC=${REHAB_SRC:-/opt/rehab/src}
VENV=${REHAB_VENV:-/opt/rehab/venv}
PROFILE=""
PRINT=0
die() { printf 'install_python_deps: error: %s\n' "$*" >&2; exit 2; }

while (( $# )); do
  case "$1" in
    --profile) PROFILE=${2:-}; shift 2 ;;
    --print) PRINT=1; shift ;;
    *) die "unknown argument $1 (usage: --profile x86|x86-gpu|jetson [--print])" ;;
  esac
done
case "$PROFILE" in
  x86|jetson) ORT=onnxruntime ;;
  x86-gpu) ORT=onnxruntime-gpu ;;
  *) die "--profile must be x86, x86-gpu or jetson, got '${PROFILE}'" ;;
esac
[[ -f "$SRC/requirements/stack.in" ]] || die "no $SRC/requirements/stack.in"

# stack.in without comments, ROS and ament wheels, and with the chosen ONNX Runtime.
mapfile -t REQS < <(
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$SRC/requirements/stack.in" \
    | grep -v -E '^$|^ros-|^ament' \
    | sed -e "s/^onnxruntime\$/${ORT}/"
)
if (( PRINT )); then
  printf '%s\n' "${REQS[@]}"
  exit 0
fi

"${PYTHON:-python3}" -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -c "$SRC/docker/constraints.txt" "${REQS[@]}"
"$VENV/bin/python" -c "import cv2, numpy, onnxruntime, mediapipe; print('onnxruntime providers:', onnxruntime.get_available_providers())"
