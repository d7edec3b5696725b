"""Checkpoints: safetensors weights with the model's JSON metadata in the header.

One file holds everything needed to rebuild the model with the current code:
registry name, DataSpec, config and whatever the trainer adds (step, metrics,
dataset). Nothing is ever unpickled, so opening a stranger's file is safe.
Writes are atomic (temp file, fsync, rename): a crash mid-save leaves the
previous checkpoint intact.

A file is judged before anything it describes is built (:func:`load_checkpoint`):

1. the header is parsed within bounds (:data:`MAX_HEADER_BYTES`, :data:`MAX_JSON_DEPTH`)
   and every tensor entry must lie inside the file;
2. the metadata must have the right types (:func:`validate_metadata`), the spec and the
   parameter count within :data:`MAX_SPEC_DIMS`, :data:`MAX_SPEC_SIDE`, :data:`MAX_LEVELS`,
   :data:`MAX_PARAMETERS`;
3. the tensors are read (as much memory as the file really holds) and their content hash
   (``content_sha256``, written on save, covering the model name, spec and config too)
   checked, NaN/Inf refused;
4. the model is built on the ``meta`` device (no memory) under a build guard (module count,
   bytes registered, time) and must have exactly the file's tensors: names, shapes, dtypes;
   only then is it built for real, under the same guard (which also sizes every operation's
   output on ``meta`` first when the model could not be built on ``meta``).

Every failure is one :class:`CheckpointError` whose message is at most
:data:`MAX_MESSAGE_CHARS` characters.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from arstudio.atomic import atomic_write

FORMAT = "arstudio-checkpoint/1"

# --- limits a checkpoint must stay within (a stranger's file is judged against these) ---
MAX_HEADER_BYTES = 16 * 1024 * 1024  # the safetensors JSON header (tensor table + metadata)
MAX_METADATA_BYTES = 1024 * 1024  # ARStudio's own JSON metadata string
MAX_JSON_DEPTH = 12  # nesting of lists/dicts in the metadata
MAX_TENSORS = 20_000  # tensors in one file
MAX_PARAMETERS = 2 ** 28  # elements over all tensors (1 GiB of float32)
MAX_SPEC_DIMS = 2 ** 18  # dimensions of one example (3x256x256 pixels, 16 s of 16 kHz audio)
MAX_SPEC_SIDE = 2 ** 18  # any one axis of the shape
MAX_LEVELS = 2 ** 16  # categories per dimension
MAX_CONFIG_INT = 2 ** 31  # any integer in a model config (widths, depths, seeds)
MAX_STRING_CHARS = 4096  # any string in the metadata
MAX_BUILD_SECONDS = 30.0  # CPU seconds (of the building thread) a build may take, meta or real
BUILD_SLACK_BYTES = 64 * 1024 * 1024  # memory a build may use beyond twice the file's tensors
MAX_MESSAGE_CHARS = 400  # a CheckpointError message is cut to this
HASH_KEY = "content_sha256"  # metadata key of content_hash()

_DTYPES = {"F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
           "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
           "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1),
           "BOOL": (torch.bool, 1)}
_DTYPE_NAMES = {dt: name for name, (dt, _) in _DTYPES.items()}


class CheckpointError(Exception):
    """A checkpoint that cannot be read or rebuilt; the message says why (one bounded line)."""

    def __init__(self, message=""):
        text = " ".join(str(message).split())
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS - 1] + "…"
        super().__init__(text)


def content_hash(meta: dict, tensors: dict) -> str:
    """SHA-256 over what defines the model (registry name, spec, config, as JSON with sorted
    keys) and every tensor's name, dtype, shape and bytes in name order: the same digest for
    the same model whatever order or alignment the file stores the tensors in."""
    h = hashlib.sha256()
    ident = {k: meta.get(k) for k in ("model", "spec", "config")}
    h.update(json.dumps(ident, sort_keys=True).encode() + b"\0")
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}\0{_DTYPE_NAMES.get(t.dtype, str(t.dtype))}\0{list(t.shape)}\0".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def checkpoint_metadata(model, extra: dict | None = None) -> dict:
    import arstudio

    return {
        "format": FORMAT,
        "model": model.registry_name,
        "spec": model.spec.to_dict(),
        "config": model.config_dict(),
        "parameters": model.num_parameters(),
        "versions": {"arstudio": arstudio.__version__, "torch": torch.__version__},
        **(extra or {}),
    }


def save_checkpoint(model, path, extra: dict | None = None) -> Path:
    path = Path(path)
    # clone: safetensors refuses tensors that share storage
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = checkpoint_metadata(model, extra)
    meta[HASH_KEY] = content_hash(meta, tensors)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"arstudio": json.dumps(meta)}))
    return path


# --- reading the header ----------------------------------------------------------------------
def _json_depth_ok(obj, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            if d > limit:
                return False
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return True


def _parse_json(text, what: str):
    try:
        obj = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    if not _json_depth_ok(obj, MAX_JSON_DEPTH):
        raise ValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return obj


def read_header(path) -> tuple[dict, dict]:
    """``(metadata, tensor table)`` of a checkpoint, checked but nothing built or loaded.
    The table maps each tensor name to ``(dtype name, shape)``; every entry is checked to
    lie inside the file, to tile the data section exactly and to fit its dtype and shape."""
    path = Path(path)
    try:
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file")
        size = path.stat().st_size
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n <= 1 or n > MAX_HEADER_BYTES or 8 + n > size:
                raise ValueError(f"header length {n} does not fit a {size}-byte file "
                                 f"(limit {MAX_HEADER_BYTES} bytes)")
            header = _parse_json(f.read(n).decode("utf-8"), "the header")
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        extra = header.get("__metadata__")
        if not isinstance(extra, dict) or not isinstance(extra.get("arstudio"), str):
            raise ValueError("no ARStudio metadata in the header")
        if len(extra["arstudio"]) > MAX_METADATA_BYTES:
            raise ValueError(f"the metadata is over {MAX_METADATA_BYTES} bytes")
        meta = _parse_json(extra["arstudio"], "the metadata")
        table = _tensor_table(header, size - 8 - n)
    except CheckpointError:
        raise
    except _Damaged as e:
        raise CheckpointError(f"{path}: damaged or truncated ({e})") from None
    except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError, OverflowError) as e:
        raise CheckpointError(f"{path}: not an ARStudio checkpoint (unreadable header: {e})") from None
    return meta, table


class _Damaged(ValueError):
    pass


def _tensor_table(header: dict, data_bytes: int) -> dict:
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(entries) > MAX_TENSORS:
        raise ValueError(f"{len(entries)} tensors (limit {MAX_TENSORS})")
    table, spans, total = {}, [], 0
    for name, e in entries.items():
        if not isinstance(e, dict) or e.get("dtype") not in _DTYPES:
            raise ValueError(f"tensor {name[:60]!r}: missing or unknown dtype")
        shape, offsets = e.get("shape"), e.get("data_offsets")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(type(s) is int and 0 <= s <= MAX_PARAMETERS for s in shape)):
            raise ValueError(f"tensor {name[:60]!r}: bad shape")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"tensor {name[:60]!r}: bad data offsets")
        numel = math.prod(shape)
        total += numel
        if total > MAX_PARAMETERS:
            raise ValueError(f"more than {MAX_PARAMETERS:,} elements in all")
        if offsets[1] - offsets[0] != numel * _DTYPES[e["dtype"]][1]:
            raise ValueError(f"tensor {name[:60]!r}: {offsets[1] - offsets[0]} bytes for shape {shape}")
        spans.append(tuple(offsets))
        table[name] = (e["dtype"], tuple(shape))
    spans.sort()
    end = 0
    for a, b in spans:
        if a != end:
            raise _Damaged("tensor data overlap or leave gaps")
        end = b
    if end != data_bytes:
        raise _Damaged(f"tensor data cover {end} of the file's {data_bytes} data bytes "
                         "(truncated or padded)")
    return table


# --- the metadata's shape ---------------------------------------------------------------------
def _check_scalar(value, where: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_CONFIG_INT:
            raise CheckpointError(f"{where} = {value} is out of range (|x| <= {MAX_CONFIG_INT})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CheckpointError(f"{where} is not a finite number")
    elif isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise CheckpointError(f"{where} is a string over {MAX_STRING_CHARS} characters")
    else:
        raise CheckpointError(f"{where} has the wrong type ({type(value).__name__})")


def _expect(meta: dict, key: str, types, required: bool = False):
    if key not in meta:
        if required:
            raise CheckpointError(f"metadata has no {key!r}")
        return None
    value = meta[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,))):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise CheckpointError(f"metadata {key!r} should be {names}, not {type(value).__name__}")
    return value


def validate_spec(spec) -> None:
    """A DataSpec dict within the stated limits (or CheckpointError)."""
    if not isinstance(spec, dict):
        raise CheckpointError(f"metadata 'spec' should be an object, not {type(spec).__name__}")
    shape, levels = spec.get("shape"), spec.get("levels")
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 3
            or not all(type(s) is int and 1 <= s <= MAX_SPEC_SIDE for s in shape)):
        raise CheckpointError(f"spec shape {str(shape)[:80]} is not 1 to 3 sides of 1..{MAX_SPEC_SIDE}")
    if math.prod(shape) > MAX_SPEC_DIMS:
        raise CheckpointError(f"spec shape {shape} has {math.prod(shape):,} dimensions "
                              f"(limit {MAX_SPEC_DIMS:,})")
    if levels is not None and not (type(levels) is int and 2 <= levels <= MAX_LEVELS):
        raise CheckpointError(f"spec levels {str(levels)[:40]} is not None or 2..{MAX_LEVELS}")
    if spec.get("modality") is not None and not isinstance(spec.get("modality"), str):
        raise CheckpointError("spec modality should be a string")


def validate_metadata(meta) -> dict:
    """Types and bounds of everything the studio reads from a checkpoint's metadata;
    returns ``meta`` or raises CheckpointError. Unknown extra keys are allowed (their
    size and nesting were bounded when the header was parsed)."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"the metadata should be a JSON object, not {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"unsupported checkpoint format {str(meta.get('format'))[:60]!r}")
    name = _expect(meta, "model", str, required=True)
    if len(name) > 64:
        raise CheckpointError("metadata 'model' is not a model name")
    validate_spec(_expect(meta, "spec", dict, required=True))
    config = _expect(meta, "config", dict, required=True)
    for key, value in config.items():
        if isinstance(value, list):
            if len(value) > 64:
                raise CheckpointError(f"config {key[:40]!r} is a list of {len(value)} items (limit 64)")
            for i, v in enumerate(value):
                _check_scalar(v, f"config {key[:40]}[{i}]")
        else:
            _check_scalar(value, f"config {key[:40]!r}")
    params = _expect(meta, "parameters", int)
    if params is not None and not 0 <= params <= MAX_PARAMETERS:
        raise CheckpointError(f"parameter count {params:,} is outside 0..{MAX_PARAMETERS:,}")
    digest = _expect(meta, HASH_KEY, str)
    if digest is not None and (len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)):
        raise CheckpointError(f"metadata {HASH_KEY!r} is not a SHA-256 hex digest")
    for key, types in (("step", int), ("dataset", str), ("run", str), ("metrics", dict),
                       ("train", dict), ("versions", dict), ("label_names", list),
                       ("sample_rate", (int, float))):
        value = _expect(meta, key, types)
        if isinstance(value, str):
            _check_scalar(value, key)
    for key, value in (meta.get("metrics") or {}).items():
        if not (value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))):
            raise CheckpointError(f"metrics {key[:40]!r} should be a number")
    if "label_names" in meta and not all(isinstance(n, str) and len(n) <= 200
                                         for n in meta["label_names"][:100_000]):
        raise CheckpointError("label_names should be a list of short strings")
    if "sample_rate" in meta and not 1000 <= meta["sample_rate"] <= 384_000:
        raise CheckpointError(f"sample rate {meta['sample_rate']} Hz is outside 1000..384000")
    return meta


def read_metadata(path) -> dict:
    """A checkpoint's metadata, its types and bounds checked (nothing built or loaded)."""
    meta, _ = read_header(path)
    try:
        return validate_metadata(meta)
    except CheckpointError as e:
        raise CheckpointError(f"{Path(path)}: {e}") from None


def read_spec(path):
    """``(meta, spec)``: a checkpoint's checked metadata and its :class:`DataSpec`, for a
    view that decides what to show before loading anything. A file that cannot be read
    (``OSError``) is a :class:`CheckpointError` too."""
    from arstudio.spec import DataSpec

    try:
        meta = read_metadata(path)
    except OSError as e:
        raise CheckpointError(str(e)) from e
    return meta, DataSpec.from_dict(meta["spec"])


def dataset_named_by(meta: dict) -> str | None:
    """The dataset a checkpoint names, only when it is one of the studio's registered sets.
    A checkpoint naming a file or folder (``text:/dev/zero``, ``idx:/some/folder``) never
    makes the studio read it: the user has to choose such data themselves."""
    from arstudio.data.registry import load_all

    name = meta.get("dataset") if isinstance(meta, dict) else None
    if isinstance(name, str) and ":" not in name and name in load_all():
        return name
    if isinstance(name, str) and name.startswith("vqcodes:"):  # the codes of a bundled VQ-VAE
        import re

        from arstudio.paths import BUNDLED_MODELS

        key = name.split(":", 1)[1]  # a bare key of models/, never a path
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9+_-]*", key) and \
                (BUNDLED_MODELS / f"{key}.safetensors").is_file():
            return name
    return None


# --- building under a guard ---------------------------------------------------------------------
class _BuildRefused(Exception):
    pass


_GUARD = threading.local()
_HOOKS_LOCK = threading.Lock()
_HOOK_USERS = [0, None]  # active guards, hook handles


def _guard_hook(kind):
    def hook(module, name, value):
        g = getattr(_GUARD, "active", None)
        if g is not None and value is not None:
            g.register(kind, value)
    return hook


class _BuildGuard:
    """Bounds one model build: registered modules, bytes of parameters and buffers, bytes
    of any single operation's output (preflighted on ``meta``), and wall time."""

    def __init__(self, n_tensors: int, file_bytes: int, preflight: bool = True):
        self.preflight = preflight  # every op's output sized on meta first (slower)
        # the bundled models register at most 1.4 modules and 1.5 parameters/buffers per tensor
        # in their file; a config asking for many more (layers=10**6) stops here, early
        self.max_modules = 4 * n_tensors + 64
        self.max_tensors = 3 * n_tensors + 64
        self.max_bytes = 2 * file_bytes + BUILD_SLACK_BYTES
        self.deadline = time.thread_time() + MAX_BUILD_SECONDS
        self.modules = self.tensors = self.bytes = 0

    def tick(self):
        if time.thread_time() > self.deadline:
            raise _BuildRefused(f"building the model takes over {MAX_BUILD_SECONDS:.0f} s of CPU")

    def register(self, kind, value):
        self.tick()
        if kind == "module":
            self.modules += 1
            if self.modules > self.max_modules:
                raise _BuildRefused(f"the model has over {self.max_modules} modules for a file "
                                    "with far fewer tensors")
        elif isinstance(value, torch.Tensor):
            self.tensors += 1
            if self.tensors > self.max_tensors:
                raise _BuildRefused(f"the model registers over {self.max_tensors} parameters and "
                                    "buffers for a file with far fewer tensors")
            self.bytes += value.numel() * value.element_size()
            if self.bytes > self.max_bytes:
                raise _BuildRefused(f"the model needs over {self.max_bytes / 2**20:.0f} MiB, "
                                    "far more than the file's weights")

    def check_op(self, nbytes: int):
        if nbytes > self.max_bytes:
            raise _BuildRefused(f"building the model allocates {nbytes / 2**20:,.0f} MiB at once, "
                                "far more than the file's weights")

    def __enter__(self):
        from torch.nn.modules import module as M

        with _HOOKS_LOCK:
            if _HOOK_USERS[0] == 0:
                _HOOK_USERS[1] = [M.register_module_module_registration_hook(_guard_hook("module")),
                                  M.register_module_parameter_registration_hook(_guard_hook("param")),
                                  M.register_module_buffer_registration_hook(_guard_hook("buffer"))]
            _HOOK_USERS[0] += 1
        _GUARD.active = self
        self._mode = _op_budget_mode(self) if self.preflight else None
        if self._mode is not None:
            self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        if self._mode is not None:
            self._mode.__exit__(*exc)
        _GUARD.active = None
        with _HOOKS_LOCK:
            _HOOK_USERS[0] -= 1
            if _HOOK_USERS[0] == 0:
                for h in _HOOK_USERS[1]:
                    h.remove()
                _HOOK_USERS[1] = None
        return False


def _op_budget_mode(guard: _BuildGuard):
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves, tree_map

    meta = torch.device("meta")

    def to_meta(x):
        return x.to(meta) if isinstance(x, torch.Tensor) else x

    class OpBudget(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            guard.tick()
            leaves = [x for x in tree_leaves((args, kwargs)) if isinstance(x, torch.Tensor)]
            if leaves:
                real = not all(x.is_meta for x in leaves)
            else:  # a factory: only its own arguments say how much it allocates
                real = kwargs.get("device") is None or torch.device(kwargs["device"]).type != "meta"
            if real:
                try:  # the output's size, computed on meta before anything is allocated
                    m_args, m_kwargs = tree_map(to_meta, (args, kwargs))
                    if any(a.name == "device" for a in func._schema.arguments):
                        m_kwargs = {**m_kwargs, "device": meta}
                    out = func(*m_args, **m_kwargs)
                    guard.check_op(sum(t.numel() * t.element_size() for t in tree_leaves(out)
                                       if isinstance(t, torch.Tensor)))
                except _BuildRefused:
                    raise
                except Exception:
                    pass  # no meta kernel (data-dependent op): its inputs were bounded already
            return func(*args, **kwargs)

    return OpBudget()


def _build(meta: dict, guard: _BuildGuard, device=None):
    from arstudio.models.registry import build_model
    from arstudio.spec import DataSpec

    with guard:
        if device is None:
            return build_model(meta["model"], DataSpec.from_dict(meta["spec"]), **meta["config"])
        with torch.device(device):
            return build_model(meta["model"], DataSpec.from_dict(meta["spec"]), **meta["config"])


def _state_table(model) -> dict:
    return {k: (_DTYPE_NAMES.get(v.dtype, str(v.dtype)), tuple(v.shape))
            for k, v in model.state_dict().items()}


def _compare_tables(model_table: dict, file_table: dict) -> None:
    missing = sorted(set(model_table) - set(file_table))
    unexpected = sorted(set(file_table) - set(model_table))
    if missing or unexpected:
        raise CheckpointError(f"the file's tensors are not the model's: missing {missing[:3]}"
                              f"{'…' if len(missing) > 3 else ''}, unexpected {unexpected[:3]}"
                              f"{'…' if len(unexpected) > 3 else ''}")
    for name in sorted(model_table):
        if model_table[name] != file_table[name]:
            (md, ms), (fd, fs) = model_table[name], file_table[name]
            raise CheckpointError(f"tensor {name[:80]!r} is {fd} {list(fs)} in the file but the "
                                  f"model has {md} {list(ms)}")


_META_WARM = []


def _warm_up_meta() -> None:
    """Pay torch's one-time set-up of the meta device (4-5 s of CPU here, more on a busy
    machine) once per process, before any build guard starts counting: the guard bounds
    the work a checkpoint asks for, not the interpreter's first use of a device."""
    if _META_WARM:
        return
    with torch.device("meta"):
        torch.nn.Conv2d(2, 2, 3)
        torch.nn.Linear(2, 2)
        torch.nn.LSTM(2, 2)
        torch.nn.Embedding(3, 2)
    _META_WARM.append(True)


def judge_and_build(path, meta: dict, table: dict):
    """Build the model a checked checkpoint describes, refusing it first on ``meta`` when its
    tensors would not be exactly the file's; returns the (CPU) model, weights not loaded."""
    n_bytes = sum(math.prod(s) * _DTYPES[d][1] for d, s in table.values())
    _warm_up_meta()
    try:
        model = _build(meta, _BuildGuard(len(table), n_bytes, preflight=False), device="meta")
    except _BuildRefused as e:
        raise CheckpointError(f"{path}: refused before building: {e}") from None
    except (NotImplementedError, RuntimeError) as e:
        # an op with no meta kernel (NotImplementedError, "... with Meta tensors") or one that
        # reads a meta tensor's data: build for real instead; any other error is the file's
        if not isinstance(e, NotImplementedError) and "meta" not in str(e).lower():
            raise CheckpointError(f"{path}: cannot rebuild model {meta.get('model')!r}: "
                                  f"{type(e).__name__}: {e}") from None
        model = None  # the model's constructor computes data (masks) on the way: the real
        # build below runs under the same guard, so it stays within the file's size
    except Exception as e:
        raise CheckpointError(f"{path}: cannot rebuild model {meta.get('model')!r}: "
                              f"{type(e).__name__}: {e}") from None
    if model is not None:
        try:
            _compare_tables(_state_table(model), table)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None
        model = True  # the meta build matched: the real one holds the same tensors
    try:
        model = _build(meta, _BuildGuard(len(table), n_bytes, preflight=model is not True))
    except _BuildRefused as e:
        raise CheckpointError(f"{path}: refused while building: {e}") from None
    except Exception as e:
        raise CheckpointError(f"{path}: cannot rebuild model {meta.get('model')!r}: "
                              f"{type(e).__name__}: {e}") from None
    try:
        _compare_tables(_state_table(model), table)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return model


def load_weights(path, meta: dict) -> dict:
    """The file's tensors, their hash checked against the metadata and NaN/Inf refused."""
    try:
        state = load_file(str(path), device="cpu")
    except Exception as e:
        raise CheckpointError(f"{path}: weights are damaged: {e}") from None
    digest = meta.get(HASH_KEY)
    if digest is not None and content_hash(meta, state) != digest:
        raise CheckpointError(f"{path}: damaged (the content hash of its weights and model "
                              "settings does not match the one written with them)")
    for name, t in state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: tensor {name[:80]!r} holds NaN or Inf values")
    return state


def upgrade(path, meta: dict, table: dict, state: dict):
    """An older file's config names and tensors -> today's model's (``ARModel.upgrade_checkpoint``),
    on read: the file stays as it is (its hash covers what it holds). The header's table is
    migrated the same way, through tensors on the meta device, so the checks before the
    build compare like with like."""
    from arstudio.models.registry import get_model_info

    try:
        cls = get_model_info(meta["model"]).cls
    except KeyError:
        return meta, table, state  # judge_and_build says why it cannot be built
    try:
        config, state = cls.upgrade_checkpoint(dict(meta["config"]), state)
        ghosts = {k: torch.empty(shape, dtype=_DTYPES[dt][0], device="meta") for k, (dt, shape) in table.items()}
        _, ghosts = cls.upgrade_checkpoint(dict(meta["config"]), ghosts)
    except Exception as e:
        raise CheckpointError(f"{path}: cannot read this older {meta['model']!r} checkpoint: "
                              f"{type(e).__name__}: {e}") from None
    new_table = {k: (_DTYPE_NAMES[v.dtype], tuple(v.shape)) for k, v in ghosts.items()}
    meta = {**meta, "config": config}
    dropped = sum(math.prod(s) for _, s in table.values()) - sum(math.prod(s) for _, s in new_table.values())
    if dropped and isinstance(meta.get("parameters"), int):
        # weights the migration left out (rows a mask always zeroed) were counted when saved
        meta["parameters"] -= dropped
    return meta, new_table, state


def load_checkpoint(path, device: str | torch.device = "cpu"):
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    meta, table = read_header(path)
    try:
        validate_metadata(meta)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    state = load_weights(path, meta)  # bounded by the file's real size, checked above
    meta, table, state = upgrade(path, meta, table, state)
    model = judge_and_build(path, meta, table)
    try:
        model.load_state_dict(state, strict=True)
        count = model.num_parameters()
    except Exception as e:
        raise CheckpointError(f"{path}: weights do not fit the model: {type(e).__name__}: {e}") from None
    if meta.get("parameters") is not None and count != meta["parameters"]:
        raise CheckpointError(f"{path}: the model has {count:,} parameters but the file says "
                              f"{meta['parameters']:,}")
    model.checkpoint_meta = meta
    try:
        return model.to(device).eval()
    except Exception as e:
        raise CheckpointError(f"{path}: cannot move the model to {device}: {type(e).__name__}: {e}") from None


def stamp_hash(path) -> str:
    """Write the content hash into an older checkpoint that has none (weights unchanged,
    bit for bit); returns the digest. The file must otherwise load cleanly."""
    path = Path(path)
    meta, _ = read_header(path)
    meta = {k: v for k, v in meta.items() if k != HASH_KEY}
    load_checkpoint(path)  # refuse to stamp a file that does not load
    state = load_file(str(path), device="cpu")
    meta[HASH_KEY] = content_hash(meta, state)
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata={"arstudio": json.dumps(meta)}))
    return meta[HASH_KEY]
