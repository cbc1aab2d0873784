#!/usr/bin/env bash
# Build the TensorRT engines of the given ONNX models on THIS machine (an
# engine only runs on the TensorRT version and GPU it was built on), cached in
# $REHAB_ENGINE_CACHE under <stem>-<precision>-<key digest>.engine, where the
# key is model sha256 + TensorRT version + GPU + precision (engine_cache). A
# valid cached engine is reused; an engine for another key is rebuilt, and
# outdated ones of the same model are removed. Each model also gets the
# stable link <stem>.<precision>.engine to put in parameter files.
#
# Usage: build_engines.sh [--precision fp16|fp32|int8] [--calib VIDEO_OR_DIR]
#                         [--cache-dir DIR] MODEL.onnx...
# Env:   REHAB_ENGINE_MODELS (used when no MODEL is given), REHAB_ENGINE_CACHE
#        (default /var/cache/rehab/engines), REHAB_ENGINE_PRECISION (fp16),
#        REHAB_PYTHON (python3), REHAB_CLI (rehab)
# Exit:  0 all engines fresh or built; 2 usage / missing model; 3 no TensorRT;
#        other: `rehab export engine` failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${REHAB_PYTHON:-python3}
CLI=${REHAB_CLI:-rehab}
CACHE=${REHAB_ENGINE_CACHE:-/var/cache/rehab/engines}
PRECISION=${REHAB_ENGINE_PRECISION:-fp16}
CALIB=()
MODELS=()
say() { printf '[build_engines] %s\n' "$*"; }
die() { printf 'build_engines: error: %s\n' "$*" >&2; exit 2; }

while (( $# )); do
  case "$1" in
    --precision) PRECISION=${2:?--precision needs a value}; shift 2 ;;
    --calib) CALIB=(--calib "${2:?--calib needs a path}"); shift 2 ;;
    --cache-dir) CACHE=${2:?--cache-dir needs a path}; shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) MODELS+=("$1"); shift ;;
  esac
done
if (( ${#MODELS[@]} == 0 )) && [[ -n "${REHAB_ENGINE_MODELS:-}" ]]; then
  read -r -a MODELS <<< "$REHAB_ENGINE_MODELS"
fi
(( ${#MODELS[@]} )) || die "no models given (arguments or REHAB_ENGINE_MODELS)"
[[ "$PRECISION" != int8 || ${#CALIB[@]} -gt 0 ]] || die "int8 needs --calib VIDEO_OR_DIR"

mkdir -p "$CACHE"
# Exit code 3 (no TensorRT) and 2 (missing model) come from the planner with its message.
PLAN=$("$PY" "$HERE/engine_plan.py" --precision "$PRECISION" --cache-dir "$CACHE" "${MODELS[@]}")

while read -r state model engine; do
  stem=$(basename "${model%.*}")
  if [[ "$state" == fresh ]]; then
    say "up to date: $engine"
  else
    say "building $engine from $model ($PRECISION; minutes on a Jetson)"
    "$CLI" export engine "$model" -o "$engine" --precision "$PRECISION" "${CALIB[@]}"
    for old in "$CACHE/$stem-$PRECISION-"*.engine; do
      [[ "$old" == "$engine" || ! -e "$old" ]] && continue
      say "removing outdated $old"
      rm -f "$old" "$old.json"
    done
  fi
  ln -sfn "$(basename "$engine")" "$CACHE/$stem.$PRECISION.engine"
done <<< "$PLAN"
