"""Train one sequence model on a dataset and report its test bits per dimension.

Used for the figures in notes/issue-5.md and to make the bundled WaveNet:

    python scripts/train_sequence_model.py --model wavenet --data tones --preset fast \
        --labels --steps 3000 --batch 32 --device cuda --out models/wavenet-tones.safetensors

Training uses random crops (``--crop``) of the training sequences for the
length-agnostic models; evaluation is always on whole test sequences.
``linear-ar`` is fitted by least squares instead of gradient steps.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch

from arstudio.checkpoint import save_checkpoint
from arstudio.data import load_dataset
from arstudio.models.registry import build_model, get_model_info

@torch.no_grad()
def test_bits(model, data, labels=None, batch=64):
    total, device = 0.0, model.device
    for i in range(0, len(data), batch):
        x = data[i:i + batch].to(device)
        cond = {} if labels is None else {"label": labels[i:i + batch].to(device)}
        total += -model.log_prob(x, **cond).sum().item()
    return total / (len(data) * model.num_dims * math.log(2))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--preset", default="quick demo", help="a preset of the model's registry entry")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="config overrides on top of the preset, e.g. companding=mu-law")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=0, help="train on random crops this long (0 = whole)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--labels", action="store_true", help="global conditioning on the set's labels")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="save the trained model here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_dataset(args.data)
    info = get_model_info(args.model)
    config = dict(info.presets.get(args.preset, {}))
    for item in args.set:
        key, value = item.split("=", 1)
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    if args.labels:
        config["num_labels"] = int(data.extras["classes"])
    model = build_model(args.model, data.spec, **config).to(args.device)
    train_labels = data.labels.get("train") if args.labels else None
    test_labels = data.labels.get("test") if args.labels else None
    start = time.perf_counter()
    if args.model == "linear-ar":
        model.fit(data.train)
        steps = 0
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
        g = torch.Generator().manual_seed(args.seed)
        T = data.spec.num_dims
        for step in range(args.steps):
            idx = torch.randint(0, len(data.train), (args.batch,), generator=g)
            x = data.train[idx]
            if args.crop and args.crop < T:
                off = int(torch.randint(0, T - args.crop + 1, (1,), generator=g))
                x = x[:, off:off + args.crop]
            cond = {}
            if train_labels is not None:  # 10% "no label", so unconditional sampling works too
                lab = train_labels[idx].clone()
                lab[torch.rand(len(lab), generator=g) < 0.1] = config["num_labels"]
                cond["label"] = lab.to(args.device)
            x = x.to(args.device)
            loss = -model.log_prob(x, **cond).mean() / x.shape[1]  # nats per dimension
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step % max(1, args.steps // 10) == 0:
                print(f"step {step:5d}  {loss.item() / math.log(2):.3f} bits/dim", flush=True)
        steps = args.steps
    model.eval()
    seconds = time.perf_counter() - start
    bits = test_bits(model, data.test, test_labels)
    result = {"model": args.model, "data": args.data, "preset": args.preset, "steps": steps,
              "batch": args.batch, "crop": args.crop, "device": args.device,
              "train_seconds": round(seconds, 1), "test_bits_per_dim": round(bits, 4),
              "parameters": model.num_parameters(), "labels": args.labels}
    print(json.dumps(result))
    if args.out:
        extra = {"dataset": args.data, "metrics": {"test_bpd": bits}, "training": result}
        if "sample_rate" in data.extras:
            extra["sample_rate"] = data.extras["sample_rate"]
        if args.labels:
            extra["label_names"] = data.extras.get("label_names")
        save_checkpoint(model.cpu(), args.out, extra=extra)
        print(f"saved {args.out}")
    return result


if __name__ == "__main__":
    main()
