"""Generate notes with the bundled WaveNet and write them to a WAV file.

    python scripts/wavenet_tone_demo.py --notes A3 C4 E4 --out wavenet-notes.wav [--play]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from arstudio import audio
from arstudio.checkpoint import load_checkpoint
from arstudio.distributions import mu_law_decode
from arstudio.paths import BUNDLED_MODELS
from arstudio.sampling.sequence import generate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(BUNDLED_MODELS / "wavenet-tones.safetensors"))
    p.add_argument("--notes", nargs="+", default=["A3", "C4", "E4"])
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="wavenet-notes.wav")
    p.add_argument("--play", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_checkpoint(args.checkpoint)
    meta = model.checkpoint_meta
    names, rate = meta["label_names"], meta["sample_rate"]
    labels = torch.tensor([names.index(n) for n in args.notes])
    codes = generate(model, model.spec.shape[0], len(labels), label=labels, temperature=args.temperature,
                     generator=torch.Generator().manual_seed(args.seed))  # (notes, T)
    wave = mu_law_decode(torch.from_numpy(codes)).numpy().reshape(-1)
    audio.save_wav(args.out, wave, rate)
    print(f"wrote {args.out}: {len(args.notes)} notes, {len(wave) / rate:.2f} s at {rate} Hz")
    if args.play:
        try:
            audio.play(wave, rate, blocking=True)
        except audio.AudioUnavailable as e:
            print(e)
    return np.asarray(wave)


if __name__ == "__main__":
    main()
