"""Files a user takes home, each read back: PNG text chunks, GIF/APNG frame counts,
generated text, a run's curves as CSV, headless completion."""
import csv

import numpy as np
import pytest
from PIL import Image

from arstudio.cli import main
from arstudio.data import load_dataset
from arstudio.exports import save_animation


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """A test digit at 4× size (the model's 8×8 after resizing) and a mask of its lower half."""
    root = tmp_path_factory.mktemp("complete")
    d = load_dataset("digits")
    levels = d.test[0, 0].numpy()
    Image.fromarray((levels * 255 // 16).astype(np.uint8)).resize((32, 32), Image.NEAREST).save(root / "in.png")
    m = np.zeros((32, 32), np.uint8)
    m[16:] = 255
    Image.fromarray(m).save(root / "mask.png")
    return root, levels


def test_sample_png_carries_model_data_and_bits(tmp_path, capsys):
    assert main(["sample", "pixelcnn-digits", "--n", "4", "--out", str(tmp_path / "s.png"), "--device", "cpu"]) == 0
    im = Image.open(tmp_path / "s.png")
    assert im.text["Model"] == "pixelcnn" and im.text["Data"] == "digits"
    assert float(im.text["Bits per dim"]) == pytest.approx(1.893, abs=1e-3)
    assert im.text["Software"] == "ARStudio"


def test_sample_a_prior_over_codes_writes_decoded_images(tmp_path):
    """`arstudio sample` on a prior over a bundled VQ-VAE's codes saves the decoded images
    (prior -> codes -> decoder, the pair's own sample for the seed), not the code grids."""
    import torch

    from arstudio.imaging import grid
    from arstudio.training.codes import load_latent

    key = "gated-pixelcnn-vqvae-shapes-colour"
    assert main(["sample", key, "--n", "4", "--seed", "2", "--out", str(tmp_path / "s.png"), "--device", "cpu"]) == 0
    pair = load_latent(key)
    x = pair.sample(4, generator=torch.Generator().manual_seed(2))
    assert x.shape == (4, 3, 16, 16)
    im = Image.open(tmp_path / "s.png")
    assert im.text["Data"] == "vqcodes:vqvae-shapes-colour"
    assert (np.asarray(im.convert("RGB")) == grid(x, pair.spec.levels, scale=8)).all()


def test_sample_text_model_writes_text(tmp_path):
    assert main(["sample", "rnn-arm-text", "--n", "2", "--out", str(tmp_path / "x.txt"), "--device", "cpu"]) == 0
    text = (tmp_path / "x.txt").read_text()
    assert "# Model: rnn-arm" in text and text.count("--- sample ") == 2
    body = text.split("--- sample 1 ---\n", 1)[1].split("\n\n--- sample 2")[0]
    assert len(body) == 128 and all(c == "\n" or 32 <= ord(c) < 127 for c in body)
    with pytest.raises(SystemExit, match="does not model text"):
        main(["sample", "pixelcnn-digits", "--out", str(tmp_path / "y.txt")])
    assert not (tmp_path / "y.txt").exists()


@pytest.mark.parametrize("animation", ["fill.gif", "fill.png"])
def test_headless_completion_with_animation(tmp_path, digit_files, animation):
    root, levels = digit_files
    out, anim = tmp_path / "grid.png", tmp_path / animation
    assert main(["-q", "complete", "pixelcnn-digits", "--image", str(root / "in.png"), "--unknown",
                 str(root / "mask.png"), "--n", "4", "--out", str(out), "--animation", str(anim),
                 "--fps", "25", "--device", "cpu"]) == 0
    im = Image.open(out)
    assert im.text["Method"] == "raster" and im.text["Unknown pixels"] == "32" and im.text["Model"] == "pixelcnn"
    grid = np.asarray(im.convert("L"))
    scale, pad = 4, 1
    for tile in range(4):  # every completion keeps the known top half of the input
        r, c = divmod(tile, 2)
        top, left = pad + r * (8 + pad), pad + c * (8 + pad)
        shown = grid[top * scale:(top + 4) * scale:scale, left * scale:(left + 8) * scale:scale]
        assert np.array_equal(shown, np.rint(levels[:4] / 16 * 255).astype(np.uint8))
    a = Image.open(anim)
    # the masked input, one frame per generated pixel (32, marked), the finished grid (held)
    assert a.n_frames == 1 + 32 + 1
    assert a.info["duration"] == 40  # 25 frames per second
    if animation.endswith(".png"):
        assert a.format == "PNG" and a.is_animated


def test_completion_methods_and_errors(tmp_path, digit_files, capsys):
    root, _ = digit_files
    assert main(["-q", "complete", "pixelcnn-digits", "--image", str(root / "in.png"), "--unknown",
                 str(root / "mask.png"), "--method", "resample", "--n", "2", "--candidates", "8",
                 "--out", str(tmp_path / "r.png")]) == 0
    assert Image.open(tmp_path / "r.png").text["Method"] == "resample"
    Image.new("L", (8, 8), 0).save(tmp_path / "empty.png")
    assert main(["complete", "pixelcnn-digits", "--image", str(root / "in.png"), "--unknown",
                 str(tmp_path / "empty.png"), "--out", str(tmp_path / "e.png")]) == 2
    assert "nothing is unknown" in capsys.readouterr().err
    with pytest.raises(ValueError, match="gif or .png"):
        save_animation([np.zeros((4, 4, 3), np.uint8)], tmp_path / "x.mp4")


def test_export_curves_csv(tmp_path):
    assert main(["-q", "train", "--model", "fvsbn", "--data", "digits-binary", "--steps", "20", "--device", "cpu",
                 "--out", str(tmp_path / "run"), "--train-set", "log_every=5", "--train-set", "eval_every=10",
                 "--train-set", "sample_every=0"]) == 0
    assert main(["-q", "export-curves", str(tmp_path / "run"), "--out", str(tmp_path / "c.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    train = [r for r in rows if r["split"] == "train"]
    assert [int(r["step"]) for r in train] == [5, 10, 15, 20]
    assert [(int(r["step"]), r["split"]) for r in rows if r["kind"] == "eval"] == [(10, "val"), (20, "val"),
                                                                                   (20, "test")]
    assert all(float(r["bpd"]) > 0 for r in rows) and float(train[0]["lr"]) > 0
