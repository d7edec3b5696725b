"""How well each completion method respects painted pixels that come late in raster order.

Run from the repository root: PYTHONPATH=. python notes/issue-7-measure.py
"""
import math
import time

import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.data.registry import load_dataset
from arstudio.sampling import complete, unseen_painted

torch.set_num_threads(1)
model = load_checkpoint("models/pixelcnn-digits.safetensors").eval()
data = load_dataset("digits")
mask = torch.ones(1, 8, 8, dtype=torch.bool)
mask[0, 1:3, 2:6] = False  # a hole near the top: the rows below it are painted but later in raster
mask[0, 6:, :] = False  # and the bottom two rows
unseen = unseen_painted(model, mask)
print("painted pixels after the first unknown one:", int(unseen.sum()))
for method in ("raster", "resample", "gibbs"):
    start, bits, ess = time.time(), [], []
    for i in range(25):
        r = complete(model, data.test[i], mask, n=8, method=method, candidates=256,
                     generator=torch.Generator().manual_seed(i))
        with torch.no_grad():
            terms = model.log_prob(r.samples, reduce=False)  # (n, 1, 8, 8) nats
        bits.append(float(-(terms * unseen).flatten(1).sum(1).mean() / math.log(2)))
        if r.effective_samples:
            ess.append(r.effective_samples)
    ms = (time.time() - start) / 25 * 1000
    extra = f" (mean ESS {sum(ess) / len(ess):.1f} of 256)" if ess else ""
    print(f"{method}: {sum(bits) / len(bits):.1f} bits on the unseen painted pixels, {ms:.0f} ms per call{extra}")
