"""VQ-VAE with an AR prior: the codebook (EMA, dead-code restarts), the shared contract
tests on priors over code grids, the pair (sampling, completion, inspection, description
length), the vqcodes: data and the bundled pairs."""
import math
import time

import pytest
import test_contract as contract
import torch

from arstudio.checkpoint import CheckpointError, save_checkpoint
from arstudio.data import load_dataset
from arstudio.models.latent import LatentAR
from arstudio.models.registry import build_model, get_model_info
from arstudio.paths import BUNDLED_MODELS
from arstudio.spec import DataSpec
from arstudio.training.codes import encode_all, load_latent

TINY = get_model_info("vqvae").presets["tiny"]
PRIORS = ("pixelcnn", "gated-pixelcnn", "pixelsnail", "image-transformer")


def tiny_vqvae(spec=None, seed=0, **kw):
    torch.manual_seed(seed)
    return build_model("vqvae", spec or DataSpec((1, 4, 4), 4), **{**TINY, **kw})


def test_vqvae_is_registered_but_not_autoregressive():
    vq = tiny_vqvae()
    assert not vq.autoregressive and build_model("pixelcnn", DataSpec((1, 2, 2), 3)).autoregressive
    assert "vqvae" not in {i.name for i in contract.INFOS}  # its prior is tested instead
    assert vq.code_spec == DataSpec((1, 2, 2), TINY["codes"])


def test_ema_codebook_follows_assignments_and_dead_codes_restart():
    vq = tiny_vqvae(codes=6, decay=0.5).train()
    x = torch.randint(0, 4, (16, 1, 4, 4))
    z = vq.encode_continuous(x).detach()
    unused = torch.bincount(vq.nearest(z).reshape(-1), minlength=6) == 0
    assert unused.any()  # the random initial codebook leaves codes unassigned
    vq.loss(x)  # first batch: the unassigned codes restart on encoder outputs of the batch
    z = z.permute(0, 2, 3, 1).reshape(-1, vq.config.code_dim)
    dist = torch.cdist(vq.codebook, z).min(1).values
    assert torch.all(dist[unused] < 1e-5) and torch.all(vq.ema_count > 0)
    for _ in range(5):
        vq.loss(x)
    codes = vq.encode(x).reshape(-1)
    used = torch.bincount(codes, minlength=6)
    # EMA: each used entry moves to the mean of the vectors assigned to it, and the
    # average counts track the assignments of the (repeated) batch
    z = vq.encode_continuous(x).detach().permute(0, 2, 3, 1).reshape(-1, vq.config.code_dim)
    for k in torch.nonzero(used > 0).flatten().tolist():
        assert (vq.ema_sum[k] / vq.ema_count[k] - z[codes == k].mean(0)).norm() < 0.5
    vq.ema_count[0] = 0.0  # force a dead code
    before = vq.codebook[0].clone()
    vq.loss(x)
    assert not torch.equal(before, vq.codebook[0]) and vq.ema_count[0] > 0


def test_straight_through_training_lowers_reconstruction_on_digits():
    data = load_dataset("digits")
    vq = tiny_vqvae(data.spec, channels=16, codes=16, code_dim=4, downsample=1).train()
    x = data.train[:64]
    opt = torch.optim.Adam(vq.parameters(), lr=3e-3)
    first = -vq.log_prob(x).mean().item()
    for _ in range(40):
        opt.zero_grad()
        vq.loss(x).backward()
        assert vq.encoder[0].weight.grad.abs().sum() > 0  # gradient copied through the quantiser
        opt.step()
    after = -vq.log_prob(x).mean().item()
    assert after < 0.8 * first, (first, after)
    st = vq.code_statistics(data.val)
    assert st["code_perplexity"] > 2 and 0 <= st["dead_codes"] < 16 and st["psnr"] > 0


@pytest.mark.parametrize("prior", PRIORS)
def test_shared_contract_on_a_prior_over_codes(prior, gen, tmp_path):
    """The contract tests of every AR model, run on the prior over a real code grid
    (a VQ-VAE's K-level 1×h×w image)."""
    spec = tiny_vqvae(codes=3).code_spec  # 2x2 codes of 3 entries: 81 configurations
    info = get_model_info(prior)
    contract.test_autoregressive_property(info, spec, gen)
    contract.test_exact_normalisation(info, spec)
    contract.test_completion_keeps_known_and_steps(info, spec, gen)
    contract.test_fast_sampler_matches_naive(info, spec)
    contract.test_save_load_identical(info, spec, tmp_path, gen)


def _pair(seed=0):
    vq = tiny_vqvae(DataSpec((3, 4, 4), 4), seed=seed, codes=5).eval()
    torch.manual_seed(seed)
    prior = build_model("pixelcnn", vq.code_spec, **get_model_info("pixelcnn").presets["tiny"]).eval()
    return LatentAR(vq, prior)


def test_pair_samples_code_by_code_and_decodes():
    pair = _pair()
    steps = list(pair.sample_steps(3, generator=torch.Generator().manual_seed(1)))
    assert [s.index for s in steps] == list(range(4)) and steps[-1].total == 4
    assert steps[-1].images.shape == (3, 3, 4, 4)
    torch.testing.assert_close(steps[-1].images, pair.vqvae.decode_image(steps[-1].codes))
    again = pair.sample(3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, steps[-1].images)


def test_completion_in_code_space_keeps_known_pixels_and_codes():
    pair = _pair(1)
    image = torch.randint(0, 4, (3, 4, 4))
    known = torch.ones(4, 4, dtype=torch.bool)
    known[2:, 2:] = False  # the bottom-right code's region is unknown
    known[0, 3] = False  # one pixel of the top-right code: that code is unknown too
    cmask = pair.code_mask_for(known)
    assert cmask.tolist() == [[True, False], [True, False]]
    codes = pair.vqvae.encode(image.unsqueeze(0))[0]
    steps = list(pair.complete_steps(image, known, n=2, generator=torch.Generator().manual_seed(0)))
    done = steps[-1]
    assert torch.equal(done.codes[:, cmask], codes[cmask].expand(2, -1))
    assert torch.equal(done.images[:, :, known], image[:, known].expand(2, -1, -1))
    assert pair.code_region(3) == (slice(2, 4), slice(2, 4))


def test_inspection_and_description_length():
    pair = _pair(2)
    codes = torch.randint(0, 5, (2, 2))
    p = pair.code_conditional(codes, 3)
    assert p.shape == (5,) and abs(p.sum().item() - 1) < 1e-5
    terms = pair.prior.log_prob(codes.view(1, 1, 2, 2), reduce=False).view(-1)
    assert math.isclose(p[codes.view(-1)[3]].log().item(), terms[3].item(), rel_tol=1e-4)
    assert pair.decode_entry(4).shape == (3, 2, 2)
    x = torch.randint(0, 4, (5, 3, 4, 4))
    dl = pair.description_length(x)
    z = pair.vqvae.encode(x).unsqueeze(1)
    prior_bits = -pair.prior.log_prob(z).mean().item() / math.log(2)
    recon_bits = -pair.vqvae.log_prob(x).mean().item() / math.log(2)
    assert math.isclose(dl["prior_bits"], prior_bits, rel_tol=1e-5)
    assert math.isclose(dl["total_bits"], prior_bits + recon_bits, rel_tol=1e-5)
    assert math.isclose(dl["bits_per_code"], prior_bits / 4, rel_tol=1e-5)


def test_vqcodes_data_and_the_pair_from_the_prior_checkpoint(tmp_path):
    data = load_dataset("digits")
    vq = tiny_vqvae(data.spec, codes=7).eval()
    path = save_checkpoint(vq, tmp_path / "vq.safetensors", extra={"dataset": "digits"})
    codes = load_dataset(f"vqcodes:{path}")
    assert codes.spec == DataSpec((1, 4, 4), 7) and len(codes.train) == len(data.train)
    assert torch.equal(codes.test, encode_all(vq, data.test))
    prior = build_model("pixelcnn", codes.spec, **get_model_info("pixelcnn").presets["tiny"])
    ppath = save_checkpoint(prior, tmp_path / "prior.safetensors", extra={"dataset": codes.name})
    with pytest.raises(CheckpointError, match="not a bundled one"):
        load_latent(ppath)  # the prior names a file: it is not opened on the prior's word
    pair = load_latent(ppath, vqvae=path)
    torch.testing.assert_close(pair.prior.log_prob(codes.test[:4]), prior.log_prob(codes.test[:4]))
    assert pair.sample(2).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("key", ["pixelcnn-vqvae-mnist5k", "gated-pixelcnn-vqvae-shapes-colour"])
def test_bundled_pair_samples_a_grid_in_seconds(key):
    if not (BUNDLED_MODELS / f"{key}.safetensors").is_file():
        pytest.skip(f"{key} not bundled")
    pair = load_latent(key)
    t0 = time.perf_counter()
    x = pair.sample(16, generator=torch.Generator().manual_seed(0))
    seconds = time.perf_counter() - t0
    assert x.shape == (16, *pair.spec.shape) and seconds < 10
    # the AR prior beats codes drawn independently from their frequencies
    images = load_dataset(pair.vqvae.checkpoint_meta["dataset"]).test[:200]
    z = pair.vqvae.encode(images).reshape(-1)
    independent = -pair.vqvae.usage.clamp_min(1e-12).log2()[z].mean().item()
    assert pair.description_length(images)["bits_per_code"] < independent
