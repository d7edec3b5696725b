"""DocNADE: NADE for documents, a neural autoregressive topic model.

Larochelle & Lauly, "A Neural Autoregressive Topic Model", NeurIPS 2012. A document is a
sequence of word indices v_1 .. v_T (levels = the vocabulary size V) and

    p(v) = prod_i p(v_i | v_<i),   h_i = g(c + sum_{k<i} W[:, v_k]),   p(v_i = w | v_<i) from h_i

with g the logistic sigmoid. The hidden state only needs the running sum of the columns
of W for the words read so far, so all T conditionals cost O(T H) plus the output layer,
and sampling adds one column per step. Two output layers, as in the paper:

- ``softmax="full"``: p(w | h) = softmax(b + U h), O(V H) per word;
- ``softmax="tree"``: a balanced binary tree over the vocabulary, a logistic unit at each
  of its V - 1 inner nodes deciding left or right, p(w | h) the product along w's path:
  O(H log V) per word for the likelihood. The tree is the heap layout (inner nodes
  1 .. V-1, node n's children 2n and 2n+1, word w at leaf V + w), so every inner node has
  two children and the leaves' probabilities sum to one exactly.

The model is trained over random orderings of each document's bag of words (``shuffle``:
each training batch is permuted per document), so p(v) is close to order-free and the
conditionals read as "the next word of a document that contains these words". The words
with the largest input weights W[j, :] of hidden unit j are its "topic".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import DOCUMENT_MODELS, register_model


def tree_paths(vocab: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The heap tree's paths: for each word, its inner nodes (0-based, root first), the
    branch taken at each (+1 right, -1 left) and a mask of the real path entries.
    Shapes (V, depth) where depth is the deepest leaf's."""
    paths = []
    for w in range(vocab):
        n, path = vocab + w, []
        while n > 1:
            path.append((n // 2 - 1, 1.0 if n % 2 else -1.0))
            n //= 2
        paths.append(path[::-1])
    depth = max(len(p) for p in paths)
    nodes = torch.zeros(vocab, depth, dtype=torch.long)
    signs = torch.zeros(vocab, depth)
    for w, path in enumerate(paths):
        for d, (node, sign) in enumerate(path):
            nodes[w, d], signs[w, d] = node, sign
    return nodes, signs, signs != 0


@register_model(
    "docnade",
    family=DOCUMENT_MODELS,
    paper="Larochelle and Lauly, A Neural Autoregressive Topic Model, NeurIPS 2012",
    summary=("NADE for documents: each word's distribution given the words before it comes "
             "from a hidden layer over the running sum of their embeddings, so reading a "
             "word costs one vector addition. Trained on random orderings of each bag of "
             "words; each hidden unit's strongest words form a topic. Full softmax, or the "
             "paper's binary-tree softmax for large vocabularies."),
    factorisation="p(v) = prod_i p(v_i | sigmoid(c + sum_{k<i} W[:, v_k]))",
    presets={"tiny": {"hidden": 32, "shuffle": False},  # contract tests: the order as given
             "quick demo": {"hidden": 50},
             "tree softmax": {"hidden": 50, "softmax": "tree"}},
)
class DocNADE(ARModel):
    # the shared contract's learning test fits 4 positional patterns; DocNADE sees only the
    # bag of words read so far, so it needs more than the default 25 steps to show progress
    contract_train_steps = 200

    @dataclass(frozen=True)
    class Config:
        hidden: int = 50  # hidden units (the paper's 20 Newsgroups runs use 50)
        softmax: str = "full"  # "full" or "tree" (balanced binary tree, O(log V) per word)
        shuffle: bool = True  # train on a random ordering of each document's words

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.softmax not in ("full", "tree"):
            raise ValueError(f"softmax must be 'full' or 'tree', got {config.softmax!r}")
        V, H = spec.levels, config.hidden
        self.W = nn.Parameter(torch.empty(V, H).normal_(0.0, (2.0 / (V + H)) ** 0.5))  # row w = W[:, w]
        self.c = nn.Parameter(torch.zeros(H))
        if config.softmax == "full":
            self.out = nn.Linear(H, V)  # b + U h
        else:
            self.node = nn.Linear(H, V - 1)  # one logistic unit per inner node
            nodes, signs, _valid = tree_paths(V)
            self.register_buffer("path_nodes", nodes, persistent=False)  # (V, depth)
            self.register_buffer("path_signs", signs, persistent=False)  # (V, depth), 0 = padding

    # --- the hidden layer ---------------------------------------------------------------
    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h_i for every position: (B, T) word ids -> (B, T, H), by a running sum."""
        emb = self.input_hook(self.W[x.long()], feature_axis=-1)  # (B, T, H): position t reads word t
        before = torch.cumsum(emb, dim=1) - emb  # sum over k < i
        return torch.sigmoid(self.c + before)

    def hidden_of_bag(self, words) -> torch.Tensor:
        """h after reading ``words`` in any order: (H,), the state for the next word."""
        ids = torch.as_tensor(words, dtype=torch.long, device=self.W.device).reshape(-1)
        return torch.sigmoid(self.c + self.W[ids].sum(0))

    # --- output layer -------------------------------------------------------------------
    def word_log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """log p(w | h) for every word: (..., H) -> (..., V)."""
        if self.config.softmax == "full":
            return F.log_softmax(self.out(h), dim=-1)
        a = self.node(h)  # (..., V-1) inner-node activations
        along = a[..., self.path_nodes] * self.path_signs  # (..., V, depth)
        return (F.logsigmoid(along) * (self.path_signs != 0)).sum(-1)

    def conditionals(self, x, **cond):
        return Categorical(self.word_log_probs(self.hidden(x)))  # (B, T, V)

    def log_prob(self, x, reduce=True, **cond):
        if self.config.softmax == "full":
            return super().log_prob(x, reduce)
        h = self.hidden(x)  # (B, T, H)
        a = self.node(h)  # (B, T, V-1)
        nodes, signs = self.path_nodes[x.long()], self.path_signs[x.long()]  # (B, T, depth)
        terms = (F.logsigmoid(a.gather(-1, nodes) * signs) * (signs != 0)).sum(-1)  # (B, T)
        return terms.sum(1) if reduce else terms

    def loss(self, x, **cond):
        if self.training and self.config.shuffle:  # a fresh random ordering per document
            perm = torch.rand(x.shape, device=x.device).argsort(dim=1)
            x = x.gather(1, perm)
        return super().loss(x)

    # --- reading the model ------------------------------------------------------------------
    def topic_words(self, vocabulary, k: int = 10) -> list[list[str]]:
        """Per hidden unit, the ``k`` words with the largest input weights (the paper's topics)."""
        top = self.W.detach().topk(min(k, self.spec.levels), dim=0).indices.T  # (H, k)
        return [[vocabulary[int(w)] for w in row] for row in top]

    @torch.no_grad()
    def next_word(self, words) -> torch.Tensor:
        """p(next word | a bag of words), (V,): the conditional after reading ``words``."""
        return self.word_log_probs(self.hidden_of_bag(words)).exp()

    @torch.no_grad()
    def surprise(self, doc) -> torch.Tensor:
        """-log2 p(v_i | v_<i) for each word of one document, in bits, (T,)."""
        doc = torch.as_tensor(doc, dtype=torch.long, device=self.W.device).reshape(1, -1)
        return -self.log_prob(doc, reduce=False)[0] / math.log(2)

    def make_stepper(self, x, **cond):
        return _DocNADEStepper(self, x)


class _DocNADEStepper:
    """Keeps the running sum c + sum_{k<i} W[:, v_k]; one row of W is added per word."""

    def __init__(self, model: DocNADE, x: torch.Tensor):
        self.model, self.next = model, 0
        self.acc = model.c.detach().expand(x.shape[0], -1).clone()  # (n, H)

    def conditional(self, index, x):
        m = self.model
        while self.next < index:
            self.acc += m.W[x[:, self.next].long()]
            self.next += 1
        return Categorical(m.word_log_probs(torch.sigmoid(self.acc)))  # (n, V)
