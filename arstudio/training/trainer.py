"""The trainer: a plain generator of events, with no files and no GUI.

``for event in train(model, dataset, TrainConfig(...)): ...`` runs the whole
loop. Callers decide what to do with events (the run folder writes them; the
CLI draws a progress bar; tests just count). ``control`` lets a caller pause
or stop between steps without threads: it is called once per step and may
return "pause" (the trainer waits and asks again) or "stop".
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import torch

from arstudio.devices import describe_device
from arstudio.training import amp
from arstudio.training.distributed import current as distributed
from arstudio.training.distributed import is_comm_error, lost_peer
from arstudio.training.events import Checkpoint, Done, Eval, Event, Samples, Started, Step, TrainingError
from arstudio.training.options import training_options
from arstudio.training.state import TrainState, capture
from arstudio.train_config import DEVICES, OPTIMIZERS, SCHEDULES, TrainConfig  # noqa: F401  (the old home)


# a training loss above this many bits per dimension is a divergence, not learning (a
# uniform guess over 65536 levels costs 16 bits/dim; real-valued densities stay far below)
DIVERGED_BPD = 1e4


def lr_at(config: TrainConfig, step: int, total: int) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if config.schedule == "constant":
        return config.lr
    progress = (step - config.warmup) / max(1, total - config.warmup)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _labels_kw(model, labels, local=None):
    """Conditional models (``uses_labels``) get class ids as ``label=``; models with
    local conditioning (``uses_local``) the data's slow series as ``local=``."""
    kw = {}
    if labels is not None and model.uses_labels:
        kw["label"] = labels
    if local is not None and model.uses_local:
        kw["local"] = local
    return kw


def _local(dataset, split):
    """The split's local-conditioning series (N, C, frames), when the data has one."""
    return dataset.extras.get("local", {}).get(split)


@torch.no_grad()
def evaluate(model, data: torch.Tensor, batch_size: int = 256, labels=None,
             local=None, dist=None) -> tuple[float, float]:
    """Mean NLL over ``data`` in nats per example, and bits per dimension. ``dist``
    (:mod:`arstudio.training.distributed`): each rank scores its part, the sum is shared."""
    was = model.training
    model.eval()
    device = model.device
    total = 0.0
    lo, hi = dist.shard_range(len(data)) if dist is not None else (0, len(data))
    for i in range(lo, hi, batch_size):
        j = min(i + batch_size, hi)
        xb = data[i:j].to(device)
        lb = labels[i:j].to(device) if labels is not None else None
        lc = local[i:j].to(device) if local is not None else None
        total += -model.log_prob(xb, **_labels_kw(model, lb, lc)).double().sum().item()
    if dist is not None:
        total = dist.sum(total)
    model.train(was)
    nats = total / len(data)
    return nats, nats / (model.num_dims * math.log(2))


def _optimizer(model, config: TrainConfig):
    params = [p for p in model.parameters() if p.requires_grad]
    # the fused kernel: one pass over each parameter instead of ~10 (CPU: 5x faster an
    # update; for MADE with 8,000 hidden units it was 40% of a training step)
    fused = {"fused": True} if params and all(
        p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params) else {}
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'adam' or 'adamw'")


def train(model, dataset, config: TrainConfig = TrainConfig(),
          control: Callable[[], str | None] | None = None,
          resume: TrainState | None = None) -> Iterator[Event]:
    """Train ``model`` on ``dataset`` (an :class:`arstudio.data.Dataset`), yielding events.
    ``resume``: a :class:`~arstudio.training.state.TrainState` to go on from (the weights,
    optimizer, data order, RNG states and step it holds), exactly as if never stopped."""
    torch.manual_seed(config.seed)
    check_augment(model, config)
    ddp = distributed()  # one process, or one rank of a torchrun (training/distributed.py)
    if ddp.active and (config.closed_form or ddp.batch_problem(config.batch_size)):
        raise ValueError(ddp.batch_problem(config.batch_size) or "a closed-form fit takes no steps; run it "
                         "in one process")
    device = ddp.device(config.device)
    model.to(device).train()
    speed = amp.resolve(config, model, device)  # precision, compile, channels-last as this run does them
    amp.to_channels_last(model, speed)
    train_x = dataset.train
    train_y = dataset.labels.get("train")
    train_local = _local(dataset, "train")
    total = 0 if config.closed_form else config.total_steps(len(train_x))
    if resume is not None:
        model.load_state_dict(resume.model)
    opt = _optimizer(model, config)
    ema = _ema_model(model, config)
    if ema is not None and resume is not None and resume.ema is not None:
        ema.load_state_dict(resume.ema)
    scaler = amp.grad_scaler(speed, device)  # fp16 only
    # model.loss, or DDP around it, perhaps compiled; checkpoints keep the unwrapped model
    net = amp.compiled(ddp.wrap(model), speed)
    yield Started(model.registry_name, dataset.name, model.num_parameters(), ddp.device_text(describe_device(device)),
                  model.num_dims, total, resume.step if resume is not None else 0)
    if config.closed_form:
        yield from _fit_closed_form(model, dataset, config)
        return
    shuffler = torch.Generator().manual_seed(config.seed)
    perm, cursor = torch.randperm(len(train_x), generator=shuffler), 0
    step, elapsed_before = 0, 0.0
    stopped = False
    last_val = None
    best = {"nats": math.inf, "state": None, "step": 0}
    if resume is not None:
        step, perm, cursor, elapsed_before = resume.step, resume.perm.clone(), resume.cursor, resume.elapsed
        opt.load_state_dict(resume.optimizer)
        shuffler.set_state(resume.rng_shuffle)
        torch.set_rng_state(resume.rng_torch)
        if resume.rng_cuda and torch.cuda.is_available() and len(resume.rng_cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(resume.rng_cuda)
        last_val = resume.last_val
        if resume.best.get("state") is not None:
            best = {"nats": resume.best["nats"], "step": resume.best["step"],
                    "state": {k: v.to(device) for k, v in resume.best["state"].items()}}
    t0 = time.perf_counter() - elapsed_before  # elapsed goes on from the stop
    budget_t0 = time.perf_counter()  # max_minutes is this call's budget: a resumed run gets it afresh
    window_t, window_n = time.perf_counter(), 0

    def snapshot():
        return capture(model, opt, shuffler, perm, cursor, step, time.perf_counter() - t0, best, last_val,
                       ema)

    while step < total:
        over = config.max_minutes is not None and time.perf_counter() - budget_t0 > 60 * config.max_minutes
        # several ranks: rank 0's request and time verdict, on every rank (one broadcast a step)
        action, over = ddp.agree(control() if control is not None else None, over)
        while action == "pause":
            time.sleep(0.1)
            action, _ = ddp.agree(control() if control is not None else None)
        if action == "stop" or over:
            stopped = True
            break
        if cursor + config.batch_size > len(perm):
            perm, cursor = torch.randperm(len(train_x), generator=shuffler), 0
        idx = perm[cursor:cursor + config.batch_size]
        cursor += config.batch_size
        xb = train_x[idx]
        lb = train_y[idx] if train_y is not None else None
        lc = train_local[idx] if train_local is not None else None
        xb, lb, lc = _augment(model, config, xb, lb, shuffler, lc)
        n_global = len(xb)  # the whole batch drew from the shuffler; this rank keeps its shard
        xb, lb, lc = ddp.shard(xb), ddp.shard(lb), ddp.shard(lc)
        xb = amp.batch_layout(xb.to(device, non_blocking=True), speed)
        lb = lb.to(device) if lb is not None else None
        lc = lc.to(device) if lc is not None else None
        lr = lr_at(config, step, total)
        for group in opt.param_groups:
            group["lr"] = lr
        try:
            with amp.autocast(speed, device):
                loss = net(xb, **_labels_kw(model, lb, lc))
            loss = loss.float()
            loss_all = ddp.mean(loss.detach())  # over every rank's shard: the same verdict on each
            if not bool(loss_all.abs() <= DIVERGED_BPD * xb[0].numel() * math.log(2)):  # NaN fails too
                raise TrainingError(f"the loss became {loss_all.item():.4g} at step {step + 1} (diverged); "
                                    "try a lower learning rate. The last checkpoint is kept.")
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
            else:  # fp16: a scaled loss, the true gradients back before clipping
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            # the gradient norm is checked with clipping off too: an infinite one would
            # otherwise turn every weight to NaN (or to 1e28) without a word
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip or math.inf)
            if not torch.isfinite(norm) and scaler is None:  # the scaler skips such a step, lowers its scale
                raise TrainingError(f"the gradient became {norm.item()} at step {step + 1} (diverged); "
                                    "try a lower learning rate or grad_clip. The last checkpoint is kept.")
            if scaler is None:
                opt.step()
            else:
                scaler.step(opt)
                scaler.update()
            if ema is not None:
                _update_ema(ema, model)
        except torch.OutOfMemoryError:
            raise TrainingError(f"out of {device.type} memory at batch size {config.batch_size}; "
                                "lower the batch size or the model size. The last checkpoint is kept.") from None
        except RuntimeError as e:  # a collective inside DDP's backward: another rank is gone
            if ddp.active and is_comm_error(e):
                raise lost_peer(e) from None
            raise
        step += 1
        window_n += n_global
        if step % config.log_every == 0 or step == total:
            now = time.perf_counter()
            nats = loss_all.item()
            yield Step(step, nats, nats / (xb[0].numel() * math.log(2)), lr,
                       window_n / max(now - window_t, 1e-9), now - t0)
            window_t, window_n = now, 0
        if step % config.eval_every == 0 or step == total:
            nats, bpd = evaluate(model, dataset.val, config.eval_batch_size, dataset.labels.get("val"),
                 local=_local(dataset, "val"), dist=ddp)
            last_val = {"val_nats": nats, "val_bpd": bpd}
            if config.keep_best and nats < best["nats"]:
                best = {"nats": nats, "step": step,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            yield Eval(step, "val", nats, bpd)
            if ema is not None:
                yield Eval(step, "val_ema", *evaluate(ema.module, dataset.val, config.eval_batch_size,
                                                      dataset.labels.get("val"), _local(dataset, "val"), ddp))
        if config.sample_every and ddp.is_main and (step % config.sample_every == 0 or step == total):
            yield Samples(step, _samples(model, config, dataset))
        if step % config.checkpoint_every == 0 and step < total:
            yield Checkpoint(step, dict(last_val or {}), model, snapshot() if ddp.is_main else None, _ema_of(ema))
    final_state = snapshot() if ddp.is_main else None  # before the best weights come back: a resume goes on from here
    if best["state"] is not None and best["step"] != step:
        model.load_state_dict(best["state"])  # early stopping: validation picked these weights
        last_val = {"val_nats": best["nats"], "val_bpd": best["nats"] / (model.num_dims * math.log(2)),
                    "best_step": best["step"]}
    test_nats, test_bpd = evaluate(model, dataset.test, config.eval_batch_size, dataset.labels.get("test"),
                 local=_local(dataset, "test"), dist=ddp)
    yield Eval(step, "test", test_nats, test_bpd)
    metrics = {**(last_val or {}), "test_nats": test_nats, "test_bpd": test_bpd}
    if ema is not None:  # checkpoint metrics are numbers: the average's figures as ema_*
        em = _ema_metrics(ema, dataset, config, ddp)
        metrics.update({f"ema_{k}": v for k, v in em.items()})
        yield Eval(step, "test_ema", em["test_nats"], em["test_bpd"])
    yield Checkpoint(step, metrics, model, final_state, _ema_of(ema))
    yield Done(step, time.perf_counter() - t0, test_nats, test_bpd, stopped)


def _ema_model(model, config):
    """``torch.optim.swa_utils.AveragedModel`` with an EMA of the parameters, or None."""
    if not config.ema:
        return None
    if not 0.0 < config.ema < 1.0:
        raise ValueError(f"ema is a decay between 0 and 1 (e.g. 0.999), got {config.ema}")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=False)


@torch.no_grad()
def _update_ema(ema, model):
    ema.update_parameters(model)
    for mine, theirs in zip(ema.module.buffers(), model.buffers()):  # masks and the like: as trained
        mine.copy_(theirs)


def _ema_of(ema):
    return ema.module if ema is not None else None


def _ema_metrics(ema, dataset, config, dist=None) -> dict:
    val_nats, val_bpd = evaluate(ema.module, dataset.val, config.eval_batch_size, dataset.labels.get("val"),
                 local=_local(dataset, "val"), dist=dist)
    test_nats, test_bpd = evaluate(ema.module, dataset.test, config.eval_batch_size, dataset.labels.get("test"),
                 local=_local(dataset, "test"), dist=dist)
    return {"val_nats": val_nats, "val_bpd": val_bpd, "test_nats": test_nats, "test_bpd": test_bpd,
            "decay": config.ema}


def _fit_closed_form(model, dataset, config):
    """One solve on the whole training split, then the same evaluation as a gradient run."""
    t0 = time.perf_counter()
    with torch.no_grad():
        model.fit(dataset.train)
    val_nats, val_bpd = evaluate(model, dataset.val, config.eval_batch_size, dataset.labels.get("val"),
                 local=_local(dataset, "val"))
    yield Eval(0, "val", val_nats, val_bpd)
    test_nats, test_bpd = evaluate(model, dataset.test, config.eval_batch_size, dataset.labels.get("test"),
                 local=_local(dataset, "test"))
    yield Eval(0, "test", test_nats, test_bpd)
    if config.sample_every:
        yield Samples(0, _samples(model, config, dataset))
    metrics = {"val_nats": val_nats, "val_bpd": val_bpd, "test_nats": test_nats, "test_bpd": test_bpd}
    yield Checkpoint(0, metrics, model)
    yield Done(0, time.perf_counter() - t0, test_nats, test_bpd, False)


def check_augment(model, config: TrainConfig):
    """Refuse crop / label dropout / a closed-form fit where they mean nothing, before any
    step runs; the same tests the Train tab asks (arstudio.training.options)."""
    usable = training_options(model)
    if config.crop and not usable["crop"]:
        raise ValueError(f"crop applies to sequence data; {model.registry_name} models "
                         f"{model.spec.modality} data")
    if config.closed_form and not usable["closed_form"]:
        raise ValueError(f"closed_form needs a model with a fit(data) method; "
                         f"{model.registry_name} is trained by gradient steps")
    if config.label_dropout and not usable["label_dropout"]:
        raise ValueError(f"label_dropout needs a model with a 'no label' id; "
                         f"{model.registry_name} has none (or no labels)")


def _augment(model, config, xb, lb, generator, local=None):
    """Random crops and label dropout, drawn from the trainer's seeded generator. A local
    series (B, C, frames) is cropped with the data, on whole frames of ``T / frames`` samples."""
    length = xb.shape[-1]
    if config.crop and config.crop < length:  # a window per example, (B, T) -> (B, crop)
        hop = 1 if local is None else length // local.shape[-1]
        if config.crop % hop:
            raise ValueError(f"crop must be a multiple of the local series' hop ({hop} samples)")
        starts = torch.randint(0, (length - config.crop) // hop + 1, (len(xb), 1), generator=generator) * hop
        xb = xb.gather(-1, starts + torch.arange(config.crop))
        if local is not None:  # (B, C, crop / hop) frames under the window
            frames = (starts // hop + torch.arange(config.crop // hop)).unsqueeze(1)
            local = local.gather(-1, frames.expand(-1, local.shape[1], -1))
    if config.label_dropout and lb is not None:
        drop = torch.rand(len(lb), generator=generator) < config.label_dropout
        lb = torch.where(drop, torch.full_like(lb, model.no_label), lb)
    return xb, lb, local


def _samples(model, config, dataset):
    gen = torch.Generator().manual_seed(config.seed + 1)  # same seed each time: watch them sharpen
    kw = {}
    if model.uses_labels:
        classes = dataset.extras.get("classes", 1)
        kw["label"] = (torch.arange(config.num_samples) % classes).to(model.device)
    local = _local(dataset, "val")
    if local is not None and model.uses_local:  # the first validation examples' series
        kw["local"] = local[torch.arange(config.num_samples) % len(local)].to(model.device)
    return model.sample(config.num_samples, generator=gen, **kw).cpu()
