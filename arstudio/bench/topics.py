"""DocNADE against a unigram model and LDA on the same held-out documents.

Perplexity per word is exp(total nats / total words) over the test documents. Two
measures, each computed the same way for every model:

- ``document``: -log p(v) of whole documents. Exact for DocNADE (the product of its
  conditionals in the stored word order) and for the unigram model; for scikit-learn's
  ``LatentDirichletAllocation`` the exact marginal is intractable and its variational
  bound is used (``perplexity()``: the ELBO, so LDA's figure is an upper bound on its
  perplexity).
- ``completion``: -log p(second half | first half) of each document (document completion,
  Wallach et al. 2009). DocNADE: its exact conditionals of the last T/2 words given the
  first T/2; LDA: the topic mixture inferred from the first half (``transform``), then
  p(w) = sum_k theta_k beta_kw for each held-out word; unigram: the frequencies. This
  measure is exact for every model given LDA's inferred mixture, so it is the fair one.

    arstudio bench topics [--checkpoint models/docnade-docs.safetensors] [--topics 20]
"""
from __future__ import annotations

import math

import numpy as np
import torch

from arstudio.cli import OneLineParser


def counts(docs: torch.Tensor, vocab: int) -> np.ndarray:
    """(N, T) word ids -> (N, V) word counts."""
    out = np.zeros((len(docs), vocab), dtype=np.float64)
    for i, d in enumerate(docs.numpy()):
        np.add.at(out[i], d, 1.0)
    return out


def unigram_perplexities(train: torch.Tensor, test: torch.Tensor, vocab: int) -> dict:
    """Add-one smoothed word frequencies of the training documents."""
    freq = np.bincount(train.reshape(-1).numpy(), minlength=vocab) + 1.0
    logp = np.log(freq / freq.sum())
    half = test.shape[1] // 2
    return {"document": math.exp(-logp[test.numpy()].mean()),
            "completion": math.exp(-logp[test[:, half:].numpy()].mean())}


def lda_perplexities(train: torch.Tensor, test: torch.Tensor, vocab: int, topics: int = 20,
                     seed: int = 0, max_iter: int = 50) -> dict:
    from sklearn.decomposition import LatentDirichletAllocation

    lda = LatentDirichletAllocation(n_components=topics, learning_method="batch",
                                    max_iter=max_iter, random_state=seed)
    lda.fit(counts(train, vocab))
    half = test.shape[1] // 2
    theta = lda.transform(counts(test[:, :half], vocab))  # (N, K), rows sum to 1
    beta = lda.components_ / lda.components_.sum(1, keepdims=True)  # (K, V)
    p = theta @ beta  # (N, V)
    held = test[:, half:].numpy()
    completion = -np.log(np.take_along_axis(p, held, axis=1)).mean()
    return {"document": float(lda.perplexity(counts(test, vocab))),
            "completion": math.exp(completion), "topics": topics}


@torch.no_grad()
def model_perplexities(model, test: torch.Tensor) -> dict:
    terms = model.log_prob(test.to(model.device), reduce=False).double().cpu()  # (N, T)
    half = test.shape[1] // 2
    return {"document": math.exp(-terms.mean().item()),
            "completion": math.exp(-terms[:, half:].mean().item())}


def compare(model, data, topics: int = 20, max_iter: int = 50) -> dict:
    """{name: {"document": ppl, "completion": ppl}} on ``data.test``."""
    V = data.spec.levels
    return {"docnade": model_perplexities(model, data.test),
            "unigram": unigram_perplexities(data.train, data.test, V),
            f"lda-{topics}": lda_perplexities(data.train, data.test, V, topics, max_iter=max_iter)}


def main(argv=None) -> int:
    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.paths import BUNDLED_MODELS

    p = OneLineParser(prog="arstudio bench topics", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(BUNDLED_MODELS / "docnade-docs.safetensors"))
    p.add_argument("--topics", type=int, nargs="+", default=[10, 20, 50])
    args = p.parse_args(argv)
    model = load_checkpoint(args.checkpoint, "cpu")
    data = load_dataset(model.checkpoint_meta.get("dataset", "docs"))
    V = data.spec.levels
    rows = {"docnade": model_perplexities(model, data.test),
            "unigram": unigram_perplexities(data.train, data.test, V)}
    for k in args.topics:
        rows[f"lda-{k}"] = lda_perplexities(data.train, data.test, V, k)
    print(f"{len(data.test)} test documents of {data.spec.shape[0]} words, vocabulary {V}")
    print(f"{'model':<10} {'document ppl':>13} {'completion ppl':>15}")
    for name, r in rows.items():
        bound = " (bound)" if name.startswith("lda") else ""
        print(f"{name:<10} {r['document']:>13.1f}{bound:<8} {r['completion']:>7.1f}")
    return 0
