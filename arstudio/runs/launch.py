"""Run a training job into a run folder: the body of the worker process.

``arstudio train`` calls :func:`run_training` directly; the window starts
``arstudio train`` as a separate process and follows the folder, so a crash,
NaN or out-of-memory here ends this process, never the window.
"""
from __future__ import annotations

import dataclasses
import platform
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

import arstudio
from arstudio.runs.folder import RunFolder
from arstudio.training.events import Checkpoint, Done, Samples, Started, TrainingError
from arstudio.training.state import save_state
from arstudio.training.trainer import TrainConfig, check_augment, train

STATE_FILE = "train_state.safetensors"  # in checkpoints/: the latest resumable state


def run_config(model_name, dataset_name, model, train_config: TrainConfig) -> dict:
    return {
        "model": model_name,
        "model_config": model.config_dict(),
        "dataset": dataset_name,
        "spec": model.spec.to_dict(),
        "train": dataclasses.asdict(train_config),
        "seed": train_config.seed,
        "parameters": model.num_parameters(),
        "versions": {"arstudio": arstudio.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }


def _control_from(run: RunFolder) -> Callable[[], str | None]:
    state = {"last": None}

    def control():
        action = run.pending_action()
        if action != state["last"]:
            state["last"] = action
            if action == "pause":
                run.set_status("paused")
                run.append_event({"event": "paused"})
            elif action == "resume":
                run.set_status("running")
                run.append_event({"event": "resumed"})
        return action

    return control


def run_training(model_name: str, dataset_name: str, out, model_config: dict | None = None,
                 train_config: TrainConfig = TrainConfig(),
                 on_event: Callable | None = None) -> RunFolder:
    """Build, train and record one run; returns the folder. Errors are recorded
    in status.json and events.jsonl, then re-raised as :class:`TrainingError`."""
    from arstudio.data import load_dataset
    from arstudio.models.registry import build_model

    dataset = load_dataset(dataset_name)
    torch.manual_seed(train_config.seed)
    model = build_model(model_name, dataset.spec, **(model_config or {}))
    check_augment(model, train_config)  # every setting judged before a run folder exists
    run = RunFolder.create(Path(out), run_config(model_name, dataset_name, model, train_config))
    _record(run, model, dataset, train_config, on_event)
    return run


def resume_training(path, steps: int | None = None, on_event: Callable | None = None,
                    device: str | None = None) -> RunFolder:
    """Go on with a stopped, finished, failed or killed run in its own folder, from its
    resumable state (``checkpoints/train_state.safetensors``): same weights, optimizer,
    data order, RNG states and schedule position as if it had never stopped. ``steps``:
    the run's new total number of steps (default: its own)."""
    from arstudio.data import load_dataset
    from arstudio.models.registry import build_model
    from arstudio.runs.folder import RunError
    from arstudio.spec import DataSpec
    from arstudio.training.state import StateError, load_state

    run = RunFolder.open(path)
    cfg = run.config()
    try:
        state = load_state(run.checkpoints_dir / STATE_FILE)
    except StateError as e:
        raise RunError(str(e)) from None
    train_kw = dict(cfg.get("train") or {})
    if steps is not None:
        train_kw.update(steps=int(steps), epochs=None)
    if device is not None:
        train_kw["device"] = device
    train_config = TrainConfig(**train_kw)
    dataset = load_dataset(cfg["dataset"])
    if dataset.spec != DataSpec.from_dict(cfg["spec"]):
        raise RunError(f"{run.path}: {cfg['dataset']} is now {dataset.spec.describe()}, but the run "
                       f"was trained on {DataSpec.from_dict(cfg['spec']).describe()}")
    model = build_model(cfg["model"], dataset.spec, **(cfg.get("model_config") or {}))
    total = train_config.total_steps(len(dataset.train))
    if state.step >= total:
        raise RunError(f"{run.path}: already at step {state.step} of {total}; pass --steps N "
                       f"with N > {state.step} to train on")
    if steps is not None or device is not None:
        cfg["train"] = dataclasses.asdict(train_config)
        run.rewrite_config(cfg)
    run.clear_request()  # the "stop" that ended it must not end the continuation
    run.append_event({"event": "continued", "step": state.step, "total_steps": total})
    run.set_status("running", f"continued from step {state.step}")
    _record(run, model, dataset, train_config, on_event, resume=state)
    return run


def _record(run: RunFolder, model, dataset, train_config, on_event, resume=None) -> None:
    """Train and write every event into the run folder."""
    facts = {k: dataset.extras[k] for k in ("sample_rate", "label_names") if k in dataset.extras}
    try:
        for event in train(model, dataset, train_config, control=_control_from(run), resume=resume):
            record = event.to_json()
            if isinstance(event, Samples):
                record["path"] = str(run.save_samples(event.step, event.samples, dataset.spec).relative_to(run.path))
            elif isinstance(event, Checkpoint):
                final = "test_nats" in event.metrics  # only the closing checkpoint has test figures
                path = run.save_checkpoint(event.model, event.step, event.metrics, final=final,
                                           data_facts=facts)
                if event.state is not None:  # beside it: what a resume goes on from
                    save_state(event.state, run.checkpoints_dir / STATE_FILE)
                if event.ema is not None:  # and the weights' moving average, with its own figures
                    ema_metrics = event.metrics.get("ema") or {}
                    record["ema_path"] = str(run.save_checkpoint(
                        event.ema, event.step, ema_metrics, data_facts=facts, name="ema").relative_to(run.path))
                record["path"] = str(path.relative_to(run.path))
            elif isinstance(event, Started):
                run.set_status("running", device=event.device)
            run.append_event(record)
            if on_event is not None:
                on_event(event, record)
            if isinstance(event, Done):
                run.set_status("stopped" if event.stopped_early else "done",
                               f"test {event.test_bpd:.4f} bits/dim")
    except TrainingError as e:
        _fail(run, str(e))
        raise
    except KeyboardInterrupt:
        run.append_event({"event": "stopped", "message": "interrupted"})
        run.set_status("stopped", "interrupted; the last checkpoint is kept")
        raise
    except Exception as e:  # any other crash: record it, keep the checkpoints
        (run.path / "error.log").write_text(traceback.format_exc())
        _fail(run, f"{type(e).__name__}: {e} (details in error.log)")
        raise TrainingError(f"{type(e).__name__}: {e}") from e


def _fail(run: RunFolder, message: str) -> None:
    run.append_event({"event": "error", "message": message})
    run.set_status("failed", message)
