"""A VQ-VAE's code grids as a dataset for training its AR prior, and the pair loaded back.

``vqcodes:REF`` encodes the train/val/test images of the data a VQ-VAE was trained on
with its frozen encoder: every image becomes a ``(1, h, w)`` grid of codebook indices, a
K-level image (K = the codebook size) that any registered image AR model can be trained
on. REF is a VQ-VAE checkpoint file, a run folder (its final checkpoint) or the key of a
bundled model (``vqcodes:vqvae-mnist5k``). Labels are carried over.

The prefix lives here, above the data layer, because encoding needs a checkpoint;
``arstudio.training`` imports this module, so the trainer, ``arstudio eval`` and the
bundled-model checks all know it. :func:`load_latent` rebuilds the pair
(:class:`arstudio.models.latent.LatentAR`) from the prior's checkpoint alone.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from arstudio.checkpoint import CheckpointError, load_checkpoint
from arstudio.data.registry import DataError, Dataset, load_dataset, register_prefix
from arstudio.models.latent import LatentAR


def vqvae_path(ref) -> Path:
    """The checkpoint REF names: a file, a run folder or a bundled key."""
    from arstudio.paths import BUNDLED_MODELS

    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir():
        final = path / "checkpoints" / "final.safetensors"
        if final.is_file():
            return final
        raise DataError(f"{path}: a run folder without a final checkpoint")
    bundled = BUNDLED_MODELS / f"{ref}.safetensors"
    if bundled.is_file():
        return bundled
    raise DataError(f"{ref}: no VQ-VAE checkpoint, run folder or bundled model of that name")


def load_vqvae(ref, device="cpu"):
    model = load_checkpoint(vqvae_path(ref), device)
    if model.registry_name != "vqvae":
        raise DataError(f"{ref}: a {model.registry_name} checkpoint, not a VQ-VAE")
    return model


@torch.no_grad()
def encode_all(vqvae, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, C, H, W) images -> (N, 1, h, w) code grids."""
    out = [vqvae.encode(images[i:i + batch_size]).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out).unsqueeze(1)


@register_prefix("vqcodes",
                 description="a VQ-VAE's code grids (REF: its checkpoint, run folder or bundled key)")
def load_codes(ref) -> Dataset:
    vq = load_vqvae(ref)
    images = load_dataset(vq.checkpoint_meta.get("dataset", "?"))
    splits = [encode_all(vq, images.split(s)) for s in ("train", "val", "test")]
    return Dataset(f"vqcodes:{ref}", vq.code_spec, *splits, images.license,
                   description=f"{vq.config.codes}-code grids of {images.name} from {ref}",
                   labels=dict(images.labels),
                   extras={**images.extras, "vqvae": str(ref), "images": images.name})


def load_latent(prior_ref, device="cpu", vqvae=None) -> LatentAR:
    """The pair from a prior's checkpoint (a file or a bundled key). Its data
    ``vqcodes:REF`` names the VQ-VAE; that is followed only for a bundled VQ-VAE (a file
    never makes the studio open another file it names): for others pass ``vqvae``, the
    VQ-VAE checkpoint, run folder or key, yourself."""
    from arstudio.checkpoint import dataset_named_by
    from arstudio.paths import BUNDLED_MODELS

    path = Path(prior_ref)
    if not path.is_file():
        path = BUNDLED_MODELS / f"{prior_ref}.safetensors"
    prior = load_checkpoint(path, device)
    dataset = prior.checkpoint_meta.get("dataset") or ""
    if vqvae is None:
        if not dataset.startswith("vqcodes:"):
            raise CheckpointError(f"{path}: a prior trained on {dataset!r}, not on a VQ-VAE's codes")
        if dataset_named_by(prior.checkpoint_meta) is None:
            raise CheckpointError(f"{path}: its VQ-VAE ({dataset}) is not a bundled one; "
                                  "name the VQ-VAE checkpoint to pair it with")
        vqvae = dataset.split(":", 1)[1]
    return LatentAR(load_vqvae(vqvae, device), prior)


def latent_card(model, data, folder, key: str) -> str:
    """The model card's examples and figures for a VQ-VAE (reconstructions, codebook use)
    or for a prior over its codes (decoded samples, description length); writes KEY.png."""
    import time

    from arstudio.imaging import grid, save_png

    folder = Path(folder)
    if not model.autoregressive:  # the VQ-VAE itself
        images = load_dataset(model.checkpoint_meta.get("dataset", data.name))
        st = model.code_statistics(images.test)
        x = images.test[:8]
        recon = model.decode_image(model.encode(x)).cpu()
        factorised = model.sample(8, generator=torch.Generator().manual_seed(0)).cpu()
        save_png(grid(torch.cat([x, recon, factorised]), model.spec.levels, cols=8, scale=4),
                 folder / f"{key}.png")
        h, w = model.code_shape
        return (f"- code grid {h}×{w}, {st['codes']} codes; on the {len(images.test)} test images: "
                f"reconstruction MSE **{st['mse']:.4f}** (pixels scaled to [0, 1]), PSNR "
                f"**{st['psnr']:.2f} dB**, -log p(x | codes) {st['recon_nats']:.1f} nats per image; "
                f"codebook perplexity **{st['code_perplexity']:.1f}** of {st['codes']}, "
                f"**{st['dead_codes']}** dead codes\n"
                "- the test NLL above is the decoder's reconstruction term -log p(x | codes of x), "
                "not a likelihood of x: the VQ-VAE needs a prior (see the prior's card)\n\n"
                f"![test images, their reconstructions, codes drawn independently]({key}.png)\n\n"
                "Rows: test images; their reconstructions; images decoded from codes drawn "
                "independently from their training frequencies (no AR prior).")
    ref = data.extras.get("vqvae") or data.name.split(":", 1)[1]
    pair = LatentAR(load_vqvae(ref), model)
    t0 = time.perf_counter()
    samples = pair.sample(16, generator=torch.Generator().manual_seed(0)).cpu()
    seconds = time.perf_counter() - t0
    save_png(grid(samples, pair.spec.levels, scale=4), folder / f"{key}.png")
    images = load_dataset(pair.vqvae.checkpoint_meta["dataset"])
    dl = pair.description_length(images.test)
    h, w = pair.code_shape
    return (f"- the prior of [{ref}]({ref}.md): {h}×{w} codes of {pair.vqvae.config.codes}; "
            f"**{dl['bits_per_code']:.3f} bits per code** "
            f"({dl['bits_per_code'] * math.log(2):.3f} nats; uniform: "
            f"{math.log2(pair.vqvae.config.codes):.2f} bits)\n"
            f"- description length of a test image: prior {dl['prior_bits']:.1f} bits + "
            f"decoder -log2 p(x | codes) {dl['recon_bits']:.1f} bits = **{dl['total_bits']:.1f} bits**"
            f" ({dl['bits_per_dim']:.4f} bits/dim), an upper bound on -log2 p(x)\n"
            f"- 16 decoded samples (prior -> codes -> decoder) on a CPU "
            f"({torch.get_num_threads()} thread(s)): {seconds:.1f} s\n\n"
            f"![samples: prior -> codes -> decoder]({key}.png)")
