"""Every bundled checkpoint loads with today's code and reproduces its recorded test NLL."""
import pytest

from arstudio.bundled import evaluate_bundled, list_bundled
from arstudio.models.registry import list_models
from arstudio.presets import PRESETS

BUNDLED = list_bundled()


def test_models_folder_is_small_and_carded():
    from arstudio.paths import BUNDLED_MODELS

    total = sum(p.stat().st_size for p in BUNDLED_MODELS.iterdir())
    # 40 MiB held 32 bundles; the lecture's small bundles (8x8 digits models of issue 14, the
    # melody WaveNet of issue 17: a few hundred KB each) get 2 MiB more. The wheel stays small.
    assert total <= 42 * 1024 * 1024, f"models/ is {total / 1e6:.1f} MB"
    for b in BUNDLED:
        assert (BUNDLED_MODELS / f"{b.key}.md").is_file(), f"{b.key} has no model card"
        assert b.key in PRESETS, f"{b.key} has no training preset to reproduce it"
        assert PRESETS[b.key].model == b.model and PRESETS[b.key].dataset == b.dataset


@pytest.mark.parametrize("bundled", BUNDLED, ids=[b.key for b in BUNDLED])
def test_bundled_reproduces_recorded_nll(bundled):
    row = evaluate_bundled(bundled, "cpu")
    assert abs(row["bpd"] - row["recorded_bpd"]) <= 0.01, row


def test_every_registered_model_is_bundled():
    missing = sorted({i.name for i in list_models()} - {b.model for b in BUNDLED})
    assert not missing, f"registered but not bundled: {missing}"


def test_retime_card_rewrites_only_the_sampling_line(tmp_path):
    import re
    import shutil

    from arstudio.bundled import retime_card
    from arstudio.paths import BUNDLED_MODELS

    key = "fvsbn-digits-binary"
    for suffix in (".safetensors", ".md"):
        shutil.copy(BUNDLED_MODELS / f"{key}{suffix}", tmp_path / f"{key}{suffix}")
    card = tmp_path / f"{key}.md"
    card.write_text(re.sub(r"^- sampling .*$", "- sampling 16 examples on this CPU: 999.0 s",
                           card.read_text(), flags=re.MULTILINE))
    before = card.read_text().splitlines()
    seconds = retime_card(key, folder=tmp_path)
    after = card.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1
    assert changed[0][1].endswith(f"{seconds:.1f} s") and "999.0" not in changed[0][1]


LATENT = [b for b in BUNDLED if b.model == "vqvae" or str(b.dataset).startswith("vqcodes:")]


@pytest.mark.parametrize("bundled", LATENT, ids=[b.key for b in LATENT])
def test_latent_cards_figures_are_reproduced(bundled):
    """The figures a VQ-VAE's card records (MSE, PSNR, codebook perplexity, dead codes) and
    those of its prior's card (bits per code, the description length and its two parts),
    recomputed from the bundled checkpoints and the data, to the card's printed precision."""
    import re

    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.paths import BUNDLED_MODELS
    from arstudio.training.codes import load_latent

    card = (BUNDLED_MODELS / f"{bundled.key}.md").read_text()

    def figure(pattern):
        m = re.search(pattern, card)
        assert m, f"{bundled.key}.md has no figure matching {pattern!r}"
        return m.group(1)

    def same(shown: str, value: float):  # equal when rounded as the card prints it
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        assert abs(float(shown) - value) <= 0.5 * 10 ** -decimals + 1e-9, (bundled.key, shown, value)

    if bundled.model == "vqvae":
        model = load_checkpoint(bundled.path, "cpu")
        st = model.code_statistics(load_dataset(bundled.dataset).test)
        same(figure(r"MSE \*\*([\d.]+)\*\*"), st["mse"])
        same(figure(r"PSNR \*\*([\d.]+) dB\*\*"), st["psnr"])
        same(figure(r"perplexity \*\*([\d.]+)\*\*"), st["code_perplexity"])
        assert int(figure(r"\*\*(\d+)\*\* dead codes")) == st["dead_codes"]
        same(figure(r"-log p\(x \| codes\) ([\d.]+) nats"), st["recon_nats"])
        return
    pair = load_latent(bundled.path)
    dl = pair.description_length(load_dataset(pair.vqvae.checkpoint_meta["dataset"]).test)
    same(figure(r"\*\*([\d.]+) bits per code\*\*"), dl["bits_per_code"])
    same(figure(r"prior ([\d.]+) bits \+"), dl["prior_bits"])
    same(figure(r"codes\) ([\d.]+) bits ="), dl["recon_bits"])
    same(figure(r"= \*\*([\d.]+) bits\*\*"), dl["total_bits"])
    same(figure(r"\(([\d.]+) bits/dim\), an upper bound"), dl["bits_per_dim"])
