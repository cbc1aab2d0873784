#!/usr/bin/env bash
# make demo [INPUT=video|bag|camera] [OUT=dir]: the perception graph over a real
# input. Without INPUT: a real clip from ../shared/media when present, else the
# skeleton bag the repository ships (extracted by our own pose model).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INPUT=${1:-}
OUT=${2:-out/demo}
cd "$ROOT"
if [[ -z "$INPUT" ]]; then
  SHARED=${REHAB_SHARED_DIR:-$ROOT/../shared}
  if [[ -f "$SHARED/media/exercise/squat2.mp4" ]]; then
    INPUT="$SHARED/media/exercise/squat2.mp4"
  else
    INPUT="models/samples/squat_skeletons"
  fi
fi
echo "[demo] rehab run $INPUT --out $OUT"
exec .venv/bin/rehab run "$INPUT" --out "$OUT"
