#!/bin/bash
# The GPU figures of notes/issue-5.md: bundled WaveNet, sampling bench, test NLLs.
# Usage: OUT=folder bash scripts/gpu_figures.sh   (writes logs and the checkpoint to $OUT)
set -u
PY=${PY:-python3}
export PYTHONPATH=.
T="$PY scripts/train_sequence_model.py --device cuda --threads 4"
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name())"
timeout 240 $T --model wavenet --data tones --preset bundled --labels --steps 4000 --batch 32 \
  --out $OUT/wavenet-tones.safetensors > $OUT/bundled.log 2>&1; tail -2 $OUT/bundled.log
timeout 200 $PY -m arstudio.bench.sampling_audio --device cuda --checkpoint $OUT/wavenet-tones.safetensors \
  > $OUT/bench_cuda.log 2>&1; cat $OUT/bench_cuda.log
run() { name=$1; shift; timeout 300 $T "$@" > $OUT/$name.log 2>&1; }
run wavenet_tones --model wavenet --data tones --steps 3000 --batch 16 &
run conv_tones --model causal-conv-arm --data tones --steps 3000 --batch 16 &
run rnn_tones --model rnn-arm --data tones --steps 3000 --batch 16 &
run linear_tones --model linear-ar --data tones --set order=32 companding=mu-law &
run rnn_text --model rnn-arm --data text --steps 3000 --batch 64 &
run transformer_text --model text-transformer --data text --steps 3000 --batch 64 &
wait
for f in $OUT/*_tones.log $OUT/*_text.log; do echo "$f: $(tail -1 $f)"; done
