"""Lossless compression: exact round trips for every model family, identical probabilities in
both directions whatever the batch, and clear errors (wrong model, damaged file)."""
import wave

import numpy as np
import pytest
import torch
from contract_specs import specs_for

from arstudio import codec
from arstudio.checkpoint import load_checkpoint
from arstudio.cli import main
from arstudio.models.registry import build_model, list_models
from arstudio.paths import BUNDLED_MODELS

# autoregressive models only: a VQ-VAE codes through its prior over codes, not its own pixels
CASES = [(info, spec) for info in list_models() if info.cls.autoregressive for spec in specs_for(info)
         if spec.discrete and spec.modality in ("image", "sequence")]
IDS = [f"{info.name}-{spec.describe().replace(' ', '_')}" for info, spec in CASES]


def sharp_tiny(info, spec, seed=0):
    """An untrained tiny model with weights scaled up: confident, far from uniform predictions
    (probabilities near 0 and 1 test the frequency floor)."""
    torch.manual_seed(seed)
    model = build_model(info.name, spec, **info.presets.get("tiny", {})).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    return model


def test_every_image_and_sequence_family_is_covered():
    families = {info.family for info, _ in CASES}
    assert {"PixelCNN family", "PixelRNN family", "Attention models", "Sequence models"} <= families \
        or len(families) >= 4, families
    names = {info.name for info, _ in CASES}
    for name in ("pixelcnn", "gated-pixelcnn", "pixelcnn++", "pixelrnn-row", "pixelrnn-diag", "pixelsnail",
                 "image-transformer", "wavenet", "causal-conv-arm", "rnn-arm", "text-transformer",
                 "linear-ar", "nade", "made", "fvsbn"):
        assert name in names, f"{name} has no round-trip case"


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_round_trip_is_exact(info, spec, gen):
    model = sharp_tiny(info, spec)
    # data the model finds likely and unlikely alike: samples and uniform noise
    x = torch.cat([model.sample(3, generator=gen), torch.randint(0, spec.levels, (2, *spec.shape), generator=gen)])
    items = codec.Items("images" if spec.modality == "image" else "sequence", x, [spec.num_dims] * 5)
    c = codec.compress(model, "tiny", items, batch=2)  # 3 chunks, the last padded
    back = codec.decompress(c.blob, model)
    assert torch.equal(back.codes, x)
    # the payload is the quantised code length plus the coder's final flush
    assert c.payload_bytes <= float(c.bits.sum()) / 8 + 8
    # each symbol costs -log2 of the model's own probability (to the 2**-24 floor)
    nll = -model.log_prob(x, reduce=False).double() / np.log(2.0)
    plain = nll < 16
    # the integer frequencies round p down by at most 1/2**24: a relative error of 2**nll / 2**24
    tolerance = 1e-4 + 2.0 * 2.0 ** (nll[plain] - codec.coder.PRECISION)
    assert ((c.bits[plain] - nll[plain]).abs() <= tolerance).all()
    assert (c.bits <= codec.coder.PRECISION + 1e-9).all()


def test_quantise_floor_and_total():
    p = np.array([[1.0, 0.0, 0.0], [1e-12, 0.5, 0.5], [0.2, 0.3, 0.5]])
    f = codec.quantise(p)
    assert (f >= 1).all() and (f.sum(1) == codec.coder.TOTAL).all()
    assert np.array_equal(codec.quantise(p.copy()), f)


@pytest.fixture(scope="module")
def pixelcnn_digits():
    return load_checkpoint(BUNDLED_MODELS / "pixelcnn-digits.safetensors")


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_same_probabilities_both_ways_at_any_batch(pixelcnn_digits, batch):
    """The decoder walks the same chunks as the encoder (the batch is in the header), so the
    quantised tables match whatever batch the file was written with."""
    items = codec.load_split(pixelcnn_digits, "digits", "test", 10)
    c = codec.compress(pixelcnn_digits, "pixelcnn-digits", items, batch=batch)
    assert codec.read_arz(c.blob)[0].batch == batch
    back = codec.decompress(c.blob, pixelcnn_digits)
    assert torch.equal(back.codes, items.codes)
    # the per-symbol costs are the same tables seen from the decoder's side
    words = codec.read_arz(c.blob)[1]
    walked = codec.decode(pixelcnn_digits, words, 10, batch=batch)
    assert torch.equal(walked.bits, c.bits)


def test_size_is_the_nll(pixelcnn_digits):
    items = codec.load_split(pixelcnn_digits, "digits", "test", 100)
    c = codec.compress(pixelcnn_digits, "pixelcnn-digits", items)
    nll = float(c.nll_bits.sum()) / 8
    assert nll < c.payload_bytes < 1.01 * nll  # within 1 % of the NLL (the flush is a few bytes)


def run_cli(*argv):
    return main([str(a) for a in argv])


def test_cli_images_round_trip_and_file_inputs(tmp_path, capsys):
    arz = tmp_path / "d.arz"
    assert run_cli("compress", "pixelcnn-digits", "--data", "digits", "--n", 6, "--out", arz) == 0
    assert "6 images with pixelcnn-digits" in capsys.readouterr().out
    assert arz.read_bytes()[:3] == b"ARZ"
    assert run_cli("decompress", arz, "--out", tmp_path / "dec") == 0
    pngs = sorted((tmp_path / "dec").glob("*.png"))
    assert len(pngs) == 6
    from arstudio.data import load_dataset

    model = load_checkpoint(BUNDLED_MODELS / "pixelcnn-digits.safetensors")
    got = torch.stack([codec.files.read_image(p, model.spec) for p in pngs])
    assert torch.equal(got, load_dataset("digits").test[:6])
    # the PNGs compress again (by name) and come back as the same files
    arz2 = tmp_path / "files.arz"
    assert run_cli("compress", "pixelcnn-digits", *pngs, "--out", arz2) == 0
    assert run_cli("decompress", arz2, "--out", tmp_path / "dec2") == 0
    for p in pngs:
        assert (tmp_path / "dec2" / p.name).read_bytes() == p.read_bytes()


def test_cli_wrong_model_is_one_line(tmp_path, capsys):
    arz = tmp_path / "d.arz"
    run_cli("compress", "pixelcnn-digits", "--data", "digits", "--n", 2, "--out", arz)
    with pytest.raises(SystemExit) as e:
        run_cli("decompress", arz, "--out", tmp_path / "x", "--model", "pixelcnn++-digits")
    msg = str(e.value)
    assert "compressed with pixelcnn-digits" in msg and "\n" not in msg
    assert not (tmp_path / "x").exists()


def test_damaged_payload_fails_the_checksum_and_writes_nothing(tmp_path):
    arz = tmp_path / "d.arz"
    run_cli("compress", "pixelcnn-digits", "--data", "digits", "--n", 8, "--out", arz)
    blob = bytearray(arz.read_bytes())
    blob[-9] ^= 0x5A  # a bit pattern in the middle of the coded words
    arz.write_bytes(bytes(blob))
    with pytest.raises(SystemExit) as e:
        run_cli("decompress", arz, "--out", tmp_path / "x")
    assert "checksum" in str(e.value) and "nothing was written" in str(e.value)
    assert not (tmp_path / "x").exists()
    arz.write_bytes(bytes(blob[:20]))
    with pytest.raises(SystemExit, match="damaged|truncated"):
        run_cli("decompress", arz, "--out", tmp_path / "x")


def test_probability_mismatch_is_caught(pixelcnn_digits):
    """Decoding with probabilities that differ from the encoder's (here: a perturbed copy of the
    weights, past the weight check) gives wrong data, and the checksum says so."""
    items = codec.load_split(pixelcnn_digits, "digits", "test", 4)
    c = codec.compress(pixelcnn_digits, "pixelcnn-digits", items)
    other = load_checkpoint(BUNDLED_MODELS / "pixelcnn-digits.safetensors")
    with torch.no_grad():
        next(other.parameters()).add_(0.05)
    header, words = codec.read_arz(c.blob)
    wrong = codec.decode(other, words, header.rows, batch=header.batch)
    assert not torch.equal(wrong.codes, items.codes)
    assert codec.coder.data_checksum(wrong.codes) != header.checksum
    with pytest.raises(codec.CodecError, match="compressed with"):
        codec.decompress(c.blob, other)


def test_cli_text_file_round_trip(tmp_path):
    text = "Range coding with a character model.\nIt stores text in about 2.9 bits per char. " * 3
    src = tmp_path / "note.txt"
    src.write_text(text)
    arz = tmp_path / "t.arz"
    assert run_cli("compress", "rnn-arm-text", src, "--out", arz) == 0
    assert arz.stat().st_size < 0.75 * len(text)  # below the 6.58 bits of a uniform alphabet
    assert run_cli("decompress", arz, "--out", tmp_path / "dec") == 0
    assert (tmp_path / "dec" / "note.txt").read_text() == text


def test_cli_wav_round_trip(tmp_path):
    from arstudio.audio import load_audio, save_wav
    from arstudio.distributions import mu_law_decode, mu_law_encode

    t = np.arange(2500) / 8000
    codes = mu_law_encode(torch.from_numpy(0.5 * np.sin(2 * np.pi * 220 * t)).float())
    src = save_wav(tmp_path / "a.wav", mu_law_decode(codes).numpy(), 8000)
    arz = tmp_path / "a.arz"
    assert run_cli("compress", "linear-ar-tones", src, "--out", arz) == 0
    assert run_cli("decompress", arz, "--out", tmp_path / "dec") == 0
    out = tmp_path / "dec" / "a.wav"
    with wave.open(str(out)) as w:
        assert w.getnframes() == 2500 and w.getframerate() == 8000
    assert out.read_bytes() == src.read_bytes()
    assert torch.equal(mu_law_encode(torch.from_numpy(load_audio(out, 8000)).float()), codes)


def test_a_map_conditioned_model_is_refused_in_one_line(tmp_path):
    """gated-pixelcnn-where-digits gives p(x | where the digit is): a .arz file or a score of
    bare images has no map to give it, so compress, score and ood say so instead of failing inside."""
    for argv in (("compress", "gated-pixelcnn-where-digits", "--data", "digits-placed", "--n", 2,
                  "--out", tmp_path / "w.arz"),
                 ("score", "gated-pixelcnn-where-digits", "--data", "digits-placed", "--n", 2),
                 ("ood", "gated-pixelcnn-where-digits", "--out", "noise", "--background", "gated-pixelcnn-where-digits")):
        with pytest.raises(SystemExit) as e:
            run_cli(*argv)
        msg = str(e.value)
        assert f"arstudio {argv[0]}: " in msg and "map of where the digit goes" in msg and "\n" not in msg
    assert not (tmp_path / "w.arz").exists()
