#!/usr/bin/env bash
# Container entry point: ROS + workspace environment, the venv first on PATH,
# optionally the TensorRT engines for this GPU, then the command (default:
# `ros2 launch` of the stack, see the Dockerfiles' CMD).
#
# Env: REHAB_ROS_SETUP (/opt/ros/$ROS_DISTRO/setup.bash), REHAB_WS_SETUP
#      (/opt/rehab/install/setup.bash), REHAB_VENV (/opt/rehab/venv),
#      REHAB_BUILD_ENGINES: off | auto (default: build when REHAB_ENGINE_MODELS is
#      set, warn and go on with ONNX Runtime if that fails) | required (fail the
#      container when an engine cannot be built).
set -eo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROS_SETUP=${REHAB_ROS_SETUP:-/opt/ros/${ROS_DISTRO:-unset}/setup.bash}
WS_SETUP=${REHAB_WS_SETUP:-/opt/rehab/install/setup.bash}
VENV=${REHAB_VENV:-/opt/rehab/venv}
ENGINES=${REHAB_BUILD_ENGINES:-auto}
die() { printf 'entrypoint: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$ROS_SETUP" ]] || die "no ROS environment at $ROS_SETUP (is ROS_DISTRO right?)"
[[ -f "$WS_SETUP" ]] || die "no workspace at $WS_SETUP (the image build did not finish?)"
# shellcheck disable=SC1090
source "$ROS_SETUP"
# shellcheck disable=SC1090
source "$WS_SETUP"
if [[ -d "$VENV/bin" ]]; then
  export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
fi

case "$ENGINES" in
  off) ;;
  auto|required)
    if [[ -n "${REHAB_ENGINE_MODELS:-}" ]]; then
      if ! REHAB_PYTHON=${REHAB_PYTHON:-python3} "$HERE/build_engines.sh"; then
        [[ "$ENGINES" == required ]] && die "engine build failed and REHAB_BUILD_ENGINES=required"
        printf 'entrypoint: warning: engine build failed; models run with ONNX Runtime\n' >&2
      fi
    elif [[ "$ENGINES" == required ]]; then
      die "REHAB_BUILD_ENGINES=required but REHAB_ENGINE_MODELS is empty"
    fi ;;
  *) die "REHAB_BUILD_ENGINES must be off, auto or required, got '$ENGINES'" ;;
esac

(( $# )) || die "no command given"
exec "$@"
