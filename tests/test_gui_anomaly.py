"""The Anomaly view, driven for real with bundled models: histograms, ROC curves with the three
AUROCs, surprising examples with their maps, and the classic failure named."""
import numpy as np

from arstudio.gui.qt_anomaly import AnomalyPanel


def _run(qtbot, key, out, n, steps):
    panel = AnomalyPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.model_box.setCurrentIndex(panel.model_box.findData(key))
    panel.out_box.setCurrentText(out)
    panel.count.setValue(n)
    panel.bg_steps.setValue(steps)
    with qtbot.waitSignal(panel.scored, timeout=240_000):
        panel.button.click()
    return panel


def test_three_scores_on_inverted_digits(qtbot):
    panel = _run(qtbot, "pixelcnn-digits", "inverted", 60, 10)
    r = panel.result
    assert set(r["curves"]) == {"likelihood", "ratio", "complexity"}
    names = [panel.roc_legend.items[i][1].text for i in range(len(panel.roc_legend.items))]
    assert any("likelihood: AUROC" in t for t in names) and len(names) == 3
    assert r["row"]["likelihood"] > 0.95  # inverted digits cost far more bits
    f, _ = panel.curves["ratio"].getData()
    np.testing.assert_array_equal(f, r["curves"]["ratio"][0])
    # the histograms count every example of each set
    assert panel.hist_in.getData()[1].sum() == 60 and panel.hist_out.getData()[1].sum() == 60
    assert all(not lab.pixmap().isNull() for row in panel.example_labels for lab in row)
    assert r["example_bpd"][0] >= r["example_bpd"][-1]  # most surprising first


def test_the_classic_failure_is_shown(qtbot):
    panel = _run(qtbot, "pixelcnn-mnist5k-binary", "shapes", 60, 0)
    r = panel.result
    assert r["bpd_out"].mean() < r["bpd_in"].mean()
    assert r["row"]["likelihood"] < 0.5 < r["row"]["complexity"]
    assert "classic failure" in panel.verdict.text() and "ratio" not in r["curves"]


def test_a_class_conditional_model_is_scored_with_the_class_summed_out(qtbot):
    panel = _run(qtbot, "gated-pixelcnn-cond-digits", "noise", 20, 0)
    assert panel.class_box.isEnabled() and panel.class_box.label() is None
    r = panel.result
    assert "summed out" in r["classes"] and "summed out" in panel.verdict.text()
    assert r["row"]["likelihood"] > 0.99  # noise is far from digits under p(x) = Σ_y p(x|y)/10
    # one class for both sets: a different score, said so
    panel.class_box.setCurrentIndex(panel.class_box.findData(3))
    with qtbot.waitSignal(panel.scored, timeout=240_000):
        panel.button.click()
    assert "as class 3" in panel.verdict.text()
    assert not np.allclose(panel.result["bpd_in"], r["bpd_in"])
