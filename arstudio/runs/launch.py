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
from contextlib import contextmanager
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
        "speed": _speed(model, train_config),  # the precision, compile, channels-last this run uses
        "seed": train_config.seed,
        "parameters": model.num_parameters(),
        "versions": {"arstudio": arstudio.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }


def _speed(model, train_config: TrainConfig) -> dict:
    from arstudio.training import amp
    from arstudio.training.distributed import current

    return amp.resolve(train_config, model, current().device(train_config.device))


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
    from arstudio.training.distributed import current

    dataset = load_dataset(dataset_name)
    torch.manual_seed(train_config.seed)
    model = build_model(model_name, dataset.spec, **(model_config or {}))
    check_augment(model, train_config)  # every setting judged before a run folder exists
    if train_config.tensorboard:
        from arstudio.runs.tensorboard import require_tensorboard

        require_tensorboard()
    config = run_config(model_name, dataset_name, model, train_config)
    ddp = current()  # under torchrun: rank 0 alone writes the run folder
    if ddp.active:
        config["distributed"] = _ranks(ddp, train_config)
    run = _on_main(ddp, lambda: RunFolder.create(Path(out), config))
    if run is None:
        _follow_along(model, dataset, train_config)
        return None
    _record(run, model, dataset, train_config, on_event)
    return run


def _ranks(ddp, train_config) -> dict:
    """config.json's record of a distributed run (every rank calls it: a collective)."""
    problem = ddp.batch_problem(train_config.batch_size)
    if problem:
        raise ValueError(problem)
    return ddp.describe(ddp.device(train_config.device), train_config.batch_size)


def _on_main(ddp, make):
    """``make()`` on rank 0 (None elsewhere); its error, if any, is raised on every rank."""
    from arstudio.runs.folder import RunError

    out, error = None, None
    if ddp.is_main:
        try:
            out = make()
        except (RunError, OSError) as e:
            error = e
    if ddp.active:
        message = ddp.from_main(None if error is None else str(error))
        if message is not None and error is None:
            raise RunError(message)
    if error is not None:
        raise error
    return out


def _follow_along(model, dataset, train_config, resume=None) -> None:
    """A rank other than 0: the same training, with no run folder and no control."""
    for _ in train(model, dataset, train_config, resume=resume):
        pass


RESUME_SETTINGS = ("max_minutes",)  # trainer settings a resume may change (besides steps, device)


def resume_training(path, steps: int | None = None, on_event: Callable | None = None,
                    device: str | None = None, settings: dict | None = None) -> RunFolder:
    """Go on with a stopped, finished, failed or killed run in its own folder, from its
    resumable state (``checkpoints/train_state.safetensors``): same weights, optimizer,
    data order, RNG states and schedule position as if it had never stopped. ``steps``:
    the run's new total number of steps (default: its own). The run's ``max_minutes``
    budget starts afresh with the continuation; ``settings={"max_minutes": M}`` (None:
    no budget) replaces it."""
    from arstudio.data import load_dataset
    from arstudio.models.registry import build_model
    from arstudio.runs.folder import RunError
    from arstudio.spec import DataSpec
    from arstudio.training.distributed import current
    from arstudio.training.state import StateError, load_state

    ddp = current()  # under torchrun: every rank reads the run, rank 0 alone writes it
    run = RunFolder.open(path) if ddp.is_main else RunFolder(path)
    cfg = run.config()
    for key, kind in (("model", str), ("dataset", str), ("spec", dict), ("train", (dict, type(None))),
                      ("model_config", (dict, type(None)))):
        if not isinstance(cfg.get(key), kind):
            raise RunError(f"{run.path}: config.json's {key!r} is {type(cfg.get(key)).__name__}; "
                           "not a run this studio wrote")
    try:
        state = load_state(run.checkpoints_dir / STATE_FILE)
    except StateError as e:
        raise RunError(str(e)) from None
    train_kw = dict(cfg.get("train") or {})
    if steps is not None:
        train_kw.update(steps=int(steps), epochs=None)
    if device is not None:
        train_kw["device"] = device
    settings = dict(settings or {})
    if set(settings) - set(RESUME_SETTINGS):
        raise RunError(f"a resume can change steps, device and {', '.join(RESUME_SETTINGS)}, "
                       f"not {', '.join(sorted(set(settings) - set(RESUME_SETTINGS)))}")
    train_kw.update(settings)
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
    ranks = _ranks(ddp, train_config) if ddp.active else None
    if not ddp.is_main:
        _follow_along(model, dataset, train_config, resume=state)
        return None
    if steps is not None or device is not None or settings or cfg.get("distributed") != ranks:
        cfg["train"] = dataclasses.asdict(train_config)
        cfg["speed"] = _speed(model, train_config)  # a new device may mean a new precision
        cfg.pop("distributed", None)
        if ranks is not None:  # the continuation's processes (their number may differ)
            cfg["distributed"] = ranks
        run.rewrite_config(cfg)
    run.clear_request()  # the "stop" that ended it must not end the continuation
    run.append_event({"event": "continued", "step": state.step, "total_steps": total,
                      "world_size": ddp.world_size})
    run.set_status("running", f"continued from step {state.step}")
    _record(run, model, dataset, train_config, on_event, resume=state)
    return run


class Terminated(Exception):
    """The worker got SIGTERM (killed from outside: the window asks through control.json)."""


def _on_sigterm(signum, frame):
    from arstudio.training.distributed import current

    if current().active:  # torchrun stops the others when one process of the run ends
        raise Terminated("the training processes were stopped (SIGTERM from torchrun: another process "
                         "of this run ended first; its error is in worker.log or on the console)")
    raise Terminated("the worker was terminated (SIGTERM)")


def _record(run: RunFolder, model, dataset, train_config, on_event, resume=None) -> None:
    """Train and write every event into the run folder. Whatever ends it early (an error,
    SIGTERM, a full disk) is recorded: status ``failed``, the reason in events.jsonl and the
    details in error.log."""
    import signal
    import threading

    facts = {k: dataset.extras[k] for k in ("sample_rate", "label_names") if k in dataset.extras}
    run.reserve_space()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _record_events(run, model, dataset, train_config, on_event, resume, facts)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        run.release_space()


def _record_events(run, model, dataset, train_config, on_event, resume, facts) -> None:
    board = None
    if train_config.tensorboard:  # optional event files beside the run (arstudio/runs/tensorboard.py)
        from arstudio.runs.tensorboard import TensorBoardLog

        board = TensorBoardLog(run.path, dataset)
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
                    ema_metrics = {k[4:]: v for k, v in event.metrics.items() if k.startswith("ema_")}
                    record["ema_path"] = str(run.save_checkpoint(
                        event.ema, event.step, ema_metrics, data_facts=facts, name="ema").relative_to(run.path))
                record["path"] = str(path.relative_to(run.path))
            elif isinstance(event, Started):
                run.set_status("running", device=event.device)
            run.append_event(record)
            if board is not None:
                board(event, record)
            if on_event is not None:
                on_event(event, record)
            if isinstance(event, Done):
                run.set_status("stopped" if event.stopped_early else "done",
                               f"test {event.test_bpd:.4f} bits/dim")
    except TrainingError as e:
        _fail(run, str(e), traceback.format_exc())
        raise
    except KeyboardInterrupt:
        run.release_space()
        _quietly(run.append_event, {"event": "stopped", "message": "interrupted"})
        _quietly(run.set_status, "stopped", "interrupted; the last checkpoint is kept")
        raise
    except Terminated as e:
        _fail(run, f"{e}; the last checkpoint is kept", traceback.format_exc())
        raise TrainingError(str(e)) from None
    except Exception as e:  # any other crash: record it, keep the checkpoints
        if _disk_full(e):
            why = "the disk is full"
            _fail(run, f"{why} (writing {getattr(e, 'filename', None) or 'the run'}); the last "
                       "complete checkpoint is kept", traceback.format_exc())
            raise TrainingError(why) from None
        _fail(run, f"{type(e).__name__}: {e} (details in error.log)", traceback.format_exc())
        raise TrainingError(f"{type(e).__name__}: {e}") from e
    finally:
        if board is not None:
            board.close()


def _disk_full(e: BaseException) -> bool:
    """ENOSPC / EDQUOT, also when a library (safetensors) reports it in its own error type."""
    import errno

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(e)
    return "No space left on device" in text or "os error 28" in text or "Disk quota exceeded" in text


def _quietly(write, *args) -> bool:
    try:
        write(*args)
        return True
    except OSError:
        return False


def _fail(run: RunFolder, message: str, details: str = "") -> None:
    """Record a failure even on a full disk: the reserved space is given back first, then
    status.json (what the window reads first), error.log and the last event."""
    with _sigterm_held():
        run.release_space()
        _quietly(run.set_status, "failed", message)
        _quietly((run.path / "error.log").write_text, f"{message}\n\n{details}")
        _quietly(run.append_event, {"event": "error", "message": message})


@contextmanager
def _sigterm_held():
    """No SIGTERM while a failure is written. In a distributed run the two come together:
    a peer dies, this rank's collective fails, and torchrun's SIGTERM to the survivors lands
    while the failure is being recorded; raised there, it cut the writing short and left
    status.json saying 'running' (seen once under load). The process ends right after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
