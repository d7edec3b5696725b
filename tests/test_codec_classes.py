"""Class-conditional models as codecs and anomaly scorers: with --data each image is coded under
its own class and the file keeps the classes (the decoder reproduces the exact images); files
take --label K or are refused in one line; .arz version 1 files still decode; score and ood say
which classes they score under."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from arstudio import codec
from arstudio.checkpoint import load_checkpoint
from arstudio.cli import main
from arstudio.codec.container import Header, read_arz, write_arz
from arstudio.data import load_dataset
from arstudio.inspect import anomaly
from arstudio.paths import BUNDLED_MODELS

KEY = "gated-pixelcnn-cond-digits"


@pytest.fixture(scope="module")
def cond():
    return load_checkpoint(BUNDLED_MODELS / f"{KEY}.safetensors")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def run_cli(*argv):
    return main([str(a) for a in argv])


def test_data_split_is_coded_under_its_classes_and_decodes_exactly(tmp_path, capsys, cond, digits):
    arz = tmp_path / "c.arz"
    assert run_cli("compress", KEY, "--data", "digits", "--n", 12, "--out", arz) == 0
    captured = capsys.readouterr()
    assert "its class from the data set" in captured.err and "classes take" in captured.out
    header, _ = read_arz(arz.read_bytes())
    assert header.version == 2 and header.extras["label_ids"] == 10 and "labels" not in header.extras
    back = codec.decompress(arz.read_bytes(), cond)
    x, y = digits.test[:12], digits.labels["test"][:12]
    assert torch.equal(back.codes, x) and torch.equal(back.labels, y.long())
    # the payload is the NLL given the true classes plus log2(10) bits a class (teacher forcing)
    with torch.no_grad():
        given = float((-cond.log_prob(x, label=y).double() / math.log(2)).sum())
    payload = len(arz.read_bytes()) - len(header.pack())
    assert given + 12 * math.log2(10) <= 8 * payload + 1 <= 1.01 * (given + 12 * math.log2(10)) + 64
    # decompress writes the same images
    assert run_cli("decompress", arz, "--out", tmp_path / "dec") == 0
    pngs = sorted((tmp_path / "dec").glob("*.png"))
    got = torch.stack([codec.files.read_image(p, cond.spec) for p in pngs])
    assert torch.equal(got, x)


def test_classes_survive_another_batch(cond, digits):
    items = codec.load_split(cond, "digits", "test", 7)
    c = codec.compress(cond, KEY, items, batch=3)  # 3 chunks, the last padded
    back = codec.decompress(c.blob, cond)
    assert torch.equal(back.codes, digits.test[:7]) and torch.equal(back.labels, digits.labels["test"][:7].long())


def test_files_need_a_class_and_keep_it(tmp_path, capsys, cond, digits):
    png = tmp_path / "seven.png"
    x = digits.test[3]
    Image.fromarray(np.rint(x[0].numpy() * 255 / 16).astype(np.uint8)).save(png)
    with pytest.raises(SystemExit) as e:
        run_cli("compress", KEY, png, "--out", tmp_path / "no.arz")
    msg = str(e.value)
    assert "class-conditional" in msg and "--label K (0–9)" in msg and "\n" not in msg
    assert not (tmp_path / "no.arz").exists()
    label = int(digits.labels["test"][3])
    arz = tmp_path / "f.arz"
    assert run_cli("compress", KEY, png, "--label", label, "--out", arz) == 0
    header, _ = read_arz(arz.read_bytes())
    assert header.extras["label"] == label and "label_ids" not in header.extras
    assert run_cli("decompress", arz, "--out", tmp_path / "dec") == 0
    assert (tmp_path / "dec" / "seven.png").read_bytes() == png.read_bytes()
    # another class gives another code length: the class really conditions the coder
    other = codec.compress(cond, KEY, codec.load_files(cond, [png]), label=(label + 1) % 10)
    mine = codec.compress(cond, KEY, codec.load_files(cond, [png]), label=label)
    assert float(mine.bits.sum()) < float(other.bits.sum())
    with pytest.raises(SystemExit, match="outside"):
        run_cli("compress", KEY, png, "--label", 10, "--out", tmp_path / "x.arz")
    with pytest.raises(SystemExit, match="not class-conditional"):
        run_cli("compress", "pixelcnn-digits", png, "--label", 1, "--out", tmp_path / "x.arz")


def test_version_1_files_still_decode(cond, digits):
    """Version 1 kept the classes as a JSON list in the header; such a file decodes as before."""
    x, y = digits.test[:4], digits.labels["test"][:4].long()
    words, _ = codec.coder.encode(cond, x, None, 4, y)
    old = Header("images", KEY, codec.weights_hash(cond), cond.spec.shape, cond.spec.levels, 4, 4,
                 codec.coder.data_checksum(x), {"labels": [int(v) for v in y]}, version=1)
    blob = write_arz(old, words)
    assert blob[3] == 1
    back = codec.decompress(blob, cond)
    assert torch.equal(back.codes, x) and torch.equal(back.labels, y)
    bad = bytearray(blob)
    bad[3] = 9
    with pytest.raises(codec.CodecError, match="version 9; this ARStudio reads versions 1, 2"):
        codec.decompress(bytes(bad), cond)


def test_summed_out_class_is_the_mixture(cond, digits):
    x = digits.test[:6]
    terms = anomaly.log_prob_terms(cond, x)  # (6, 64) per-dimension terms of p(x) = Σ_y p(x|y)/10
    with torch.no_grad():
        each = torch.stack([cond.log_prob(x, label=torch.full((6,), k)).double() for k in range(10)])
    np.testing.assert_allclose(terms.sum(1).numpy(), (torch.logsumexp(each, 0) - math.log(10)).numpy(), rtol=1e-6)
    assert (terms <= 1e-9).all()  # each is a log-probability of one dimension
    assert anomaly.surprise_map(cond, x).shape == x.shape
    assert "summed out" in anomaly.classes_used(cond) and anomaly.classes_used(load_checkpoint(
        BUNDLED_MODELS / "pixelcnn-digits.safetensors")) is None


def test_score_and_ood_with_a_class_conditional_model(tmp_path, capsys, cond, digits):
    out = tmp_path / "s.csv"
    assert run_cli("score", KEY, "--data", "digits", "--n", 20, "--out", out) == 0
    assert "its class from the data set" in capsys.readouterr().err
    got = np.loadtxt(out, delimiter=",", skiprows=1)[:, 1]
    with torch.no_grad():
        nats = -cond.log_prob(digits.test[:20], label=digits.labels["test"][:20]).double()
    want = (nats / (64 * math.log(2))).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)  # what `arstudio eval` measures
    assert run_cli("ood", KEY, "--out", "noise", "inverted", "--n", 30, "--background", "pixelcnn-digits") == 0
    captured = capsys.readouterr()
    assert "summed out" in captured.err
    rows = [ln for ln in captured.out.splitlines() if ln.startswith(("| noise", "| inverted"))]
    assert len(rows) == 2
    for ln in rows:
        aucs = [float(c) for c in ln.strip("| ").split(" | ")[-3:]]
        assert len(aucs) == 3 and all(0.0 <= a <= 1.0 for a in aucs)
    assert float(rows[0].strip("| ").split(" | ")[-3]) > 0.99


def test_version_1_sound_file_without_classes_decodes_under_the_no_label_id(gen):
    """Version 1 sound files from a labelled WaveNet kept no classes (the model's default is its
    "no label" id); they still decode, and today's files say that id in the header."""
    from contract_specs import TINY_SPECS

    from arstudio.models.registry import build_model, get_model_info

    spec = next(s for s in TINY_SPECS["sequence"] if s.discrete)
    torch.manual_seed(0)
    model = build_model("wavenet", spec, **get_model_info("wavenet").presets["tiny"]).eval()
    assert model.uses_labels and model.no_label is not None
    x = torch.randint(0, spec.levels, (3, *spec.shape), generator=gen)
    words, _ = codec.coder.encode(model, x, None, 3)
    old = Header("sound", "tiny", codec.weights_hash(model), spec.shape, spec.levels, 3, 3,
                 codec.coder.data_checksum(x), {}, version=1)
    assert torch.equal(codec.decompress(write_arz(old, words), model).codes, x)
    c = codec.compress(model, "tiny", codec.Items("sound", x, [spec.num_dims] * 3))
    assert read_arz(c.blob)[0].extras["label"] == model.no_label
    assert torch.equal(codec.decompress(c.blob, model).codes, x)
