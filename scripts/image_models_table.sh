#!/usr/bin/env bash
# Every image model on one dataset with the same CPU budget, for the bits/dim table
# in notes/issue-4.md. Each run is one `arstudio train` line (printed), seed 0,
# the registry's "quick demo" size; two runs at a time, one thread each.
#   bash scripts/image_models_table.sh shapes-colour 4 1500     # dataset, minutes, steps
#   JOBS=7 bash scripts/image_models_table.sh shapes-colour 0 300   # 0 minutes: no time budget
set -uo pipefail
data=$1; minutes=$2; steps=$3
out=${RUNS_DIR:-runs/table-$data}
PY=${PYTHON:-python3}
mkdir -p "$out"
models=(pixelcnn gated-pixelcnn pixelcnn++ pixelsnail pixelrnn-row pixelrnn-diag image-transformer)
budget=()
[ "$minutes" != 0 ] && budget=(--train-set "max_minutes=$minutes")
run() {
  local m=$1
  rm -rf "$out/$m"
  echo "arstudio train --model $m --data $data --model-preset 'quick demo' --steps $steps --batch-size 32" \
       "${budget[*]} --train-set eval_every=250 --train-set sample_every=0 --device cpu"
  OMP_NUM_THREADS=1 $PY -m arstudio train --model "$m" --data "$data" --model-preset "quick demo" \
    --steps "$steps" --batch-size 32 "${budget[@]}" --train-set eval_every=250 \
    --train-set sample_every=0 --device cpu --quiet --out "$out/$m" > "$out/$m.log" 2>&1
}
jobs=${JOBS:-2}
for ((i = 0; i < ${#models[@]}; i += jobs)); do
  for m in "${models[@]:$i:$jobs}"; do run "$m" & done
  wait
done
for m in "${models[@]}"; do tail -n 1 "$out/$m.log"; done
