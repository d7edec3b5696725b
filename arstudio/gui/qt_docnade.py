"""Topics panel: a bundled DocNADE's topics, a document's per-word surprise, and the
next word of a typed bag of words.

Loading the model and its vocabulary (the corpus is read once) runs in a pool thread;
after that every view is a single pass over at most a few dozen words (well under a
millisecond), so it runs directly on typing.
"""
from __future__ import annotations

import html
import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from arstudio.bundled import list_bundled
from arstudio.gui.layouts import left_row, titled
from arstudio.gui.workers import run_job


def load_docnade(path):
    """Runs in a worker thread: the model, its vocabulary and the test documents."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset

    model = load_checkpoint(path, "cpu")
    data = load_dataset(model.checkpoint_meta.get("dataset", "docs"))
    return model, tuple(data.extras["vocabulary"]), data.test


def surprise_html(words, bits, cap: float = 14.0) -> str:
    """Each word shaded by its surprise -log2 p(v_i | v_<i): white (expected) to red."""
    out = []
    for w, b in zip(words, bits):
        a = min(1.0, max(0.0, b / cap))
        g = int(255 * (1 - a))
        out.append(f'<span style="background-color: rgb(255,{g},{g}); color: black" '
                   f'title="{b:.2f} bits">{html.escape(w)}</span>')
    return " ".join(out)


class DocNADEPanel(QWidget):
    message = Signal(str)
    loaded = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bundles = [b for b in list_bundled() if b.model == "docnade"]
        self.model = self.vocab = self.test = None
        self.index: dict[str, int] = {}
        self._asked = False

        self.choice = QComboBox()
        for b in self.bundles:
            self.choice.addItem(b.title, str(b.path))
        self.choice.currentIndexChanged.connect(lambda _i: self.load())
        self.topics = QListWidget()
        self.topics.setMinimumWidth(280)

        self.doc_number = QSpinBox(minimum=0, maximum=0)
        self.doc_number.valueChanged.connect(lambda _v: self.show_test_document())
        self.surprise = QTextBrowser()
        self.surprise_total = QLabel("")

        self.bag = QLineEdit()
        self.bag.setPlaceholderText("type words, e.g.  socket server address port")
        self.bag.textChanged.connect(lambda _t: self.complete_bag())
        self.next_words = QListWidget()
        self.bag_note = QLabel("")
        self.reload = QPushButton("Reload")
        self.reload.clicked.connect(self.load)

        top = QHBoxLayout()
        top.addWidget(QLabel("Model"))
        top.addWidget(self.choice, 1)
        top.addWidget(self.reload)
        left = titled("Topics: each hidden unit's strongest words (input weights)", self.topics)
        mid = QVBoxLayout()
        row = left_row(QLabel("Test document"), self.doc_number)
        mid.addLayout(row)
        mid.addWidget(QLabel("Surprise of each word given the words before it (red: more bits)"))
        mid.addWidget(self.surprise, 1)
        mid.addWidget(self.surprise_total)
        mid.addWidget(QLabel("A bag of words: the most likely next words"))
        mid.addWidget(self.bag)
        mid.addWidget(self.bag_note)
        mid.addWidget(self.next_words, 1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addLayout(mid, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    def showEvent(self, event):  # load on first sight: the corpus is read only if asked for
        super().showEvent(event)
        if self.model is None and not self._asked:
            self._asked = True
            if self.bundles:
                self.load()
            else:
                self.message.emit("no bundled DocNADE in models/")

    def load(self):
        path = self.choice.currentData()
        if path is None:
            return
        self.message.emit("loading DocNADE and its vocabulary…")
        run_job(load_docnade, path, on_done=self._loaded, on_error=self._failed, owner=self)

    def _loaded(self, result):
        self.model, self.vocab, self.test = result
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.topics.clear()
        for j, words in enumerate(self.model.topic_words(self.vocab, 8)):
            self.topics.addItem(f"{j:>2}: " + " ".join(words))
        self.doc_number.setMaximum(len(self.test) - 1)
        self.show_test_document()
        self.complete_bag()
        self.message.emit("ready")
        self.loaded.emit()

    def _failed(self, text):
        self.message.emit(f"loading DocNADE failed: {text}")

    def show_test_document(self):
        if self.model is None:
            return
        doc = self.test[self.doc_number.value()]
        bits = self.model.surprise(doc).tolist()
        words = [self.vocab[int(k)] for k in doc]
        self.surprise.setHtml(surprise_html(words, bits))
        ppl = 2 ** (sum(bits) / len(bits))
        self.surprise_total.setText(f"{sum(bits):.1f} bits in all, {sum(bits) / len(bits):.2f} bits "
                                    f"per word (perplexity {ppl:.0f})")

    def complete_bag(self, k: int = 12):
        if self.model is None:
            return
        typed = self.bag.text().lower().split()
        known = [self.index[w] for w in typed if w in self.index]
        unknown = [w for w in typed if w not in self.index]
        p = self.model.next_word(known)
        top = p.topk(k)
        self.next_words.clear()
        for prob, w in zip(top.values.tolist(), top.indices.tolist()):
            self.next_words.addItem(f"{self.vocab[w]:<16} {prob:6.1%}  ({-math.log2(prob):.1f} bits)")
        self.bag_note.setText(f"{len(known)} word(s) read" +
                              (f"; not in the vocabulary: {', '.join(unknown)}" if unknown else ""))
