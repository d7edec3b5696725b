"""Anomaly detection: per-example bits/dim, the three scores' AUROCs, the classic failure."""
import csv

import numpy as np
import pytest
import torch

from arstudio.checkpoint import load_checkpoint, save_checkpoint
from arstudio.cli import main
from arstudio.data import load_dataset
from arstudio.inspect import anomaly
from arstudio.paths import BUNDLED_MODELS


def test_auroc_matches_the_rank_statistic():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0.7, 1, 200)
    b[:20] = a[:20]  # ties count half
    fpr, tpr, auc = anomaly.roc(a, b)
    # P(out > in) + P(out == in) / 2 over every pair
    pairs = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
    assert auc == pytest.approx(pairs, abs=1e-12)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert anomaly.roc(a, a + 100)[2] == 1.0 and anomaly.roc(a + 100, a)[2] == 0.0


def test_out_sets_follow_the_model_spec():
    spec = load_dataset("digits").spec
    x = load_dataset("digits").test[:10]
    assert torch.equal(anomaly.load_set(spec, "inverted:digits", n=10)[1], 16 - x)
    shifted = anomaly.load_set(spec, "shifted", "digits", n=10)[1]
    assert torch.equal(shifted[..., 3:, 3:], x[..., :-3, :-3]) and (shifted[..., :3, :] == 0).all()
    name, m = anomaly.load_set(spec, "mnist5k", n=10)
    assert m.shape == (10, 1, 8, 8) and int(m.max()) <= 16 and "as 17-level" in name
    assert anomaly.load_set(spec, "noise", n=7)[1].shape == (7, 1, 8, 8)


def test_user_folder_is_resized(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((40, 30), 60 * i, np.uint8)).save(tmp_path / f"{i}.png")
    spec = load_dataset("digits").spec
    _name, x = anomaly.load_set(spec, str(tmp_path))
    assert x.shape == (3, 1, 8, 8) and int(x[2, 0, 0, 0]) == round(120 * 16 / 255)


def test_cli_score_writes_each_examples_bits(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["score", "pixelcnn-digits", "--data", "digits", "--n", "12", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    model = load_checkpoint(BUNDLED_MODELS / "pixelcnn-digits.safetensors")
    with torch.no_grad():
        want = model.bits_per_dim(load_dataset("digits").test[:12]).double().numpy()
    assert len(rows) == 12
    np.testing.assert_allclose([float(r["bits_per_dim"]) for r in rows], want, atol=1e-5)


def test_cli_ood_prints_three_aurocs(tmp_path, capsys):
    spec = load_dataset("digits").spec
    bg = anomaly.train_background(spec, load_dataset("digits").train[:300], steps=15)
    save_checkpoint(bg, tmp_path / "bg.safetensors")
    assert main(["ood", "pixelcnn-digits", "--out", "noise", "inverted", "--n", "60",
                 "--background", str(tmp_path / "bg.safetensors")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(("| noise", "| inverted"))]
    assert len(lines) == 2
    for ln in lines:
        aucs = [float(c) for c in ln.strip("| ").split(" | ")[-3:]]
        assert len(aucs) == 3 and all(0.0 <= a <= 1.0 for a in aucs)
    assert float(lines[0].strip("| ").split(" | ")[-3]) > 0.99  # uniform noise is easy


def test_the_classic_failure_and_the_complexity_correction():
    """The bundled binary-MNIST PixelCNN finds simple shapes MORE likely than its own test digits
    (likelihood AUROC below 0.5); subtracting PNG's bits (Serrà et al.) puts them out."""
    model = load_checkpoint(BUNDLED_MODELS / "pixelcnn-mnist5k-binary.safetensors")
    inside = anomaly.score_set(model, "mnist5k-binary", *anomaly.load_set(model.spec, "mnist5k-binary", n=100)[1:])
    name, x = anomaly.load_set(model.spec, "shapes", n=100)
    out = anomaly.score_set(model, name, x)
    assert out.bpd.mean() < inside.bpd.mean()
    assert anomaly.roc(inside.scores["likelihood"], out.scores["likelihood"])[2] < 0.4
    assert anomaly.roc(inside.scores["complexity"], out.scores["complexity"])[2] > 0.9
