"""Read a pickle that should hold only plain containers and NumPy arrays
(the CIFAR-10/100 "python version"), without executing anything else.

:class:`RestrictedUnpickler` admits exactly the globals NumPy needs to rebuild
an array (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
``numpy.dtype``, ``numpy.core.multiarray.scalar`` for NumPy scalars, and ``_codecs.encode`` for Python 3 byte strings at protocol
2, only with the ``latin1`` codec); any other global — ``os.system``,
``builtins.eval``, a class — is refused. Arrays of Python objects are refused
too (their elements would come from the pickle). Whatever goes wrong, the
caller sees one :class:`DataError` naming the file.
"""
from __future__ import annotations

import codecs
import io
import math
import pickle
import re

import numpy as np

from arstudio.data.registry import DataError

_ARRAY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


def _latin1_encode(text, encoding="latin1", *rest):
    if rest or not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is admitted only as encode(str, 'latin1')")
    return codecs.encode(text, "latin1")


try:
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct
    from numpy.core.multiarray import scalar as _np_scalar


def _scalar(dtype, data=None):
    """A NumPy scalar (np.int64(3) in a list of labels) from its dtype and raw bytes."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes) \
            or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("numpy scalar admitted only from a plain dtype and its bytes")
    return _np_scalar(dtype, data)


class _NdarrayToken:
    __slots__ = ()


_NDARRAY = _NdarrayToken()


def _reconstruct(cls, shape, dtype_code):
    """An empty array that BUILD then fills (what NumPy pickles always say)."""
    if (cls is not _NDARRAY or dtype_code not in (b"b", "b", b"B", "B") or not isinstance(shape, tuple)
            or not all(isinstance(s, int) and 0 <= s <= 1 for s in shape)):
        raise pickle.UnpicklingError("only an empty numpy.ndarray may be reconstructed")
    return _np_reconstruct(np.ndarray, shape, dtype_code)


_TYPE_CODE = re.compile(r"^[<>|=]?[biufcSUV?][0-9]{0,3}$")


def _dtype(spec, align=False, copy=False):
    if isinstance(spec, bytes):
        spec = spec.decode("latin1")
    if not isinstance(spec, str) or not _TYPE_CODE.match(spec):
        raise pickle.UnpicklingError(f"numpy.dtype admitted only from a plain type code, got {spec!r}")
    return np.dtype(spec, bool(align), bool(copy))


def _check_dtype_state(state):
    # (version, byte order, subarray, names, fields, item size, alignment, flags) of a plain type
    if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
            and state[1] in ("<", ">", "|", "=", b"<", b">", b"|", b"=")
            and state[2] is None and state[3] is None and state[4] is None
            and all(isinstance(v, int) and not isinstance(v, bool) for v in state[5:])
            and state[7] == 0):
        raise pickle.UnpicklingError("numpy.dtype state is not that of a plain type")


def _check_array_state(state):
    # (version, shape, dtype, Fortran order, raw bytes)
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise pickle.UnpicklingError("numpy.ndarray state is not (version, shape, dtype, order, bytes)")
    _, shape, dtype, fortran, data = state
    if not (isinstance(shape, tuple) and all(isinstance(s, int) and s >= 0 for s in shape)):
        raise pickle.UnpicklingError("numpy.ndarray shape must be a tuple of sizes")
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(fortran, bool):
        raise pickle.UnpicklingError("numpy.ndarray of a plain dtype only")
    if not isinstance(data, bytes) or len(data) != math.prod(shape) * dtype.itemsize:
        raise pickle.UnpicklingError("numpy.ndarray data must be raw bytes of the promised size")


class RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, so BUILD can be checked too: it may only set the state
    of an array or a dtype, and only to plain values."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        if module in _ARRAY_MODULES and name == "_reconstruct":
            return _reconstruct
        if module in _ARRAY_MODULES and name == "scalar":
            return _scalar
        if module == "numpy" and name == "ndarray":
            return _NDARRAY  # a token for _reconstruct, not the (callable) class
        if module == "numpy" and name == "dtype":
            return _dtype
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        raise pickle.UnpicklingError(f"refused global {module}.{name}: only NumPy arrays and plain "
                                     "containers are admitted")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent references are not admitted")

    def load_build(self):
        state = self.stack[-1]
        inst = self.stack[-2]
        if isinstance(inst, np.dtype):
            _check_dtype_state(state)
        elif isinstance(inst, np.ndarray):
            _check_array_state(state)
        else:
            raise pickle.UnpicklingError(f"BUILD of a {type(inst).__name__} is not admitted")
        self.stack.pop()
        inst.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build

    def load_inst(self):
        raise pickle.UnpicklingError("INST is not admitted")

    dispatch[pickle.INST[0]] = load_inst

    def load_obj(self):
        raise pickle.UnpicklingError("OBJ is not admitted")

    dispatch[pickle.OBJ[0]] = load_obj

    def load_newobj(self):
        raise pickle.UnpicklingError("NEWOBJ is not admitted")

    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj


_PLAIN = (dict, list, tuple, str, bytes, int, float, bool, type(None), np.ndarray, np.dtype, np.generic)


def _check_plain(obj, depth=0):
    if depth > 50:
        raise pickle.UnpicklingError("nested too deeply")
    if not isinstance(obj, _PLAIN):
        raise pickle.UnpicklingError(f"unexpected object of type {type(obj).__name__}")
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise pickle.UnpicklingError("arrays of Python objects are not admitted")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, depth + 1)
            _check_plain(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check_plain(v, depth + 1)


def safe_loads(data: bytes, name: str = "pickle"):
    """The object a pickle of plain containers and arrays holds; DataError otherwise."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
        _check_plain(obj)
    except Exception as e:  # a damaged pickle can raise nearly anything; all mean "not readable"
        raise DataError(f"{name}: not a pickle of plain arrays ({type(e).__name__}: {e})") from None
    return obj


def safe_load(path):
    try:
        data = open(path, "rb").read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    return safe_loads(data, str(path))
