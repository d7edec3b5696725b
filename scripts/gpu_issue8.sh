#!/usr/bin/env bash
# One lent-GPU session for the image models: train + bundle their presets side by
# side, then the sampling and training benchmarks. Writes into $OUT.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
RUNS_DIR=/tmp/runs bash scripts/train_presets.sh cuda 3 gated-pixelcnn-mnist5k-binary \
  pixelcnn++-mnist5k-binary pixelsnail-mnist5k-binary pixelrnn-row-mnist5k-binary \
  pixelrnn-diag-mnist5k-binary image-transformer-mnist5k-binary > $OUT/train.log 2>&1 &
train=$!
sleep 230   # benchmarks after training, while the CPU-side bundling runs
( timeout 100 python3 -m arstudio bench sampling_images --device cuda
  timeout 45 python3 -m arstudio bench training --device cuda
  timeout 50 python3 -m arstudio bench sampling_audio --device cuda ) > $OUT/bench.log 2>&1
wait $train
tar czf $OUT/models.tgz models/*mnist5k-binary* 2>/dev/null
cd /tmp/runs && tar czf $OUT/runs.tgz --exclude='*.safetensors' . 
cat $OUT/train.log $OUT/bench.log
