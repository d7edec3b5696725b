"""Mixed precision, torch.compile and channels-last in the trainer (arstudio/training/amp.py),
on the CPU with tiny models: the same code paths a GPU run takes (autocast, GradScaler,
compile, memory format), with their GPU speed figures left to scripts/gpu_figures.sh."""
import json
import math

import pytest
import torch

from arstudio import build_model, load_checkpoint, load_dataset
from arstudio.cli import main
from arstudio.training import Done, Step, TrainConfig, train
from arstudio.training.amp import resolve

SMALL = {"channels": 8, "layers": 1, "head_channels": 8}
FEW = dict(steps=10, batch_size=32, log_every=1, eval_every=10, sample_every=0, checkpoint_every=10,
           warmup=2, device="cpu")


def _run(**kw):
    data = load_dataset("digits-binary")
    torch.manual_seed(0)
    model = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(model, data, TrainConfig(**FEW, **kw)))
    losses = [e.loss for e in events if isinstance(e, Step)]
    return model, losses, events[-1]


@pytest.fixture(scope="module")
def fp32():
    return _run(precision="fp32")


def test_bf16_autocast_on_the_cpu_trains_close_to_fp32(fp32):
    _, ref, ref_done = fp32
    model, losses, done = _run(precision="bf16")
    assert len(losses) == 10 and all(math.isfinite(v) for v in losses)
    assert losses != ref  # autocast really ran: bf16 rounding moves the numbers a little
    assert max(abs(a - b) / b for a, b in zip(losses, ref)) < 0.02
    assert losses[-1] < losses[0]  # it learns
    # the scores are computed in fp32 outside autocast: close to the fp32 run's
    assert isinstance(done, Done) and abs(done.test_nats - ref_done.test_nats) / ref_done.test_nats < 0.01
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights stay fp32


def test_fp16_with_a_gradient_scaler_on_the_cpu_trains_close_to_fp32(fp32):
    _, ref, ref_done = fp32
    model, losses, done = _run(precision="fp16")
    assert resolve(TrainConfig(precision="fp16"), model, torch.device("cpu"))["grad_scaler"] is True
    assert len(losses) == 10 and all(math.isfinite(v) for v in losses)
    assert losses != ref
    # the scaler starts at 2**16 and skips the steps whose scaled gradients overflow, so the
    # first steps may differ more than bf16's; still close and still learning
    assert max(abs(a - b) / b for a, b in zip(losses, ref)) < 0.05
    assert math.isfinite(done.test_nats) and abs(done.test_nats - ref_done.test_nats) / ref_done.test_nats < 0.05
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_auto_precision_is_fp32_on_the_cpu_and_channels_last_only_for_conv_models():
    data = load_dataset("digits-binary")
    conv = build_model("pixelcnn", data.spec, **SMALL)
    dense = build_model("made", data.spec, hidden=(16,))
    cfg = TrainConfig(channels_last=True)
    assert resolve(cfg, conv, torch.device("cpu")) == {"precision": "fp32", "grad_scaler": False,
                                                       "compile": "off", "channels_last": True}
    assert resolve(cfg, dense, torch.device("cpu"))["channels_last"] is False  # no 2-D conv: a no-op
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="unknown compile 'fast'"):
        TrainConfig(compile="fast")


def test_channels_last_run_matches_the_default_layout(fp32):
    _, ref, _ = fp32
    model, losses, _ = _run(precision="fp32", channels_last=True)
    weight = next(p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    assert max(abs(a - b) / b for a, b in zip(losses, ref)) < 1e-4  # the same arithmetic, another layout


def test_cli_compile_bf16_channels_last_recorded_and_checkpoint_names_clean(tmp_path, fp32):
    """``--compile eager``: torch.compile with the cheap "eager" backend (TorchDynamo traces the
    step, no code generation), so the test takes seconds; the default inductor backend's speed
    is a GPU figure (scripts/gpu_figures.sh)."""
    out = tmp_path / "run"
    assert main(["train", "--model", "pixelcnn", "--data", "digits-binary", "--device", "cpu",
                 "--steps", "4", "--batch-size", "32", "--precision", "bf16", "--compile", "eager",
                 "--channels-last", "--out", str(out), "--quiet",
                 "--train-set", "sample_every=0", "--train-set", "eval_every=4"]
                + [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["precision"] == "bf16" and cfg["train"]["compile"] == "eager"
    assert cfg["speed"] == {"precision": "bf16", "grad_scaler": False, "compile": "eager", "channels_last": True}
    from safetensors import safe_open

    final = out / "checkpoints" / "final.safetensors"
    with safe_open(str(final), "pt") as f:
        names = set(f.keys())
    plain = build_model("pixelcnn", load_dataset("digits-binary").spec, **SMALL)
    assert names == set(plain.state_dict()) and not any("_orig_mod" in n for n in names)
    model = load_checkpoint(final)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_compiled_training_gives_the_same_losses(fp32):
    """The "eager" backend runs the traced graph with the same kernels: the same numbers."""
    _, ref, _ = fp32
    model, losses, _ = _run(precision="fp32", compile="eager")
    assert losses == pytest.approx(ref, rel=1e-6)
    assert not any("_orig_mod" in n for n in model.state_dict())
