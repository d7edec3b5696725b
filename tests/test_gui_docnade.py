"""The Topics tab with the bundled DocNADE: topics, a document's surprise, next words."""
import math

import pytest
import torch

from arstudio.gui.qt_docnade import DocNADEPanel, surprise_html
from arstudio.paths import BUNDLED_MODELS

pytestmark = pytest.mark.skipif(not (BUNDLED_MODELS / "docnade-docs.safetensors").is_file(),
                                reason="bundled DocNADE not built")


def test_topics_surprise_and_next_word(qtbot):
    from arstudio.models.registry import load_all

    load_all()  # as in the window: the model modules are imported before a checkpoint is built
    panel = DocNADEPanel()
    qtbot.addWidget(panel)
    i = next(k for k in range(panel.choice.count()) if "docnade-docs" in panel.choice.itemData(k))
    panel.choice.setCurrentIndex(i)
    with qtbot.waitSignal(panel.loaded, timeout=60000):
        panel.show()
    model, vocab = panel.model, panel.vocab
    assert panel.topics.count() == model.config.hidden
    assert panel.topics.item(0).text().split(": ")[1].split() == model.topic_words(vocab, 8)[0]
    panel.doc_number.setValue(3)
    doc = panel.test[3]
    bits = model.surprise(doc)
    assert f"{bits.sum().item():.1f} bits in all" in panel.surprise_total.text()
    assert panel.surprise.toPlainText().split() == [vocab[int(k)] for k in doc]
    qtbot.keyClicks(panel.bag, "socket server zzzz")
    p = model.next_word([vocab.index("socket"), vocab.index("server")])
    best = vocab[int(p.argmax())]
    assert panel.next_words.item(0).text().split()[0] == best
    assert "2 word(s) read" in panel.bag_note.text() and "zzzz" in panel.bag_note.text()
    shown = float(panel.next_words.item(0).text().split()[1].rstrip("%")) / 100
    assert math.isclose(shown, p.max().item(), abs_tol=0.001)


def test_surprise_shading_grows_with_bits():
    text = surprise_html(["a", "b"], torch.tensor([0.0, 14.0]).tolist())
    assert "rgb(255,255,255)" in text and "rgb(255,0,0)" in text
