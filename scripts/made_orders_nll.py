"""Test NLL of an order-agnostic MADE in each of the order picker's orders (set_order) and in
its masks' own orderings (use_mask), and the masks' ensemble: the figures on the
made-orders-digits-binary card.

    OMP_NUM_THREADS=1 python scripts/made_orders_nll.py models/made-orders-digits-binary.safetensors
"""
import sys

import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.data import load_dataset
from arstudio.sampling.orders import make_order
from arstudio.training import evaluate

torch.set_num_threads(1)
path = sys.argv[1]
data = load_dataset("digits-binary")
for name in ("raster", "reverse", "zigzag", "random", "centre-out"):
    model = load_checkpoint(path)
    model.set_order(torch.as_tensor(make_order(name, (1, 8, 8))))
    nats, bpd = evaluate(model, data.test)
    print(f"picker {name:10s} {nats:6.2f} nats {bpd:.4f} bits/dim")
model = load_checkpoint(path)
for m in range(model.config.masks):
    model.use_mask(m)
    nats, bpd = evaluate(model, data.test)
    print(f"mask {m} (its own ordering) {nats:6.2f} nats {bpd:.4f} bits/dim")
with torch.no_grad():
    ens = -model.log_prob_ensemble(data.test, model.config.masks).mean().item()
print(f"ensemble of the {model.config.masks} masks (log_prob_ensemble) {ens:.2f} nats")
