"""Training steps/s of a bundled preset through the real trainer, speed settings side by side.

``python -m arstudio.bench.training_speed [--preset gated-pixelcnn-mnist5k-binary] [--device cuda]
[--steps 60] [--batch 256]``

Each row trains the preset's model from the same seed with ``arstudio.training.train`` for
``--steps`` steps (no samples, no checkpoints, one evaluation at the end) and reports the
steps/s of the logged windows after the first (warm-up, and compile time for ``--compile``),
with its ratio to the fp32 row: fp32, bf16 (or fp16 + scaler where the GPU has no bf16),
fp32 + channels-last, bf16 + channels-last, fp32 + compile, bf16 + compile,
bf16 + channels-last + compile. A row that fails (e.g. no compiler toolchain) says so and
the others go on. Used by scripts/gpu_figures.sh.
"""
from __future__ import annotations

import dataclasses

import torch

from arstudio.cli import OneLineParser

ROWS = [("fp32", "fp32", False, "off"), ("auto precision (bf16/fp16)", "auto", False, "off"),
        ("fp32 + channels-last", "fp32", True, "off"), ("auto + channels-last", "auto", True, "off"),
        ("fp32 + compile", "fp32", False, "default"), ("auto + compile", "auto", False, "default"),
        ("auto + channels-last + compile", "auto", True, "default")]


def steps_per_s(preset_name, device, steps, batch, precision, channels_last, compile_, seed=0):
    from arstudio.data import load_dataset
    from arstudio.models.registry import build_model
    from arstudio.presets import get_preset
    from arstudio.training import Step, TrainConfig, train
    from arstudio.training.amp import resolve

    preset = get_preset(preset_name)
    data = load_dataset(preset.dataset)
    torch.manual_seed(seed)
    model = build_model(preset.model, data.spec, **preset.model_config)
    log = max(1, steps // 6)
    kw = {**preset.train, "steps": steps, "log_every": log, "eval_every": steps, "sample_every": 0,
          "checkpoint_every": steps, "max_minutes": None, "device": device, "precision": precision,
          "channels_last": channels_last, "compile": compile_, "seed": seed, "keep_best": False}
    if batch:
        kw["batch_size"] = batch
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in kw.items() if k in names})
    speed = resolve(config, model, torch.device(device))
    rates, loss = [], None
    for e in train(model, data, config):
        if isinstance(e, Step):
            rates.append(e.examples_per_s / config.batch_size)
            loss = e.loss
    timed = rates[1:] or rates  # the first window holds warm-up (and compilation)
    return sum(timed) / len(timed), loss, speed


def main(argv=None):
    p = OneLineParser(prog="python -m arstudio.bench.training_speed",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="gated-pixelcnn-mnist5k-binary")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=None, help="default: the preset's")
    p.add_argument("--no-compile", action="store_true", help="leave out the compile rows")
    args = p.parse_args(argv)
    print(f"training {args.preset} on {args.device}, {args.steps} steps a row, torch {torch.__version__}")
    base = None
    for label, precision, cl, comp in ROWS:
        if args.no_compile and comp != "off":
            continue
        try:
            sps, loss, speed = steps_per_s(args.preset, args.device, args.steps, args.batch, precision, cl, comp)
        except Exception as e:  # e.g. no compiler toolchain: report, keep the other rows
            print(f"{label:32s} failed: {type(e).__name__}: {str(e).splitlines()[0][:100]}", flush=True)
            continue
        base = base or sps
        used = f"{speed['precision']}{' +scaler' if speed['grad_scaler'] else ''}" \
               f"{' cl' if speed['channels_last'] else ''}{' compile' if speed['compile'] != 'off' else ''}"
        print(f"{label:32s} {sps:9.2f} steps/s  {sps / base:5.2f}× fp32   last loss {loss:.4g}  [{used}]",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
