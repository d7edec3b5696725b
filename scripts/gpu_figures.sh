#!/bin/bash
# The GPU figures for the sequence models (issue 5) on a lent GPU: the sampling
# benches (naive vs cached WaveNet at 16,000 samples, batch-1 real-time factor;
# naive vs cached image models) with the bundled checkpoints.
# Usage: OUT=folder bash scripts/gpu_figures.sh   (writes logs to $OUT)
set -u
PY=${PY:-python3}
export PYTHONPATH=.
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name())"
timeout 280 $PY -m arstudio bench sampling_audio --device cuda > "$OUT/bench_audio_cuda.log" 2>&1
cat "$OUT/bench_audio_cuda.log"
timeout 280 $PY -m arstudio bench sampling_images --device cuda > "$OUT/bench_images_cuda.log" 2>&1
cat "$OUT/bench_images_cuda.log"
# Training speed settings (issue 18): steps/s of a bundled preset through the real trainer,
# fp32 vs bf16 (fp16 + scaler on a GPU without bf16), channels-last vs not, compile vs not,
# with each row's ratio to fp32 side by side.
timeout 400 $PY -m arstudio.bench.training_speed --device cuda --preset gated-pixelcnn-mnist5k-binary \
    --steps 60 --batch 256 > "$OUT/train_speed_cuda.log" 2>&1
cat "$OUT/train_speed_cuda.log"
