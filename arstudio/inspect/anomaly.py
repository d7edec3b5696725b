"""Anomaly (out-of-distribution) detection with a model's likelihood, and two corrections.

Three scores, each "higher = more surprising", in bits per dimension:

- ``likelihood``: -log2 p(x) / D. The classic failure: deep generative models often
  give *simpler* inputs from elsewhere a higher likelihood than their own test
  set (Nalisnick et al. 2019), so this score ranks them as *less* anomalous.
- ``ratio``: the likelihood ratio against a background model trained on perturbed
  inputs (a fraction of the dimensions replaced by uniform noise), which learns
  the population-level statistics (smoothness, amount of ink) but not the
  semantics; the difference keeps the semantic part (Ren et al. 2019):
  bits(x | model) - bits(x | background).
- ``complexity``: bits(x | model) minus the bits a generic lossless codec needs
  for x (PNG for images, gzip for sequences): the input's complexity L(x) is
  subtracted (Serrà et al. 2020).

The area under the ROC curve (AUROC) with the in-distribution set as negatives
and the other set as positives: 1 separates perfectly, 0.5 is chance, below
0.5 the score ranks the wrong way (the classic failure).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SCORES = ("likelihood", "ratio", "complexity")
SCORE_TITLES = {"likelihood": "likelihood (bits/dim)", "ratio": "likelihood ratio (Ren et al. 2019)",
                "complexity": "input complexity (Serrà et al. 2020)"}


# --- data to score ---------------------------------------------------------------------

def convert_images(x: torch.Tensor, levels_in: int, spec) -> torch.Tensor:
    """Images of another set -> the model's spec: nearest-neighbour resize, grey/colour, levels."""
    C, H, W = spec.shape
    xf = x.float() / (levels_in - 1)  # (N, C', H', W') in [0, 1]
    if xf.shape[1] != C:
        xf = xf.mean(1, keepdim=True).expand(-1, C, -1, -1) if C == 3 or xf.shape[1] == 3 else xf[:, :C]
    if xf.shape[-2:] != (H, W):
        xf = torch.nn.functional.interpolate(xf, size=(H, W), mode="nearest")
    return torch.round(xf * (spec.levels - 1)).long().clamp(0, spec.levels - 1)


def read_folder(folder: Path, spec, n: int | None = None) -> torch.Tensor:
    """A user's folder of image files, resized to the model's size and levels."""
    from PIL import Image

    from arstudio.codec.files import IMAGE_SUFFIXES
    from arstudio.untrusted import open_image

    C, H, W = spec.shape
    out = []
    for p in sorted(q for q in Path(folder).rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES):
        try:
            with open_image(p) as im:
                im = im.convert("L" if C == 1 else "RGB").resize((W, H), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.float64).reshape(H, W, -1).transpose(2, 0, 1)
        except (OSError, ValueError):  # unreadable, too big, a FIFO: not an image to score
            continue
        out.append(torch.from_numpy(np.rint(arr * (spec.levels - 1) / 255.0).astype(np.int64)))
        if n is not None and len(out) >= n:
            break
    if not out:
        raise ValueError(f"{folder}: no readable image files")
    return torch.stack(out)


def load_set(spec, name: str, in_name: str | None = None, n: int | None = None, split: str = "test",
             seed: int = 0) -> tuple[str, torch.Tensor]:
    """Data to score for a model of ``spec``: a data set (converted to the spec if it is another
    image set), ``noise`` (uniform levels), ``inverted[:NAME]`` (levels reversed), ``shifted[:NAME]``
    (moved 3 pixels right and down; sequences: rolled by a quarter), ``constant`` (one flat level
    per example) or a folder of image files. NAME defaults to the in-distribution set."""
    from arstudio.data import load_dataset

    g = torch.Generator().manual_seed(seed)
    count = n or 500
    if spec.levels is None and name.partition(":")[0] in ("noise", "constant", "inverted"):
        raise ValueError(f"{name} is made of levels; the model scores {spec.describe()}")
    if name == "noise":
        return "noise", torch.randint(0, spec.levels, (count, *spec.shape), generator=g)
    if name == "constant":
        v = torch.randint(0, spec.levels, (count,), generator=g)
        return "constant", v.view(-1, *([1] * len(spec.shape))).expand(count, *spec.shape).clone()
    base, _, arg = name.partition(":")
    if base in ("inverted", "shifted"):
        label, x = load_set(spec, arg or in_name, in_name, n, split, seed)
        if base == "inverted":
            return f"inverted {label}", spec.levels - 1 - x
        if spec.modality == "image":
            s = torch.zeros_like(x)
            s[..., 3:, 3:] = x[..., :-3, :-3]
            return f"shifted {label}", s
        return f"shifted {label}", torch.roll(x, x.shape[-1] // 4, dims=-1)
    if Path(name).is_dir() and spec.modality == "image":
        return Path(name).name, read_folder(Path(name), spec, n)
    data = load_dataset(name)
    x = data.split(split)
    x = x if n is None else x[:n]
    if data.spec == spec:
        return name, x.long()
    if spec.modality == "image" and data.spec.modality == "image" and data.spec.discrete:
        return f"{name} (as {spec.describe()})", convert_images(x, data.spec.levels, spec)
    raise ValueError(f"{name} is {data.spec.describe()}; the model scores {spec.describe()}")


# --- scores -----------------------------------------------------------------------------

def classes_used(model, classes=None) -> str | None:
    """In words, what a class-conditional model is scored under (None for a model without
    classes): ``classes`` an int K (every example as class K), a tensor of each example's class,
    or None: the model's "no label" id when it has one, else p(x) with the class summed out,
    log sum_y p(x | y) / K (the other data carry no class of the model's, so every set is
    scored the same way)."""
    if not model.uses_labels:
        return None
    if isinstance(classes, int):
        return f"every example scored as class {classes}"
    if classes is not None:
        return "each example scored under its class from the data set"
    if model.no_label is not None:
        return f"scored with the model's \"no label\" id {model.no_label}"
    return (f"class-conditional: scored by p(x) = Σ_y p(x | y) / {model.num_labels}, the class summed out "
            "(pass a class to score under one)")


@torch.no_grad()
def log_prob_terms(model, x: torch.Tensor, classes=None) -> torch.Tensor:
    """(N, D) nats of each dimension, -log p(x_i | x_<i) negated, flat in the data's layout, under
    the classes :func:`classes_used` describes. Summed out, the per-dimension terms are those of the
    mixture: log p(x_<=i) = logsumexp_y (log p(x_<=i | y)) - log K in the model's order, differenced."""
    x = x.to(model.device)
    n = len(x)
    if not model.uses_labels:
        return model.log_prob(x, reduce=False).flatten(1)
    if isinstance(classes, int) or (classes is None and model.no_label is not None):
        k = classes if isinstance(classes, int) else model.no_label
        if not 0 <= k < model.num_labels + (model.no_label is not None):
            raise ValueError(f"class {k} is outside the model's classes 0–{model.num_labels - 1}")
        return model.log_prob(x, reduce=False, label=torch.full((n,), k, dtype=torch.long,
                                                                device=model.device)).flatten(1)
    if classes is not None:
        return model.log_prob(x, reduce=False, label=classes.long().to(model.device)).flatten(1)
    order = model.order.to(model.device)
    per = torch.stack([model.log_prob(x, reduce=False, label=torch.full((n,), y, dtype=torch.long,
                                                                        device=model.device)).flatten(1)[:, order]
                       for y in range(model.num_labels)]).double()  # (K, N, D) in the model's order
    prefix = torch.logsumexp(per.cumsum(2), 0) - math.log(model.num_labels)  # (N, D): log p(x_<=i)
    terms = torch.diff(prefix, dim=1, prepend=torch.zeros_like(prefix[:, :1]))
    out = torch.empty_like(terms)
    out[:, order] = terms
    return out


@torch.no_grad()
def bits_per_dim(model, x: torch.Tensor, batch_size: int = 256, classes=None) -> np.ndarray:
    """-log2 p(x) / D of each example (float64), a class-conditional model under ``classes``
    (:func:`classes_used`)."""
    was = model.training
    model.eval()
    out = []
    for s in range(0, len(x), batch_size):
        part = classes[s: s + batch_size] if isinstance(classes, torch.Tensor) else classes
        out.append(-log_prob_terms(model, x[s: s + batch_size], part).double().sum(1).cpu())
    model.train(was)
    return (torch.cat(out) / (model.num_dims * math.log(2.0))).numpy()


def own_labels(model, name: str, split: str = "test", n: int | None = None) -> torch.Tensor | None:
    """The labels of ``name``'s split when it is the data set the class-conditional model was
    trained on (other sets' labels mean other things); None otherwise."""
    if not model.uses_labels or name != model.checkpoint_meta.get("dataset"):
        return None
    from arstudio.data import load_dataset

    labels = load_dataset(name).labels.get(split)
    return None if labels is None else (labels if n is None else labels[:n]).long()


def complexity_bits_per_dim(x: torch.Tensor, spec) -> np.ndarray:
    """The bits per dimension a generic lossless codec needs: PNG (images) or gzip (sequences)."""
    from arstudio.codec.classic import gzip_bits, png_bits

    bits = png_bits(x, spec.levels) if spec.modality == "image" else gzip_bits(x)
    return bits / spec.num_dims


def perturb(x: torch.Tensor, levels: int, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Ren et al.'s background data: each dimension replaced by a uniform level with prob ``rate``."""
    flip = torch.rand(x.shape, generator=generator) < rate
    noise = torch.randint(0, levels, x.shape, generator=generator)
    return torch.where(flip, noise, x)


def background_model(spec):
    """The (untrained) background architecture: a small PixelCNN for images, an LSTM ARM for sequences."""
    from arstudio.models.registry import build_model

    if spec.modality == "image":
        return build_model("pixelcnn", spec, channels=32, layers=3, head_channels=32)
    return build_model("rnn-arm", spec, hidden=64, embedding=16)


def train_background(spec, train: torch.Tensor, steps: int = 300, rate: float = 0.2, seed: int = 0,
                     on_step=None):
    """A small model of the same modality trained on perturbed copies of ``train`` (CPU, seconds
    to a minute): a PixelCNN for images, an LSTM ARM for sequences."""
    from arstudio.data.registry import Dataset
    from arstudio.training import TrainConfig
    from arstudio.training import train as run_training

    g = torch.Generator().manual_seed(seed)
    copies = torch.cat([perturb(train, spec.levels, rate, g) for _ in range(2)])
    n = len(copies)
    data = Dataset("background", spec, copies[: int(0.95 * n)], copies[int(0.95 * n):],
                   copies[int(0.95 * n):], "derived")
    torch.manual_seed(seed)
    model = background_model(spec)
    config = TrainConfig(steps=steps, batch_size=64, lr=2e-3, device="cpu", eval_every=steps,
                         sample_every=0, checkpoint_every=10 ** 9, warmup=20, seed=seed, keep_best=False)
    for event in run_training(model, data, config):
        if on_step is not None:
            on_step(event)
    return model.eval()


@dataclass
class ScoredSet:
    name: str
    x: torch.Tensor
    scores: dict[str, np.ndarray]  # score name -> (N,) higher = more surprising
    bpd: np.ndarray  # the model's bits/dim (== scores["likelihood"])


def score_set(model, name: str, x: torch.Tensor, background=None, classes=None) -> ScoredSet:
    bpd = bits_per_dim(model, x, classes=classes)
    scores = {"likelihood": bpd}
    if background is not None:
        scores["ratio"] = bpd - bits_per_dim(background, x)
    scores["complexity"] = bpd - complexity_bits_per_dim(x, model.spec)
    return ScoredSet(name, x, scores, bpd)


def roc(inside: np.ndarray, outside: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC curve (false-positive rate, true-positive rate) with ``outside`` as positives, and the
    AUROC (Mann-Whitney, ties counted half)."""
    s = np.concatenate([inside, outside])
    y = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(1 - y)[distinct]
    tpr = np.r_[0.0, tp / max(len(outside), 1)]
    fpr = np.r_[0.0, fp / max(len(inside), 1)]
    auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
    return fpr, tpr, auc


def auroc_table(inside: ScoredSet, outsides: list[ScoredSet]) -> list[dict]:
    rows = []
    for o in outsides:
        row = {"out": o.name, "n_in": len(inside.bpd), "n_out": len(o.bpd),
               "bpd_in": float(np.mean(inside.bpd)), "bpd_out": float(np.mean(o.bpd))}
        for k in SCORES:
            if k in inside.scores and k in o.scores:
                row[k] = roc(inside.scores[k], o.scores[k])[2]
        rows.append(row)
    return rows


def surprise_map(model, x: torch.Tensor, classes=None) -> torch.Tensor:
    """Bits of each dimension, -log2 p(x_i | x_<i), in the data's shape (under ``classes``)."""
    return (-log_prob_terms(model, x, classes).double().cpu() / math.log(2.0)).view(len(x), *x.shape[1:])


def verdict(row: dict) -> str:
    """One sentence on an in/out pair: the classic failure named when it happens."""
    aucs = ", ".join(f"{k} {row[k]:.2f}" for k in SCORES if k in row)
    if row["bpd_out"] < row["bpd_in"]:
        return (f"The classic failure: the model gives {row['out']} a HIGHER likelihood than its own test set "
                f"({row['bpd_out']:.3f} vs {row['bpd_in']:.3f} bits/dim), so the likelihood ranks it as typical. "
                f"AUROC: {aucs}.")
    return (f"{row['out']} costs more bits than the test set ({row['bpd_out']:.3f} vs {row['bpd_in']:.3f} "
            f"bits/dim). AUROC: {aucs}.")


def compare(model, in_name: str, out_name: str, n: int = 200, background=None, examples: int = 4,
            classes: int | None = None) -> dict:
    """Everything the Anomaly view draws for one pair, as NumPy: bits/dim of both sets, each score's
    ROC curve and AUROC, and the most and least surprising examples (by bits/dim, both sets
    pooled) with their surprise maps. A class-conditional model scores both sets alike: under
    class ``classes`` when given, else with the class summed out (:func:`classes_used`)."""
    home = model.checkpoint_meta.get("dataset")
    a_name, x_in = load_set(model.spec, in_name, home, n)
    b_name, x_out = load_set(model.spec, out_name, in_name, n)
    inside = score_set(model, a_name, x_in, background, classes)
    outside = score_set(model, b_name, x_out, background, classes)
    row = auroc_table(inside, [outside])[0]
    curves = {k: roc(inside.scores[k], outside.scores[k]) for k in SCORES if k in inside.scores}
    pooled = torch.cat([x_in, x_out])
    bpd = np.concatenate([inside.bpd, outside.bpd])
    order = np.argsort(bpd)
    pick = list(order[::-1][:examples]) + list(order[:examples])
    maps = surprise_map(model, pooled[pick], classes).numpy()
    return {"in": a_name, "out": b_name, "bpd_in": inside.bpd, "bpd_out": outside.bpd, "row": row,
            "curves": {k: (f, t, a) for k, (f, t, a) in curves.items()}, "verdict": verdict(row),
            "examples": pooled[pick].numpy(), "maps": maps, "example_bpd": bpd[pick],
            "example_from_out": np.array(pick) >= len(x_in), "levels": model.spec.levels,
            "classes": classes_used(model, classes)}
