"""Command line: ``arstudio`` opens the studio; subcommands train, sample,
evaluate and benchmark without a window. Heavy imports happen inside the
commands so that ``arstudio --help`` answers at once."""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import time
from pathlib import Path


def _settings(pairs, option: str = "--set") -> dict:
    from arstudio.values import parse_pairs

    try:
        return parse_pairs(pairs)
    except ValueError as e:
        raise SystemExit(f"{option}: {e}") from None


def resolve_checkpoint(target: str) -> Path:
    """A run folder (its latest checkpoint), a checkpoint file, or a bundled model name."""
    from arstudio.paths import BUNDLED_MODELS
    from arstudio.runs import RunFolder

    p = Path(target)
    if p.is_dir():
        ckpt = RunFolder.open(p).latest_checkpoint()
        if ckpt is None:
            raise SystemExit(f"{p}: this run has no checkpoint yet")
        return ckpt
    if p.is_file():
        return p
    bundled = BUNDLED_MODELS / f"{target}.safetensors"
    if bundled.is_file():
        return bundled
    raise SystemExit(f"{target}: not a run folder, a checkpoint file or a bundled model "
                     f"(bundled: {', '.join(sorted(q.stem for q in BUNDLED_MODELS.glob('*.safetensors')))})")


log = logging.getLogger("arstudio")
_QUIET = {"on": False}  # -q: no progress bars either


def progress(total=None, **kw):
    """A tqdm bar on stderr with rate and ETA; hidden with -q."""
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, dynamic_ncols=True, disable=_QUIET["on"],
                **kw)


class ProgressBar:
    """``update(step, text)`` over a tqdm bar (rate and ETA), for loops that know their step."""

    def __init__(self, total: int, unit: str = "step", initial: int = 0):
        self.total = total
        self.bar = progress(total, unit=unit, initial=initial)

    def update(self, step: int, text: str = "", force: bool = False):
        if text:
            self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(max(0, step - self.bar.n))

    def close(self):
        self.bar.close()


def train_config(settings: dict):
    """A TrainConfig from typed settings; an unknown or ill-typed key is one error naming it."""
    from arstudio.config_check import check_settings
    from arstudio.train_config import TrainConfig

    return TrainConfig(**check_settings(TrainConfig, settings, "trainer setting"))


class _TrainHelp(argparse.Action):
    """``arstudio train --help`` lists every trainer setting with its default and meaning,
    read from TrainConfig only when asked (torch stays unimported for ``arstudio --help``)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import textwrap

        from arstudio.config_check import describe_settings
        from arstudio.train_config import TrainConfig

        rows = describe_settings(TrainConfig)
        width = max(len(f"{n}={d}") for n, d, _ in rows)
        lines = ["trainer settings (--train-set KEY=VALUE, or [train] in a --config recipe):"]
        for n, d, meaning in rows:
            text = textwrap.wrap(meaning, 96 - width) or [""]
            lines.append(f"  {f'{n}={d}':{width}}  {text[0]}")
            lines += [f"  {'':{width}}  {more}" for more in text[1:]]
        lines.append("")
        parser.epilog = "\n".join(lines)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.print_help()
        parser.exit()


class _TrainProgress:
    """``on_event`` for ``arstudio train`` (fresh or ``--resume``): a log line when training
    starts (``started(event)`` words it), then one progress bar with the loss and the latest
    validation figure."""

    def __init__(self, quiet: bool, started):
        self.quiet, self.started = quiet, started
        self.bar: ProgressBar | None = None
        self.val: float | None = None

    def __call__(self, event, record) -> None:
        from arstudio.training import Done, Eval, Started, Step

        if self.quiet:
            return
        if isinstance(event, Started):
            log.info("%s", self.started(event))
            self.bar = ProgressBar(event.total_steps, initial=event.start_step)
        elif isinstance(event, Step) and self.bar:
            val = "" if self.val is None else f", val {self.val:.3f}"
            self.bar.update(event.step, f"loss {event.bpd:.3f} bits/dim{val}")
        elif isinstance(event, Eval) and event.split == "val":
            self.val = event.bpd
        elif isinstance(event, Done) and self.bar:
            self.bar.close()


def _trained(train) -> int:
    """``train()`` (a fresh or resumed training, giving its run folder), then its test figures."""
    from arstudio.training import TrainingError

    try:
        run = train()
    except TrainingError as e:
        log.error("training failed: %s", e)
        return 1
    if run is None:  # a rank other than 0 of a distributed run: rank 0 wrote the run
        return 0
    done = [e for e in run.events()[0] if e["event"] == "done"][-1]
    config = run.config()
    print(f"{config['model']} on {config['dataset']}: test {done['test_nats']:.2f} nats/example, "
          f"{done['test_bpd']:.4f} bits/dim at step {done['step']} ({done['elapsed']:.0f} s) -> {run.path}")
    return 0


def cmd_train(args) -> int:
    from arstudio.models.registry import get_model_info
    from arstudio.runs import run_training

    if args.resume:
        return _cmd_resume(args)
    model_config, train_kw = {}, {}
    if args.config:  # a TOML recipe, every key checked; explicit options below override it
        from arstudio.recipes import read_recipe

        recipe = read_recipe(args.config)
        args.model = args.model or recipe.model
        args.data = args.data or recipe.data
        args.out = args.out or recipe.out
        model_config, train_kw = dict(recipe.model_config), dict(recipe.train)
    if args.preset:  # a bundled model's recipe; explicit options below still override it
        from arstudio.presets import get_preset

        preset = get_preset(args.preset)
        args.model = args.model or preset.model
        args.data = args.data or preset.dataset
        model_config = {**preset.model_config, **model_config}
        train_kw = {**preset.train, **train_kw}
    if not args.model or not args.data:
        raise SystemExit("arstudio train: give --model and --data, or --preset NAME")
    if args.data_set:  # the options travel inside the data's name, into config.json and checkpoints
        from arstudio.data.registry import data_ref

        args.data = data_ref(args.data, _settings(args.data_set, "--data-set"))
    info = get_model_info(args.model)
    if args.model_preset:
        if args.model_preset not in info.presets:
            raise SystemExit(f"{args.model} has no model preset {args.model_preset!r}; "
                             f"presets: {', '.join(info.presets)}")
        model_config.update(info.presets[args.model_preset])
    model_config.update(_settings(args.set))
    train_kw.update({k: v for k, v in dict(steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
                                      lr=args.lr, device=args.device, seed=args.seed).items() if v is not None})
    train_kw.update(_settings(args.train_set, "--train-set"))
    if args.tensorboard:
        train_kw["tensorboard"] = True
    train_kw.update({k: v for k, v in dict(precision=args.precision, compile=args.compile,
                                           channels_last=args.channels_last or None).items() if v is not None})
    config = train_config(train_kw)
    from arstudio.runs import torchrun

    if args.out:
        out = args.out
    else:  # named as the window names its runs
        from arstudio.runs.worker import new_run_path

        out = new_run_path(args.model, args.data)
    if torchrun.wanted(args):  # --nproc-per-node N: this command N times under torchrun
        return torchrun.launch(args, args.argv, out, config.batch_size)
    ddp = torchrun.join(config.device)  # started by torchrun: one rank of the run
    out = ddp.from_main(str(out))  # the folder rank 0 named
    on_event = _TrainProgress(args.quiet or not ddp.is_main, lambda e: f"training {e.model} ({e.parameters:,} "
                              f"parameters) on {e.dataset} [{e.device}] -> {out}")
    return _trained(lambda: run_training(args.model, args.data, out, model_config, config, on_event=on_event))


def _cmd_resume(args) -> int:
    """``arstudio train --resume RUN [--steps N]``: the run goes on in its own folder."""
    from arstudio.runs import torchrun
    from arstudio.runs.folder import RunError
    from arstudio.runs.launch import resume_training

    if torchrun.wanted(args):  # any number of processes goes on from the same state
        return torchrun.launch(args, args.argv, Path(args.resume), resume=True)
    ddp = torchrun.join(args.device or torchrun.run_device(args.resume))
    on_event = _TrainProgress(args.quiet or not ddp.is_main, lambda e: f"continuing {e.model} on {e.dataset} "
                              f"from step {e.start_step} [{e.device}] in {args.resume}")

    def resume():
        try:
            return resume_training(args.resume, steps=args.steps, on_event=on_event, device=args.device,
                                   settings=_settings(args.train_set, "--train-set"))
        except RunError as e:
            raise SystemExit(f"arstudio train --resume: {e}") from None

    return _trained(resume)


def _load(target, device):
    from arstudio.checkpoint import CheckpointError, load_checkpoint
    from arstudio.devices import pick_device

    try:
        return load_checkpoint(resolve_checkpoint(target), pick_device(device))
    except CheckpointError as e:
        raise SystemExit(f"cannot open checkpoint: {e}")


def cmd_sample(args) -> int:
    import torch

    from arstudio.exports import samples_png

    suffix = Path(args.out).suffix.lower()
    if suffix not in (".png", ".txt", ".wav"):
        raise SystemExit(f"arstudio sample: --out {args.out}: use .png (a grid), .txt (text models) "
                         "or .wav (sound models)")
    _writable(args.out, "sample")
    model = _load(args.target, args.device)
    gen = torch.Generator().manual_seed(args.seed)
    if args.seconds is not None or str(args.out).lower().endswith(".wav"):  # sound, any length
        from arstudio.sampling.audio_stream import sample_to_wav

        print(sample_to_wav(model, args.out, args.seconds, args.temperature, gen, args.label, args.notes))
        return 0
    from arstudio.exports import is_text_model, model_facts, save_text_samples

    text_out = str(args.out).lower().endswith(".txt")
    if text_out and not is_text_model(model):
        raise SystemExit(f"{model.registry_name} does not model text ({model.spec.describe()}); "
                         "use --out x.png (or x.wav for sound)")
    if args.notes is not None:
        raise SystemExit(f"arstudio sample: {model.registry_name} plays no score: --notes is for melody models")
    where = _where(model, args.where)
    where.update(_label(model, args.label, args.n))
    t0 = time.perf_counter()
    bar = progress(model.num_dims, unit="dim", desc="sampling")
    x = None
    for s in model.sample_steps(args.n, temperature=args.temperature, generator=gen, **where):  # as sample()
        x = s.x
        bar.update(1)
    bar.close()
    x, spec = x.clone().cpu(), model.spec
    named = str(model.checkpoint_meta.get("dataset", ""))
    if named.startswith("vqcodes:"):  # a prior over a VQ-VAE's codes
        from arstudio.checkpoint import dataset_named_by
        from arstudio.training.codes import load_vqvae

        if dataset_named_by(model.checkpoint_meta):  # a bundled VQ-VAE (a path is never followed)
            vqvae = load_vqvae(named.split(":", 1)[1], model.device)  # prior -> codes -> decoder
            x, spec = vqvae.decode_image(x[:, 0].to(model.device)).cpu(), vqvae.spec
        else:
            log.warning("%s is not a bundled VQ-VAE: saving the code grids, not images", named)
    facts = model_facts(model, Temperature=args.temperature, Seed=args.seed)
    if text_out:
        save_text_samples(x, args.out, facts)
    else:
        samples_png(x, spec, args.out, facts=facts)
    log.info("%d samples from %s in %.2f s", args.n, model.registry_name, time.perf_counter() - t0)
    print(args.out)
    return 0


def cmd_complete(args) -> int:
    """Headless completion: an image, a mask of unknown pixels, n completions in a grid."""
    import torch

    from arstudio.exports import (
        MAX_FRAMES,
        grid_frame,
        image_as_data,
        model_facts,
        samples_png,
        save_animation,
        unknown_mask,
    )
    from arstudio.sampling.completion import complete_steps

    if args.animation and Path(args.animation).suffix.lower() not in (".gif", ".png", ".apng"):
        raise SystemExit(f"arstudio complete: --animation {args.animation}: an animation is .gif or .png (APNG)")
    for out in (args.out, args.animation):
        _writable(out, "complete")
    model = _load(args.target, args.device)
    if model.spec.modality != "image":
        raise SystemExit(f"{model.registry_name} models {model.spec.describe()}; completion needs an image model")
    known = image_as_data(args.image, model.spec)
    mask = unknown_mask(args.unknown, model.spec)
    cond = _label(model, args.label, args.n)
    cond.update(_where(model, args.where))
    gen = torch.Generator().manual_seed(args.seed)
    cols = None  # the same square-ish grid as the PNG
    flat_known = mask.reshape(-1).tolist()  # frames only where a pixel is generated
    every = max(1, -(-(len(flat_known) - sum(flat_known)) // MAX_FRAMES))
    frames = [grid_frame(torch.where(mask, known, torch.zeros_like(known)).expand(args.n, *known.shape).cpu(),
                         model.spec, None, cols, args.scale)] if args.animation else []
    bar, phase, result = None, None, None
    t0 = time.perf_counter()
    for s in complete_steps(model, known, mask, args.n, args.method, args.temperature, gen,
                            candidates=args.candidates, sweeps=args.sweeps, **cond):
        if s.result is not None:
            result = s.result
            break
        if s.phase != phase:
            if bar is not None:
                bar.close()
            phase = s.phase
            bar = progress(s.total, unit="px", desc=phase)
        bar.update(max(0, s.step + 1 - bar.n))
        if args.animation and s.index >= 0 and not flat_known[s.index] and s.step % every == 0:
            frames.append(grid_frame(s.x[:args.n].cpu(), model.spec, s.index, cols, args.scale))
    if bar is not None:
        bar.close()
    x = result.samples.cpu()
    facts = model_facts(model, Method=args.method, Image=Path(args.image).name, Unknown=Path(args.unknown).name,
                        **{"Unknown pixels": int((~mask[0]).sum())})
    samples_png(x, model.spec, args.out, facts=facts, scale=args.scale)
    log.info("%d completions by %s with %s in %.2f s", args.n, args.method, model.registry_name,
             time.perf_counter() - t0)
    print(args.out)
    if args.animation:
        frames.append(grid_frame(x, model.spec, None, cols, args.scale))
        save_animation(frames, args.animation, fps=args.fps, facts=facts)
        print(args.animation)
    return 0


def cmd_export_curves(args) -> int:
    from arstudio.exports import curve_rows, write_curves_csv
    from arstudio.runs import RunError, RunFolder

    try:
        run = RunFolder.open(args.run)
    except RunError as e:
        raise SystemExit(f"arstudio export-curves: {e}") from None
    write_curves_csv(run, args.out)
    log.info("%d points of %s", len(curve_rows(run)), run.path)
    print(args.out)
    return 0


def cmd_eval_all(args) -> int:
    """The quality table: every bundled model on its own dataset's test split."""
    from arstudio.bundled import evaluate_bundled, list_bundled

    print("| model | dataset | parameters | test nats/example | test bits/dim | recorded bits/dim | published |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    bundled = list_bundled()
    bar = progress(len(bundled), unit="model", desc="evaluating")
    for b in bundled:
        bar.set_postfix_str(b.key, refresh=False)
        row = evaluate_bundled(b, args.device)
        bar.update(1)
        worst = max(worst, abs(row["bpd"] - row["recorded_bpd"]))
        print(f"| {b.key} | {b.dataset} | {row['parameters']:,} | {row['nats']:.2f} | {row['bpd']:.4f} | "
              f"{row['recorded_bpd']:.4f} | {row['published']} |", flush=True)
    bar.close()
    log.info("largest difference from the recorded figures: %.5f bits/dim", worst)
    return 0 if worst <= 0.01 else 1


def cmd_eval(args) -> int:
    from arstudio.data import load_dataset
    from arstudio.training import evaluate

    if args.all:
        return cmd_eval_all(args)
    if not args.target:
        raise SystemExit("arstudio eval: give a run, checkpoint or bundled model, or --all")
    from arstudio.checkpoint import dataset_named_by

    model = _load(args.target, args.device)
    meta = model.checkpoint_meta
    data_name = args.data or dataset_named_by(meta)
    if not data_name and meta.get("dataset"):
        raise SystemExit(f"this checkpoint names the dataset {str(meta['dataset'])[:200]!r}, which is not "
                         "a built-in set; pass --data to choose the data yourself")
    if not data_name:
        raise SystemExit("this checkpoint does not name its dataset; pass --data")
    data = load_dataset(data_name)
    if data.spec != model.spec:
        raise SystemExit(f"{data_name} is {data.spec.describe()} but the model expects {model.spec.describe()}")
    nats, bpd = evaluate(model, data.split(args.split), labels=data.labels.get(args.split),
                         local=data.extras.get("local", {}).get(args.split))
    print(f"{model.registry_name} on {data_name} ({args.split}): {nats:.3f} nats/example, {bpd:.4f} bits/dim")
    return 0


_ROWS = {"images": "images", "sound": "sound chunks", "text": "text chunks", "sequence": "sequences"}


def cmd_compress(args) -> int:
    from arstudio import codec

    ckpt = resolve_checkpoint(args.model)
    model = _load(str(ckpt), args.device)
    try:
        if args.data:
            if args.inputs:
                raise codec.CodecError("give input files or --data, not both")
            items = codec.load_split(model, args.data, args.split, args.n)
        else:
            items = codec.load_files(model, args.inputs)
        codec.files.class_labels(model, items, args.label)  # a missing class is said before any coding
        bar = ProgressBar(100)
        try:
            c = codec.compress(model, codec.model_key(ckpt), items, args.batch,
                               progress=lambda done, total: bar.update(100 * done // total, "coded"),
                               label=args.label)
        finally:
            bar.close()
        for note in items.notes:
            print(f"note: {note}", file=sys.stderr)
    except codec.CodecError as e:
        raise SystemExit(f"arstudio compress: {e}")
    from arstudio.atomic import atomic_write

    out = Path(args.out)
    atomic_write(out, lambda tmp: Path(tmp).write_bytes(c.blob))
    nll = float(c.nll_bits.sum()) / 8
    print(f"{items.rows} {_ROWS[items.kind]} with {codec.model_key(ckpt)}: {len(c.blob):,} bytes "
          f"(header {c.header_bytes}, coded {c.payload_bytes:,}); the model's NLL {nll:,.1f} bytes, "
          f"coded {100 * (c.payload_bytes / nll - 1):+.2f} %, file {100 * (len(c.blob) / nll - 1):+.2f} %; "
          f"{len(c.blob) / items.rows:.1f} bytes per row -> {out}")
    if c.label_bits:
        print(f"the rows' classes take {c.label_bits / 8:,.1f} of the coded bytes (the NLL is given the class)")
    return 0


def cmd_decompress(args) -> int:
    from arstudio import codec
    from arstudio.untrusted import MAX_BLOB_BYTES, read_bytes

    path = Path(args.file)
    try:
        blob = read_bytes(path, MAX_BLOB_BYTES)  # never a FIFO or device
    except OSError as e:
        raise SystemExit(f"arstudio decompress: {e}")
    try:
        header = codec.read_arz(blob, path.name)[0]
        target = args.model or header.model_key
        model = _load(str(resolve_checkpoint(target)), args.device)
        items = codec.decompress(blob, model, path.name)
        written = codec.write_items(items, model.spec.levels, args.out)
    except codec.CodecError as e:
        raise SystemExit(f"arstudio decompress: {e}")
    print(f"{items.rows} {_ROWS[items.kind]} decoded exactly (checksum matches) -> "
          f"{len(written)} files in {args.out}")
    return 0


def _refuse_map_models(model, command: str) -> None:
    from arstudio.sampling.conditioning import map_needed

    if (why := map_needed(model, "scoring")) is not None:
        raise SystemExit(f"{command}: {why}")


def cmd_score(args) -> int:
    import csv

    from arstudio.inspect import anomaly

    model = _load(args.model, args.device)
    _refuse_map_models(model, "arstudio score")
    name, x = anomaly.load_set(model.spec, args.data, model.checkpoint_meta.get("dataset"), args.n, args.split)
    classes = args.label if args.label is not None else anomaly.own_labels(model, name, args.split, args.n)
    if (how := anomaly.classes_used(model, classes)) is not None:
        print(f"{model.registry_name}: {how}", file=sys.stderr)
    try:
        bpd = anomaly.bits_per_dim(model, x, classes=classes)
    except ValueError as e:
        raise SystemExit(f"arstudio score: {e}")
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(["index", "bits_per_dim", "nats"])
        for i, b in enumerate(bpd):
            w.writerow([i, f"{b:.6f}", f"{b * model.num_dims * 0.6931471805599453:.4f}"])
    finally:
        if args.out:
            out.close()
    print(f"{len(bpd)} examples of {name}: mean {bpd.mean():.4f} bits/dim"
          + (f" -> {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def cmd_ood(args) -> int:
    from arstudio.inspect import anomaly

    if args.save_background and Path(args.save_background).is_dir():
        raise SystemExit(f"arstudio ood: --save-background {args.save_background}: is a folder, not a file")
    model = _load(args.model, args.device)
    _refuse_map_models(model, "arstudio ood")
    if model.spec.levels is None:
        raise SystemExit(f"arstudio ood: {model.registry_name} models {model.spec.describe()}; the three "
                         "scores need a model of discrete data (levels)")
    home = model.checkpoint_meta.get("dataset")
    in_name, x_in = anomaly.load_set(model.spec, args.inside or home, home, args.n, "test")
    if args.background:
        background = _load(args.background, args.device)
        _refuse_map_models(background, "arstudio ood --background")
        if background.spec != model.spec:
            raise SystemExit(f"arstudio ood: the background model {background.registry_name} models "
                             f"{background.spec.describe()}, but {model.registry_name} models "
                             f"{model.spec.describe()}: the likelihood ratio needs the same data")
    else:
        from arstudio.data import load_dataset

        print(f"training a background model on perturbed {args.inside or home} ({args.bg_steps} steps, "
              "Ren et al. 2019)...", file=sys.stderr)
        background = anomaly.train_background(model.spec, load_dataset(args.inside or home).train,
                                              steps=args.bg_steps)
        if args.save_background:
            from arstudio.checkpoint import save_checkpoint

            save_checkpoint(background, args.save_background, {"dataset": f"perturbed {args.inside or home}"})
    if (how := anomaly.classes_used(model, args.label)) is not None:
        print(f"{model.registry_name}: {how}; the same for every set", file=sys.stderr)
    try:
        inside = anomaly.score_set(model, in_name, x_in, background, args.label)
        outs = [anomaly.score_set(model, *anomaly.load_set(model.spec, o, args.inside or home, args.n, "test"),
                                  background, args.label) for o in args.outside]
    except ValueError as e:
        raise SystemExit(f"arstudio ood: {e}")
    print(f"in: {in_name} ({len(x_in)} test examples); AUROC with the other set as positives "
          "(1 = separates, 0.5 = chance, < 0.5 = ranks it as more typical)")
    print("| out | examples | bits/dim in | bits/dim out | likelihood | likelihood ratio | input complexity |")
    print("|---|---|---|---|---|---|---|")
    for r in anomaly.auroc_table(inside, outs):
        print(f"| {r['out']} | {r['n_out']} | {r['bpd_in']:.4f} | {r['bpd_out']:.4f} | {r['likelihood']:.3f} | "
              f"{r['ratio']:.3f} | {r['complexity']:.3f} |")
    return 0


def cmd_list(args) -> int:
    if args.what == "models":
        from arstudio.models.registry import list_models

        for info in list_models():
            print(f"{info.name:18s} {info.family:28s} {'/'.join(info.modalities):24s} {info.paper}")
    else:
        from arstudio.data import list_datasets, list_prefixes

        for info in list_datasets():
            print(f"{info.name:16s} {info.spec.describe():28s} {info.description}")
        for p in list_prefixes():  # a user's own files
            print(f"{p.prefix + ':PATH':16s} {'(from the files)':28s} {p.description}")
    return 0


def cmd_lessons(args) -> int:
    """The lessons the Lessons menu offers (bundled, then the user's folder); a malformed one
    is its FILE:LINE: reason on stderr. Reads TOML only: no torch, no Qt."""
    from arstudio.lessons import list_lessons, user_lessons_dir

    errors: list = []
    lessons = list_lessons(errors)
    width = max([len(le.name) for le in lessons] + [10])
    for le in lessons:
        mark = "" if le.source == "bundled" else "  (yours)"
        print(f"{le.name:{width}s} {len(le.steps):3d} steps  {le.title}{mark}")
    for e in errors:
        print(f"arstudio lessons: {e}", file=sys.stderr)
    print(f"open one: arstudio --lesson NAME (or PATH.toml); your own lessons: {user_lessons_dir()}")
    return 1 if errors else 0


def cmd_bench(args) -> int:
    from arstudio import bench

    mods = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith(args.name)]
    if not mods:
        names = sorted({m.name.split("_")[0] for m in pkgutil.iter_modules(bench.__path__)})
        raise SystemExit(f"no benchmark {args.name!r}; available: {', '.join(names)}")
    modules = [importlib.import_module(f"arstudio.bench.{name}") for name in sorted(mods)]
    shares = _share_options(modules, args.rest)
    bar = progress(len(modules), unit="bench", desc="benchmarks") if len(modules) > 1 else None
    for module, argv in zip(modules, shares):
        if bar is not None:
            bar.set_postfix_str(module.__name__.rsplit(".", 1)[-1])
        module.main(argv)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return 0


def _share_options(modules, rest: list[str]) -> list[list[str]]:
    """``bench sampling`` runs every sampling_* bench: each gets the options its own
    parser knows (``--quick`` only the image bench); one nobody knows is an error."""
    if len(modules) == 1 or not all(hasattr(m, "build_parser") for m in modules):
        return [rest] * len(modules)
    shares, unknown_to_all = [], None
    for module in modules:
        _, unknown = module.build_parser().parse_known_args(rest)
        own, pending = [], list(unknown)
        for arg in rest:  # drop the unknown strings, in order, keep the rest
            if pending and arg == pending[0]:
                pending.pop(0)
            else:
                own.append(arg)
        shares.append(own)
        unknown_to_all = set(unknown) if unknown_to_all is None else unknown_to_all & set(unknown)
    options = sorted(a for a in unknown_to_all or () if a.startswith("-"))
    if options:
        raise SystemExit(f"arstudio bench: unknown option(s) {', '.join(options)}")
    return shares


def _add_model(p, name: str = "target", device: str = "auto", **kw) -> None:
    """The model a command reads (a run folder, a checkpoint file or a bundled model's name)
    and the device it runs on."""
    p.add_argument(name, help="run folder, checkpoint file or bundled model name", **kw)
    p.add_argument("--device", default=device, help=f"auto|cpu|cuda|mps (default {device})")


def _where(model, path) -> dict:
    """``--where MASK.png``: a map-conditioned image model's ``local=`` (the mask's non-zero
    pixels are where the digit goes; without one, a centred box); {} for other models."""
    if model.local_map is None:
        if path:
            raise SystemExit(f"{model.registry_name} takes no map: --where is for map-conditioned models")
        return {}
    import numpy as np

    from arstudio.exports import unknown_mask
    from arstudio.sampling.conditioning import conditioning

    where = None
    if path:
        try:
            painted = ~unknown_mask(path, model.spec)[0].numpy()  # (H, W): the mask's non-zero pixels
        except ValueError as e:
            raise SystemExit(str(e).replace("so nothing is unknown", "so no place is painted")) from None
        where = np.broadcast_to(painted, model.local_map).astype(np.float32)
    return {"local": conditioning(model, location=where)["local"]}


def _writable(out, command: str) -> None:
    """An output file named on the command line, checked before any work: not a folder."""
    if out and Path(out).is_dir():
        raise SystemExit(f"arstudio {command}: --out {out}: is a folder, not a file")


def _label(model, label, n: int) -> dict:
    """``--label``: a class-conditional model's ``label=`` for n examples (a name from the
    checkpoint's label names or an id; without one, the model's own 'no label' if it has
    one); {} for other models, which refuse a label."""
    if not model.uses_labels:
        if label is not None:
            raise SystemExit(f"{model.registry_name} takes no label: --label is for class-conditional models")
        return {}
    import torch

    from arstudio.sampling.audio_stream import label_id

    lid = label_id(model, label) if label is not None else model.no_label
    if lid is None:
        raise SystemExit(f"{model.registry_name} is class-conditional: pass --label K "
                         f"(0..{model.config.num_labels - 1})")
    return {"label": torch.full((n,), int(lid), dtype=torch.long, device=model.device)}


def _add_where(p) -> None:
    p.add_argument("--where", metavar="MASK.png", help="models conditioned on a map (gated-pixelcnn-where-"
                   "digits): where the digit goes, the mask's non-zero pixels (default: a centred box)")


def _add_drawing(p) -> None:
    """How a command draws values: the temperature and the seed."""
    p.add_argument("--temperature", type=_temperature, default=1.0)
    p.add_argument("--seed", type=_seed, default=0)


def _add_split(p) -> None:
    p.add_argument("--split", default="test", choices=["train", "val", "test"])


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error (``arstudio CMD: message (see arstudio CMD --help)``)
    instead of the usage block: every bad command line is one line on stderr."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


MAX_SAMPLES = 4096  # --n of sample/complete: a grid of at most this many examples
MAX_SCALE = 64  # --scale: output pixels per image pixel
MAX_SECONDS = 600.0  # --seconds of generated sound (the longest audio file the studio reads)


def _count(limit: int | None = None, what: str = "a count"):
    """An argparse type: a whole number from 1 to ``limit``."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        if v < 1 or (limit is not None and v > limit):
            raise argparse.ArgumentTypeError(f"{what} must be 1 … {limit:,}, got {v}" if limit else
                                             f"{what} must be at least 1, got {v}")
        return v
    parse.__name__ = "count"
    return parse


def _number(low: float, high: float, what: str, low_open: bool = True):
    """An argparse type: a finite number in (low, high] (or [low, high])."""
    def parse(text):
        import math

        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not math.isfinite(v) or v > high or (v <= low if low_open else v < low):
            raise argparse.ArgumentTypeError(f"{what} must be {'above' if low_open else 'at least'} {low:g} "
                                             f"and at most {high:g}, got {text}")
        return v
    parse.__name__ = "number"
    return parse


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is a whole number, got {text!r}") from None
    if not 0 <= v < 2 ** 63:
        raise argparse.ArgumentTypeError(f"a seed must be 0 … 2**63-1, got {text}")
    return v


_seed.__name__ = "seed"
_temperature = _number(0.0, 1e6, "the temperature")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="arstudio", description="A studio for deep autoregressive models. "
                                "With no command, opens the window.")
    p.add_argument("--session", metavar="FILE", help="open the studio with a session file (TOML)")
    p.add_argument("--lesson", metavar="NAME", help="open the studio on a guided lesson: a name from "
                   "`arstudio lessons` or a PATH.toml (docs/lessons.md)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more messages (-vv: debugging)")
    p.add_argument("-q", "--quiet", dest="log_quiet", action="store_true",
                   help="only warnings and errors; no progress bars")
    sub = p.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train a model into a run folder", add_help=False)
    t.add_argument("-h", "--help", action=_TrainHelp, help="show this help and every trainer setting")
    t.add_argument("--model")
    t.add_argument("--data")
    t.add_argument("--resume", metavar="RUN", help="go on with a stopped, finished, failed or killed run "
                   "in its folder (with --steps N: the new total; its max_minutes budget starts afresh, "
                   "--train-set max_minutes=M replaces it)")
    t.add_argument("--steps", type=int)
    t.add_argument("--epochs", type=float)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=_seed)
    t.add_argument("--device", help="auto|cpu|cuda|mps (default auto)")
    t.add_argument("--config", metavar="RECIPE.toml", help="a training recipe: [model], [data], [train] "
                   "tables (see arstudio/recipes.py); options given here override it")
    t.add_argument("--preset", help="a bundled model's training recipe, e.g. pixelcnn-digits "
                   "(see arstudio/presets.py)")
    t.add_argument("--model-preset", help="model settings preset, e.g. 'quick demo' or 'quality'")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="model setting (repeatable)")
    t.add_argument("--train-set", action="append", metavar="KEY=VALUE", help="trainer setting (repeatable; "
                   "listed below)")
    t.add_argument("--data-set", action="append", metavar="KEY=VALUE", help="data option (repeatable), e.g. "
                   "size=32x32 colour=grey levels=2 for --data images:PATH")
    t.add_argument("--out", help="run folder (default $ARSTUDIO_RUNS or runs/, then MODEL-DATA-TIME)")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files into "
                   "RUN/tensorboard (needs: pip install -e .[tensorboard])")
    t.add_argument("--quiet", action="store_true")
    a = t.add_argument_group("speed on a GPU (README: 'Training on a cluster', last point)")
    a.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), help="training step's autocast: "
                   "auto = bf16 on a CUDA GPU with bf16, fp16 + gradient scaler on an older one, fp32 on "
                   "CPU/MPS (scores stay fp32)")
    a.add_argument("--compile", nargs="?", const="default", metavar="MODE", help="torch.compile the training "
                   "step (MODE: default, reduce-overhead, max-autotune; eager, aot_eager to debug)")
    a.add_argument("--channels-last", action="store_true", help="channels-last memory for 2-D conv models "
                   "(a no-op for others)")
    g = t.add_argument_group("distributed training under torchrun (README: 'Training on a cluster')")
    g.add_argument("--nproc-per-node", type=_nproc, metavar="N", help="N processes on this node, DDP (Gloo on the CPU, "
                   "NCCL one GPU each; 'gpu': one per GPU); --batch-size stays the global batch")
    g.add_argument("--nnodes", type=_count(what="--nnodes"), metavar="M", help="nodes taking part (default 1)")
    g.add_argument("--node-rank", type=int, metavar="K", help="this node, 0..M-1 (fixed order)")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="where the nodes meet (node 0)")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="sample a grid from a run or checkpoint")
    _add_model(s)
    s.add_argument("--n", type=_count(MAX_SAMPLES, "--n"), default=16)
    s.add_argument("--out", default="samples.png")
    _add_drawing(s)
    s.add_argument("--seconds", type=_number(0.0, MAX_SECONDS, "--seconds"), help="sound models: seconds of audio (any length) into --out x.wav")
    s.add_argument("--label", help="class-conditional models: the label's name or id (e.g. 3, A3, flute)")
    s.add_argument("--notes", help="melody models: the notes, NOTE[:BEATS] or - (a rest), e.g. 'C4 D4 E4:2 -' (see arstudio/data/melodies.py)")
    _add_where(s)
    s.set_defaults(func=cmd_sample)

    cp = sub.add_parser("complete", help="complete an image: keep its known pixels, generate the rest")
    _add_model(cp)
    cp.add_argument("--image", required=True, help="the image (resized to the model's size)")
    cp.add_argument("--unknown", required=True, metavar="MASK.png",
                    help="a mask image: its non-zero pixels are the ones to generate")
    cp.add_argument("--method", default="raster", choices=["raster", "resample", "any-order", "gibbs"])
    cp.add_argument("--n", type=_count(MAX_SAMPLES, "--n"), default=4, help="completions (default 4)")
    cp.add_argument("--out", default="completions.png", help="the grid of completions (PNG)")
    cp.add_argument("--animation", metavar="FILL.gif", help="the pixel-by-pixel fill as GIF or APNG (.png)")
    cp.add_argument("--fps", type=_number(0.1, 100.0, "--fps", low_open=False), default=20.0, help="animation frames per second")
    cp.add_argument("--scale", type=_count(MAX_SCALE, "--scale"), default=4, help="pixels per image pixel in the outputs")
    cp.add_argument("--candidates", type=_count(1 << 16, "--candidates"), help="resample: raster candidates (default max(64, 8n))")
    cp.add_argument("--sweeps", type=_count(10_000, "--sweeps"), default=1, help="gibbs: passes over the unknown pixels")
    cp.add_argument("--label", help="class for a class-conditional model (its name or id)")
    _add_where(cp)
    _add_drawing(cp)
    cp.set_defaults(func=cmd_complete)

    ec = sub.add_parser("export-curves", help="a run's training and evaluation curves as CSV")
    ec.add_argument("run", help="run folder")
    ec.add_argument("--out", default="curves.csv")
    ec.set_defaults(func=cmd_export_curves)

    e = sub.add_parser("eval", help="test bits/dim and nats per example")
    _add_model(e, nargs="?")
    e.add_argument("--all", action="store_true", help="every bundled model: the quality table")
    e.add_argument("--data", help="dataset (default: the one it was trained on)")
    _add_split(e)
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser("compress", help="lossless compression with a model (.arz)")
    _add_model(c, "model", device="cpu")
    c.add_argument("inputs", nargs="*", help="image files, a WAV or a text file")
    c.add_argument("--data", help="a data set instead of files")
    _add_split(c)
    c.add_argument("--n", type=_count(what="--n"), help="first N examples of the split (default all)")
    c.add_argument("--batch", type=_count(4096, "--batch"), help="rows per stepper run (default min(rows, 32))")
    c.add_argument("--label", type=int, help="class-conditional models: code every input under class K "
                   "(default: the data set's labels with --data; files need it unless the model has a no-label id)")
    c.add_argument("--out", required=True, help="the .arz file to write")
    c.set_defaults(func=cmd_compress)

    d = sub.add_parser("decompress", help="decode an .arz file back to PNG, WAV or text")
    d.add_argument("file")
    d.add_argument("--out", required=True, help="folder for the decoded files")
    d.add_argument("--model", help="the model (default: the one the file names)")
    d.add_argument("--device", default="cpu")
    d.set_defaults(func=cmd_decompress)

    sc = sub.add_parser("score", help="bits/dim of every example (CSV), for anomaly detection")
    _add_model(sc, "model", device="cpu")
    sc.add_argument("--data", required=True, help="data set, image folder, noise, inverted[:NAME], shifted[:NAME]")
    _add_split(sc)
    sc.add_argument("--n", type=_count(what="--n"), help="first N examples (default all)")
    sc.add_argument("--out", help="CSV file (default: standard output)")
    sc.add_argument("--label", type=int, help="class-conditional models: score every example as class K "
                    "(default: the labels of the model's own data set, else the class summed out)")
    sc.set_defaults(func=cmd_score)

    od = sub.add_parser("ood", help="AUROC of three anomaly scores: in-distribution test set vs others")
    _add_model(od, "model", device="cpu")
    od.add_argument("--in", dest="inside", help="in-distribution data (default: the model's own)")
    od.add_argument("--out", dest="outside", nargs="+", required=True,
                    help="other data: data sets, image folders, noise, constant, inverted[:NAME], shifted[:NAME]")
    od.add_argument("--n", type=_count(what="--n"), default=500, help="examples per set (default 500)")
    od.add_argument("--background", help="background model for the likelihood ratio (default: train one)")
    od.add_argument("--bg-steps", type=_count(what="--bg-steps"), default=200, help="steps of the background model")
    od.add_argument("--save-background", help="keep the trained background model (checkpoint file)")
    od.add_argument("--label", type=int, help="class-conditional models: score every set as class K "
                    "(default: p(x) with the class summed out, the same for every set)")
    od.set_defaults(func=cmd_ood)

    ls = sub.add_parser("lessons", help="list the guided lessons (bundled and your own)")
    ls.set_defaults(func=cmd_lessons)

    for what in ("models", "datasets"):
        lp = sub.add_parser(what, help=f"list registered {what}")
        lp.set_defaults(func=cmd_list, what=what)

    b = sub.add_parser("bench", help="run a benchmark (sampling, training, ...)")
    b.add_argument("name")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    return p


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Messages on stderr through the standard logging module: -v more, -q only problems."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO
    _QUIET["on"] = quiet
    root = logging.getLogger()
    if not any(getattr(h, "_arstudio", False) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s" if verbose == 0 else
                                               "%(levelname)s %(name)s: %(message)s"))
        handler._arstudio = True
        root.addHandler(handler)
    root.setLevel(level)


def _add_verbose(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``-v`` on the command and on every subcommand: a failure also prints its traceback."""
    for p in [parser, *next((a.choices.values() for a in parser._actions
                             if isinstance(a, argparse._SubParsersAction)), [])]:
        try:
            p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                           help="more messages; on an error, also the traceback")
        except argparse.ArgumentError:
            pass
    return parser


def _clear_bars() -> None:
    """Take down any progress bar still on screen, so that an error is a line of its own."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()) or ()):
        try:
            bar.leave = False
            bar.close()
        except Exception:  # noqa: BLE001, S110 - a bar that cannot close must not hide the error
            pass


def _nproc(text):
    """``--nproc-per-node``: a count of processes, or what torchrun itself takes."""
    if text in ("gpu", "cpu", "auto") or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"--nproc-per-node must be a count of at least 1, gpu, cpu or auto, "
                                     f"got {text!r}")


MAX_ERROR_CHARS = 600  # an error is one line on stderr, cut to this


def error_line(e: BaseException) -> str:
    """One line for any failure: the message of the project's own errors (and of bad values,
    names and files), the exception's type in front of anything else."""
    from arstudio.checkpoint import CheckpointError

    own = (KeyError, ValueError, OSError, CheckpointError, TypeError)
    text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    mod = type(e).__module__ or ""
    if not (isinstance(e, own) or mod.startswith("arstudio")) or not text:
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    if isinstance(e, MemoryError):
        text = "out of memory" + (f" ({text})" if str(e) else "")
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


def main(argv=None) -> int:
    args = _add_verbose(build_parser()).parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed: `train --nproc-per-node` passes it on
    setup_logging(args.verbose, args.log_quiet or getattr(args, "quiet", False) is True)
    if args.command is None:
        from arstudio.gui.launch import launch

        lesson = None
        if args.lesson:  # a lesson that cannot be read is one line here, before any window opens
            from arstudio.lessons import LessonError, find_lesson

            try:
                lesson = find_lesson(args.lesson)
            except (LessonError, KeyError) as e:
                print(f"arstudio: {error_line(e)}", file=sys.stderr)
                return 2
        return launch(session=args.session, lesson=lesson)
    import warnings

    try:
        # warnings (a skipped file, ...): one line each, after a command that worked (a failure's
        # one line already says why). Recorded rather than by assigning warnings.showwarning: the
        # docs corpus reads the warnings module's own docstrings, and patching it changed the corpus
        with warnings.catch_warnings(record=not getattr(args, "verbose", False)) as held:
            rc = args.func(args)
        lines = (f"arstudio: warning: {' '.join(str(w.message).split())}"[:MAX_ERROR_CHARS] for w in held or [])
        for line in dict.fromkeys(lines):
            print(line, file=sys.stderr)
        return rc
    except SystemExit:
        _clear_bars()  # the message (a string code, printed by the interpreter) on a line of its own
        raise
    except KeyboardInterrupt:
        _clear_bars()
        print(f"\narstudio {args.command}: interrupted", file=sys.stderr)
        return 130
    except BaseException as e:  # every failure: one line (and the traceback with -v), never only a traceback
        _clear_bars()
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(f"arstudio {args.command}: {error_line(e)}", file=sys.stderr)
        return 2 if isinstance(e, (KeyError, ValueError, TypeError)) else 1
