"""DocNADE and the document corpus: the tree softmax, bag-of-words training, the
corpus and user folders, and the bundled model against a unigram model and LDA."""
import itertools
import math

import pytest
import torch

from arstudio.data import load_dataset
from arstudio.data.registry import DataError
from arstudio.models.docnade import tree_paths
from arstudio.models.registry import build_model
from arstudio.paths import BUNDLED_MODELS
from arstudio.spec import DataSpec

BUNDLED = BUNDLED_MODELS / "docnade-docs.safetensors"


@pytest.mark.parametrize("vocab", [2, 3, 5, 7])
def test_tree_softmax_is_normalised_and_matches_its_conditionals(vocab):
    """Over every 3-word document of a tiny vocabulary the tree model sums to one, and
    its O(log V) likelihood equals the full-vocabulary distribution it samples from."""
    torch.manual_seed(0)
    model = build_model("docnade", DataSpec((3,), vocab), hidden=6, softmax="tree").eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4.0)  # sharp, uneven branch probabilities
        docs = torch.tensor(list(itertools.product(range(vocab), repeat=3)))
        total = torch.logsumexp(model.log_prob(docs).double(), 0).exp().item()
        fast = model.log_prob(docs, reduce=False)
        full = model.conditionals(docs).log_prob(docs)
    assert abs(total - 1.0) < 1e-5
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)
    _nodes, _signs, valid = tree_paths(vocab)
    assert valid.sum(1).max() == math.ceil(math.log2(vocab))  # balanced: depth ceil(log2 V)


def test_running_sum_is_order_free_and_next_word_reads_a_bag():
    torch.manual_seed(1)
    model = build_model("docnade", DataSpec((6,), 11), hidden=7).eval()
    doc = torch.tensor([[3, 1, 4, 1, 5]])
    h = model.hidden(doc)  # h_i depends on the bag of v_<i only
    h_perm = model.hidden(doc[:, [1, 0, 3, 2, 4]])
    torch.testing.assert_close(h[:, 4], h_perm[:, 4])
    nxt = model.next_word([5, 1, 4, 3, 1])
    after = model.conditionals(torch.tensor([[3, 1, 4, 1, 5, 0]])).probs()[0, 5]  # position 5
    torch.testing.assert_close(nxt, after)
    assert abs(nxt.sum().item() - 1) < 1e-5
    bits = model.surprise(doc[0])
    torch.testing.assert_close(bits, -model.log_prob(doc, reduce=False)[0] / math.log(2))


def test_training_shuffles_word_order_only_in_training():
    torch.manual_seed(2)
    model = build_model("docnade", DataSpec((6,), 9), hidden=5)
    x = torch.tensor([[0, 1, 2, 3, 4, 5]] * 4)
    model.train()
    losses = {round(model.loss(x).item(), 6) for _ in range(6)}
    assert len(losses) > 1  # a fresh random ordering each call
    model.eval()
    assert model.loss(x).item() == pytest.approx(-model.log_prob(x).mean().item())
    fixed = build_model("docnade", DataSpec((6,), 9), hidden=5, shuffle=False).train()
    assert len({round(fixed.loss(x).item(), 6) for _ in range(3)}) == 1


def test_docs_corpus_is_bags_of_words_from_the_python_documentation():
    data = load_dataset("docs")
    assert data.spec == DataSpec((24,), 1000)
    assert len(data.train) > 1500 and len(data.val) > 100 and len(data.test) > 100
    vocab = data.extras["vocabulary"]
    assert len(vocab) == 1000 and len(set(vocab)) == 1000 and "function" in vocab
    assert "the" not in vocab  # stop words are dropped
    assert data.train.min() >= 0 and data.train.max() < 1000
    assert "PSF" in data.license


def test_user_text_folder_one_document_per_file(tmp_path):
    topics = {"cats": "cat whiskers purr kitten milk fur paw ", "ships": "ship sail harbour mast anchor sea deck "}
    for i in range(40):
        name = "cats" if i % 2 else "ships"
        (tmp_path / f"{name}{i}.txt").write_text((topics[name] * 8) + f"number{i}")
    (tmp_path / "image.bin").write_bytes(bytes(range(256)))  # not text: skipped
    data = load_dataset(f"docs:{tmp_path}")
    assert data.spec.shape == (24,) and data.extras["encoding"] == "words"
    vocab = data.extras["vocabulary"]
    assert {"cat", "ship", "anchor"} <= set(vocab)
    for doc in torch.cat([data.train, data.val, data.test]):  # each document from one file
        words = {vocab[int(k)] for k in doc}
        assert words <= set(topics["cats"].split()) or words <= set(topics["ships"].split())
    with pytest.raises(DataError):
        load_dataset(f"docs:{tmp_path / 'missing'}")


@pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled DocNADE not built")
def test_bundled_docnade_beats_unigram_and_lda_on_held_out_documents():
    """Perplexity per word of document completion (second half given the first), computed
    the same way for all three; and whole documents against unigram (exact)."""
    from arstudio.bench.topics import lda_perplexities, model_perplexities, unigram_perplexities
    from arstudio.checkpoint import load_checkpoint

    model = load_checkpoint(BUNDLED)
    data = load_dataset("docs")
    ours = model_perplexities(model, data.test)
    uni = unigram_perplexities(data.train, data.test, data.spec.levels)
    lda = lda_perplexities(data.train, data.test, data.spec.levels, topics=20, max_iter=10)
    assert ours["document"] < 0.6 * uni["document"], (ours, uni)
    assert ours["completion"] < 0.8 * lda["completion"] < 0.8 * uni["completion"], (ours, lda, uni)
    topics = model.topic_words(data.extras["vocabulary"], 5)
    assert len(topics) == model.config.hidden and all(len(set(t)) == 5 for t in topics)
