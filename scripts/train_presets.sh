#!/usr/bin/env bash
# Train the named presets side by side (one process each) and bundle each
# result into models/ with its card. Used on the lent GPU for issue 8:
#   bash scripts/train_presets.sh cuda 4 gated-pixelcnn-mnist5k-binary pixelsnail-mnist5k-binary ...
# The second argument is each run's wall-clock budget in minutes (0: none, the
# preset's step count decides; the CPU recipes of the sequence models use that).
set -uo pipefail
device=$1; minutes=$2; shift 2
out=${RUNS_DIR:-runs/presets}
mkdir -p "$out"
for preset in "$@"; do
  rm -rf "$out/$preset"
  OMP_NUM_THREADS=1 ${PYTHON:-python3} -m arstudio train --preset "$preset" --device "$device" --quiet \
    $( [ "$minutes" != 0 ] && echo --train-set max_minutes="$minutes" ) --out "$out/$preset" > "$out/$preset.log" 2>&1 &
done
wait
for preset in "$@"; do
  tail -n 2 "$out/$preset.log"
  OMP_NUM_THREADS=1 ${PYTHON:-python3} -c "import sys, torch; torch.set_num_threads(1)
from arstudio.bundled import bundle_run
bundle_run(sys.argv[1], sys.argv[2], grid_device=sys.argv[3])" "$out/$preset" "$preset" "$device" > "$out/$preset.bundle.log" 2>&1 &
done
wait
cat "$out"/*.bundle.log
