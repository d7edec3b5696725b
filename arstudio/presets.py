"""Training presets: one reproducible recipe per bundled model.

``arstudio train --preset pixelcnn-digits`` trains exactly what
``models/pixelcnn-digits.safetensors`` was trained with; its model card
records the result. A preset names the model, its default dataset, the model
settings and the trainer settings; nothing else decides the outcome (the seed
is part of the trainer settings).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    model: str
    dataset: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    published: str = ""  # a literature figure for orientation, with its data set


# the CPU WaveNets share their widths; only depth and conditioning differ
WAVENET_WIDTHS = {"residual_channels": 24, "dilation_channels": 24, "skip_channels": 48}
WAVENET_PUBLISHED = "WaveNet: no figure on this data (speech/music MOS in the paper)"

# the binarized-MNIST-5k image models' one recipe (issue 4): trained side by side on one GPU,
# with a 3-minute budget each (max_minutes); the best validation weights are kept
SIDE_BY_SIDE = {"steps": 20000, "batch_size": 64, "lr": 1e-3, "eval_every": 250, "max_minutes": 3}

PRESETS: dict[str, Preset] = {
    "pixelcnn-digits": Preset(
        "pixelcnn", "digits", {"channels": 32, "layers": 4},
        {"steps": 3000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="causal-conv ARM ≈ 89 nats (val, same split)"),
    "pixelcnn++-digits": Preset(
        # the best model on digits: the DMoL over 17 levels suits grey levels (CPU recipe)
        "pixelcnn++", "digits", {"channels": 32, "resnets": 1},
        {"steps": 1500, "batch_size": 32, "lr": 1e-3, "eval_every": 250, "checkpoint_every": 1500},
        published="causal-conv ARM ≈ 89 nats (val, same split)"),
    "pixelcnn-mnist5k-binary": Preset(
        "pixelcnn", "mnist5k-binary", {"channels": 64, "layers": 7},
        {"steps": 4000, "batch_size": 64, "lr": 1e-3, "eval_every": 250},
        published="PixelCNN 81.3 nats (full binarized MNIST, 60k train)"),
    # compression (issue 15): small CPU models for the README's compression rows
    "pixelcnn-mnist5k": Preset(
        # 256 grey levels: one 256-way softmax per pixel; 8 minutes of one CPU thread
        "pixelcnn", "mnist5k", {"channels": 32, "layers": 3},
        {"steps": 2000, "batch_size": 32, "lr": 1e-3, "eval_every": 100, "max_minutes": 8,
         "sample_every": 0},
        published="PixelCNN 2.92 bits/dim on CIFAR-10 (no 256-level MNIST figure)"),
    "pixelcnn-shapes-colour": Preset(
        # the "quick demo" size that won the equal-CPU-time table (notes/issue-4.md)
        "pixelcnn", "shapes-colour", {"channels": 32, "layers": 4},
        {"steps": 1500, "batch_size": 32, "lr": 1e-3, "eval_every": 250, "max_minutes": 8,
         "sample_every": 0}),
    # image models (issue 4) on binarized MNIST 5k: SIDE_BY_SIDE
    "gated-pixelcnn-mnist5k-binary": Preset(
        "gated-pixelcnn", "mnist5k-binary", {"channels": 64, "layers": 8},
        SIDE_BY_SIDE,
        published="Gated PixelCNN 80.1 nats (full binarized MNIST)"),
    "gated-pixelcnn-cond-mnist5k-binary": Preset(
        # class-conditional (labels from the data: the digit): a small model, 22 minutes of
        # one CPU thread; the Samples tab draws one row per class, Complete takes a class
        "gated-pixelcnn", "mnist5k-binary",
        {"channels": 24, "layers": 4, "kernel": 5, "skip_channels": 24, "head_channels": 32,
         "num_labels": 10, "location_channels": 4},
        {"steps": 1100, "batch_size": 64, "lr": 2e-3, "eval_every": 100, "max_minutes": 22,
         "sample_every": 0, "checkpoint_every": 250},
        published="Conditional Gated PixelCNN: class-conditional ImageNet samples (no binarized MNIST figure)"),
    "gated-pixelcnn-where-digits": Preset(
        # conditioned on a map of where the digit is (local=, data digits-placed): the
        # Samples and Complete tabs let the user paint it; 22 minutes of one CPU thread
        "gated-pixelcnn", "digits-placed",
        {"channels": 24, "layers": 5, "kernel": 5, "skip_channels": 24, "head_channels": 32,
         "local_channels": 1, "local_features": 8, "local_kernel": 7},
        {"steps": 1400, "batch_size": 64, "lr": 2e-3, "eval_every": 100, "max_minutes": 22,
         "sample_every": 0, "checkpoint_every": 250},
        published="Conditional Gated PixelCNN: conditioning on a spatial map (no figure on this data)"),
    "gated-pixelcnn-cond-digits": Preset(
        # class-conditional on the 8x8 digits (17 grey levels, labels from the data): a small
        # model for the class picker on digits, 10 minutes of one CPU thread
        "gated-pixelcnn", "digits",
        {"channels": 16, "layers": 4, "kernel": 5, "skip_channels": 16, "head_channels": 32,
         "num_labels": 10, "location_channels": 4},
        {"steps": 4000, "batch_size": 64, "lr": 2e-3, "eval_every": 100, "max_minutes": 10,
         "sample_every": 0, "checkpoint_every": 500},
        published="Conditional Gated PixelCNN: class-conditional ImageNet samples (no digits figure)"),
    "pixelsnail-zigzag-digits-binary": Preset(
        # PixelSNAIL generating in the zigzag (boustrophedon) order: odd rows right to left;
        # a small model for the order view, 10 minutes of one CPU thread
        "pixelsnail", "digits-binary",
        {"channels": 16, "layers": 2, "head_channels": 32, "ordering": "zigzag"},
        {"steps": 4000, "batch_size": 64, "lr": 2e-3, "eval_every": 100, "max_minutes": 10,
         "sample_every": 0, "checkpoint_every": 500},
        published="PixelSNAIL 2.85 bits/dim on CIFAR-10 (raster order)"),
    "pixelcnn++-mnist5k-binary": Preset(
        "pixelcnn++", "mnist5k-binary", {"channels": 48, "resnets": 2, "scales": 3},
        SIDE_BY_SIDE,
        published="PixelCNN++ 2.92 bits/dim on CIFAR-10 (no binarized MNIST figure)"),
    "pixelsnail-mnist5k-binary": Preset(
        "pixelsnail", "mnist5k-binary", {"channels": 64, "layers": 4},
        SIDE_BY_SIDE,
        published="PixelSNAIL 2.85 bits/dim on CIFAR-10"),
    "pixelrnn-row-mnist5k-binary": Preset(
        "pixelrnn-row", "mnist5k-binary", {"hidden": 32, "layers": 3},
        SIDE_BY_SIDE,
        published="Row LSTM 80.5 nats (full binarized MNIST)"),
    "pixelrnn-diag-mnist5k-binary": Preset(
        "pixelrnn-diag", "mnist5k-binary", {"hidden": 32, "layers": 3},
        SIDE_BY_SIDE,
        published="Diagonal BiLSTM 79.2 nats (full binarized MNIST)"),
    "image-transformer-mnist5k-binary": Preset(
        "image-transformer", "mnist5k-binary", {"d_model": 64, "layers": 4, "heads": 4},
        SIDE_BY_SIDE),
    # fully-visible vector models (issue 3): short CPU runs on the 8×8 binary digits
    "fvsbn-digits-binary": Preset(
        "fvsbn", "digits-binary", {},
        {"steps": 1000, "batch_size": 64, "lr": 1e-2, "eval_every": 100},
        published="FVSBN ≈ 97 nats (full binarized MNIST)"),
    "nade-digits-binary": Preset(
        "nade", "digits-binary", {"hidden": 500},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="NADE 88.3 nats (full binarized MNIST)"),
    "made-digits-binary": Preset(
        "made", "digits-binary", {"hidden": [500]},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="MADE 1 mask 88.0, 32 masks 86.6 nats (full binarized MNIST)"),
    "made-orders-digits-binary": Preset(
        # order-agnostic: 8 connectivity masks (mask 0 raster), one drawn per step and given a
        # fresh random input ordering, so every order of the order picker runs on it (test NLL
        # 21-23 nats in each; with the 8 masks' own orderings only, 18.5 in those, 28-31 in others)
        "made", "digits-binary", {"hidden": [200], "masks": 8, "order_agnostic": True, "fresh_orders": True},
        {"steps": 12000, "batch_size": 64, "lr": 1e-3, "eval_every": 250, "max_minutes": 6,
         "sample_every": 0, "checkpoint_every": 3000},
        published="MADE 1 mask 88.0, 32 masks 86.6 nats (full binarized MNIST)"),
    "deepnade-digits-binary": Preset(
        "deepnade", "digits-binary", {"hidden": [500, 500]},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="EoNADE 2hl 85.1 nats (full binarized MNIST, ensemble of orderings)"),
    "masde-digits-binary": Preset(
        "masde", "digits-binary", {"hidden": [500], "radius": 2},
        {"steps": 1000, "batch_size": 64, "lr": 1e-2, "eval_every": 100}),
    "mlp-arm-digits-binary": Preset(
        "mlp-arm", "digits-binary", {"memory": 9, "hidden": 256},
        {"steps": 1000, "batch_size": 64, "lr": 3e-3, "eval_every": 100}),
    # the same models on binarized MNIST 5k (CPU): where the literature's ranking is measured
    "fvsbn-mnist5k-binary": Preset(
        # 307k free weights for 4,000 images: weight decay keeps it from memorising them
        "fvsbn", "mnist5k-binary", {},
        {"steps": 3000, "batch_size": 64, "lr": 1e-2, "optimizer": "adamw", "weight_decay": 0.1,
         "eval_every": 250, "checkpoint_every": 3000},
        published="FVSBN ≈ 97 nats (full binarized MNIST)"),
    "nade-mnist5k-binary": Preset(
        # every step touches a (64, 784, 500) tensor of hidden states: ~1 s on a laptop CPU
        "nade", "mnist5k-binary", {"hidden": 500},
        {"steps": 1500, "batch_size": 64, "lr": 1e-3, "eval_every": 250, "checkpoint_every": 1500},
        published="NADE 88.3 nats (full binarized MNIST)"),
    "made-mnist5k-binary": Preset(
        "made", "mnist5k-binary", {"hidden": [500]},
        {"steps": 3000, "batch_size": 64, "lr": 1e-3, "eval_every": 250, "checkpoint_every": 3000},
        published="MADE 1 mask 88.0, 32 masks 86.6 nats (full binarized MNIST)"),
    "rnade-moons": Preset(
        "rnade", "moons", {"hidden": 50, "mixtures": 5},
        {"steps": 2000, "batch_size": 128, "lr": 3e-3, "eval_every": 200, "sample_every": 0}),
    # sequence family (issue 5): short CPU recipes. Audio sets are 0.256 s mu-law chunks; the
    # length-agnostic sound models train on random windows (crop) and are tested on whole chunks
    "wavenet-tones": Preset(
        "wavenet", "tones", {**WAVENET_WIDTHS, "layers_per_stack": 5, "stacks": 2, "num_labels": 12},
        {"steps": 1500, "batch_size": 8, "crop": 256, "lr": 3e-3, "label_dropout": 0.1,
         "eval_every": 500, "sample_every": 1500, "num_samples": 4, "checkpoint_every": 1500},
        published=WAVENET_PUBLISHED),
    "wavenet-melodies": Preset(
        # 16 kHz, conditioned on the score (local: 10 channels at 125 Hz, upsampled 128×
        # by a transposed convolution) and the instrument (global); dilations 1..32 twice
        # see 128 samples, two periods of C4. A CPU recipe: 12 minutes of one thread.
        "wavenet", "melodies", {**WAVENET_WIDTHS, "layers_per_stack": 6, "stacks": 2, "num_labels": 3,
                                "local_channels": 10, "local_hop": 128},
        {"steps": 4000, "max_minutes": 12, "batch_size": 8, "crop": 512, "lr": 3e-3,
         "label_dropout": 0.1, "eval_every": 200, "sample_every": 0, "checkpoint_every": 200},
        published=WAVENET_PUBLISHED),
    "wavenet-melodies-8k": Preset(
        # the bundled melody WaveNet: a smaller problem than wavenet-melodies (8 kHz, flute and
        # clarinet, 125 Hz score upsampled 64× into every layer's gate and filter). Dilations
        # 1..16 twice see 63 samples, two periods of C4; short crops start in silence, so the
        # score is what tells the pitch. A CPU recipe: under 40 minutes of one thread. (The
        # bundled weights were trained in stages, each warm-started from the last, as the
        # data changed: see models/wavenet-melodies-8k.md.)
        "wavenet", "melodies-8k", {**WAVENET_WIDTHS, "layers_per_stack": 5, "stacks": 2, "num_labels": 2,
                                   "local_channels": 10, "local_hop": 64},
        {"steps": 3000, "max_minutes": 38, "batch_size": 16, "crop": 512, "lr": 3e-3,
         "label_dropout": 0.1, "eval_every": 250, "sample_every": 0, "checkpoint_every": 250},
        published=WAVENET_PUBLISHED),
    "causal-conv-arm-tones": Preset(
        "causal-conv-arm", "tones", {"channels": 64, "layers": 5, "kernel": 3, "dilation_growth": 2},
        {"steps": 1000, "batch_size": 8, "crop": 512, "lr": 2e-3, "eval_every": 500,
         "sample_every": 1000, "num_samples": 4, "checkpoint_every": 1000}),
    "linear-ar-tones": Preset(
        # least squares: the exact optimum in one solve (gradient training would crawl to it)
        "linear-ar", "tones", {"order": 32, "companding": "mu-law"},
        {"closed_form": True, "sample_every": 1, "num_samples": 4}),
    "rnn-arm-text": Preset(
        "rnn-arm", "text", {"hidden": 128, "embedding": 32, "layers": 1},
        {"steps": 1200, "batch_size": 32, "lr": 2e-3, "eval_every": 300, "sample_every": 600,
         "num_samples": 4, "checkpoint_every": 600},
        published="char-RNNs reach ~1.3–1.6 bits/char on large English corpora"),
    "text-transformer-text": Preset(
        "text-transformer", "text", {"d_model": 128, "heads": 4, "layers": 4},
        {"steps": 600, "batch_size": 16, "lr": 2e-3, "eval_every": 200, "sample_every": 600,
         "num_samples": 4, "checkpoint_every": 600}),
    # latent AR models (issue 16): a VQ-VAE first, then an AR prior over its frozen codes
    # (data vqcodes:KEY); the pair samples prior -> codes -> decoder. CPU recipes
    "vqvae-mnist5k": Preset(
        "vqvae", "mnist5k", {"channels": 32, "codes": 32, "code_dim": 8, "downsample": 2, "residuals": 1},
        {"steps": 2000, "batch_size": 32, "lr": 2e-3, "eval_every": 200, "sample_every": 0,
         "checkpoint_every": 2000, "max_minutes": 25}),
    "pixelcnn-vqvae-mnist5k": Preset(
        "pixelcnn", "vqcodes:vqvae-mnist5k", {"channels": 64, "layers": 5},
        {"steps": 800, "batch_size": 64, "lr": 1e-3, "eval_every": 100, "sample_every": 0,
         "checkpoint_every": 800, "max_minutes": 10},
        published="PixelCNN prior on 8x8 codes of CIFAR-10: 2.75 nats per code, VQ-VAE test loss "
                  "0.047 (a public course solution)"),
    # 8x8 codes of 64: a 4x4 grid of 32 codes (at most 80 bits) cannot hold a shape's 63
    # colours and outline (the direct models need ~110 bits per image): PSNR stuck at 13 dB
    "vqvae-shapes-colour": Preset(
        "vqvae", "shapes-colour", {"channels": 48, "codes": 64, "code_dim": 8, "downsample": 1,
                                   "residuals": 1},
        {"steps": 3000, "batch_size": 32, "lr": 2e-3, "eval_every": 250, "sample_every": 0,
         "checkpoint_every": 3000, "max_minutes": 20}),
    "gated-pixelcnn-vqvae-shapes-colour": Preset(
        "gated-pixelcnn", "vqcodes:vqvae-shapes-colour", {"channels": 32, "layers": 5},
        {"steps": 800, "batch_size": 64, "lr": 1e-3, "eval_every": 100, "sample_every": 0,
         "checkpoint_every": 800, "max_minutes": 15}),
    # documents (issue 16): DocNADE on the Python documentation's bags of words, one CPU thread
    "docnade-docs": Preset(
        "docnade", "docs", {"hidden": 50, "softmax": "full"},
        {"steps": 2500, "batch_size": 64, "lr": 3e-3, "eval_every": 250, "sample_every": 2500,
         "num_samples": 4, "checkpoint_every": 2500},
        published="DocNADE 896 vs LDA 1091 perplexity (20 Newsgroups, the paper's table)"),
    "docnade-tree-docs": Preset(
        "docnade", "docs", {"hidden": 50, "softmax": "tree"},
        {"steps": 2500, "batch_size": 64, "lr": 3e-3, "eval_every": 250, "sample_every": 2500,
         "num_samples": 4, "checkpoint_every": 2500},
        published="DocNADE 896 vs LDA 1091 perplexity (20 Newsgroups, the paper's table)"),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
