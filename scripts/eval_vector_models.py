"""Train and test the fully-visible vector models; print a markdown table.

    python scripts/eval_vector_models.py --data digits-binary
    python scripts/eval_vector_models.py --data mnist5k-binary --device cuda
    python scripts/eval_vector_models.py --data wine            # RNADE vs Gaussian vs GMM
    python scripts/eval_vector_models.py --data digits-binary --train-size 100 --models made masde

Each model trains with the project's trainer (Adam, cosine schedule, the
weights with the best validation NLL kept) for a short, fixed budget and is
scored on the test split in nats per example and bits per dimension. Seeds
are fixed, so a command gives the same table on the same machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arstudio.data import load_dataset
from arstudio.models.registry import build_model
from arstudio.training import Done, TrainConfig, train


def discrete_setups(spec):
    """(label, model name, config, learning rate) for every discrete model."""
    W = spec.shape[-1]
    wide = 2000 if spec.num_dims > 200 else 500  # MASDE units cycle over dims: keep several per dim
    return [
        ("FVSBN", "fvsbn", {}, 1e-2),
        ("NADE (H=500)", "nade", {"hidden": 500}, 1e-3),
        ("MADE 1 mask (500)", "made", {"hidden": (500,)}, 1e-3),
        ("MADE 8 masks, ensemble 8", "made", {"hidden": (500,), "masks": 8, "ensemble": 8}, 1e-3),
        ("DeepNADE (500, 500)", "deepnade", {"hidden": (500, 500)}, 1e-3),
        (f"MASDE ({wide}, radius 2)", "masde", {"hidden": (wide,), "radius": 2}, 1e-2),
        (f"MLP-ARM (k={W + 1}, M=256)", "mlp-arm", {"memory": W + 1, "hidden": 256}, 3e-3),
    ]


def extra_scores(model, test, device, orderings):
    """Ensembles that are not the model's log_prob: EoNADE over orderings."""
    if model.registry_name == "deepnade" and orderings > 1:
        model.eval()
        with torch.no_grad():
            lp = torch.cat([model.log_prob_ensemble(xb.to(device), orderings=orderings).cpu()
                            for xb in test.split(128)])
        return {f"EoNADE {orderings} orderings": -lp.double().mean().item()}
    return {}


def run_discrete(args, data):
    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    rows = []
    for label, name, cfg, lr in discrete_setups(data.spec):
        if args.models and name not in args.models:
            continue
        torch.manual_seed(0)
        model = build_model(name, data.spec, **cfg)
        tc = TrainConfig(steps=args.steps, batch_size=64, lr=args.lr or lr, device=str(device), seed=0,
                         eval_every=args.eval_every or max(50, args.steps // 10), sample_every=0,
                         checkpoint_every=10 ** 9, log_every=50, bf16=False)
        t0 = time.perf_counter()
        done = [e for e in train(model, data, tc) if isinstance(e, Done)][-1]
        row = {"model": label, "name": name, "params": model.num_parameters(),
               "test_nats": done.test_nats, "test_bpd": done.test_bpd,
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        for extra, nats in extra_scores(model, data.test, device, args.eonade).items():
            rows.append({**row, "model": f"{label}, {extra}", "test_nats": nats,
                         "test_bpd": nats / (data.spec.num_dims * math.log(2))})
        print(f"{label:32s} {row['test_nats']:9.2f} nats  {row['test_bpd']:.4f} bits/dim  "
              f"{row['seconds']:.0f} s", file=sys.stderr)
    return rows


def gaussian(train_x):
    mean = train_x.mean(0)
    cov = torch.cov(train_x.t(), correction=0) + 1e-6 * torch.eye(train_x.shape[1])
    return torch.distributions.MultivariateNormal(mean, cov)


def gmm_fit(data):
    """Full-covariance GMM, number of components picked on the validation split."""
    from sklearn.mixture import GaussianMixture

    best = None
    for k in (1, 2, 3, 4, 6, 8):
        gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-3, n_init=3, random_state=0)
        gmm.fit(data.train.numpy())
        val = -gmm.score(data.val.numpy())
        if best is None or val < best[0]:
            best = (val, k, gmm)
    return best


RNADE_SIZES = ((5, 1, 1e-2), (20, 2, 1e-3), (50, 5, 1e-4))  # (hidden, components, weight decay)


def run_real(args, data):
    """RNADE of three sizes vs a full-covariance Gaussian and a GMM; mean and median test NLL."""
    def row(label, val_nll, test_nll):
        return {"model": label, "val_nats": float(val_nll.mean()), "test_nats": float(test_nll.mean()),
                "test_median": float(test_nll.median()),
                "test_bpd": float(test_nll.mean()) / (data.spec.num_dims * math.log(2))}

    g = gaussian(data.train)
    rows = [row("single Gaussian (full covariance)", -g.log_prob(data.val), -g.log_prob(data.test))]
    _, k, gmm = gmm_fit(data)
    rows.append(row(f"Gaussian mixture (full cov., K={k} picked on val)",
                    -torch.from_numpy(gmm.score_samples(data.val.numpy())),
                    -torch.from_numpy(gmm.score_samples(data.test.numpy()))))
    for hidden, comps, wd in RNADE_SIZES:
        torch.manual_seed(0)
        model = build_model("rnade", data.spec, hidden=hidden, components=comps)
        tc = TrainConfig(steps=args.steps, batch_size=32, lr=3e-3, device="cpu", seed=0, eval_every=50,
                         sample_every=0, checkpoint_every=10 ** 9, weight_decay=wd, optimizer="adamw",
                         bf16=False)
        for _ in train(model, data, tc):
            pass
        with torch.no_grad():
            rows.append(row(f"RNADE (H={hidden}, K={comps}, weight decay {wd:g})",
                            -model.log_prob(data.val), -model.log_prob(data.test)))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=None, help="training steps per model")
    p.add_argument("--models", nargs="*", help="registry names to run (default: all)")
    p.add_argument("--train-size", type=int, help="use only the first N training examples")
    p.add_argument("--device", default="auto")
    p.add_argument("--lr", type=float, help="one learning rate for every model (default: per model)")
    p.add_argument("--eval-every", type=int, help="validation every N steps (default steps/10)")
    p.add_argument("--eonade", type=int, default=8, help="orderings averaged for EoNADE (0: skip)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine is shared)")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_dataset(args.data)
    if args.train_size:
        data = dataclasses.replace(data, train=data.train[:args.train_size], labels={})
    real = not data.spec.discrete
    args.steps = args.steps or (1500 if real else 2000)
    rows = run_real(args, data) if real else run_discrete(args, data)
    print(f"\n{args.data}{f' (first {args.train_size} training examples)' if args.train_size else ''}, "
          f"{args.steps} steps per model; test split, lower is better\n")
    if real:
        print("| model | val nats / example | test nats / example | test median | test bits / dim |")
        print("|---|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['val_nats']:.2f} | {r['test_nats']:.2f} | {r['test_median']:.2f} "
                  f"| {r['test_bpd']:.4f} |")
    else:
        print("| model | test nats / example | bits / dim | free parameters |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['test_nats']:.2f} | {r['test_bpd']:.4f} | {r['params']:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
