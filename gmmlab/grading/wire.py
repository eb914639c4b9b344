"""Values crossing the sandbox boundary, as JSON: no pickle, so decoding never runs code.

The trusted grader and the sandboxed notebook exchange arguments and results of the graded functions. Arrays
travel as raw bytes of a plain numeric dtype; containers, numbers, strings and None as themselves. Anything else
(an object array, a class instance, a function) cannot cross, and the caller is told what it was.
"""

import base64
import json
import math

import numpy as np

_DTYPE_KINDS = "biufc"  # bool, signed, unsigned, float, complex: plain numbers only
MAX_BYTES = 64 * 2**20


class WireError(ValueError):
    """A value that cannot cross the sandbox boundary."""


class Opaque:
    """Stands in, on the trusted side, for an argument that cannot cross (a random Generator passed to a stand-in)."""

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<{self.kind} from the sandbox>"


def _encode(value, depth=0, opaque=False):
    if depth > 20:
        raise WireError("nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return {"int": str(int(value))}
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray) or np.isscalar(value) and isinstance(value, np.generic):
        array = np.asarray(value, order="C")  # not ascontiguousarray, which turns a 0-d array into shape (1,)
        if array.dtype.kind not in _DTYPE_KINDS:
            raise WireError(f"an array of dtype {array.dtype} (only numbers can be returned)")
        return {"array": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, depth + 1, opaque) for v in value]}
    if isinstance(value, list):
        return [_encode(v, depth + 1, opaque) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v, depth + 1, opaque) for k, v in value.items()}}
    if opaque:
        return {"opaque": type(value).__name__[:60]}
    raise WireError(f"a {type(value).__name__}")


def dumps(value, opaque=False):
    """One line of JSON holding ``value``; raises WireError for what cannot cross (``opaque``: send its type only)."""
    text = json.dumps(_encode(value, opaque=opaque), allow_nan=False)
    if len(text) > MAX_BYTES:
        raise WireError(f"a value of {len(text)} bytes (at most {MAX_BYTES})")
    return text


def _decode(node, depth=0):
    if depth > 25:
        raise WireError("nested too deeply")
    if node is None or isinstance(node, (bool, str, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, depth + 1) for v in node]
    if isinstance(node, dict):
        if set(node) == {"int"}:
            return int(node["int"])
        if set(node) == {"float"}:
            return float(node["float"])
        if set(node) == {"opaque"}:
            return Opaque(str(node["opaque"]))
        if set(node) == {"tuple"}:
            return tuple(_decode(v, depth + 1) for v in node["tuple"])
        if set(node) == {"dict"}:
            return {str(k): _decode(v, depth + 1) for k, v in node["dict"].items()}
        if set(node) == {"array", "dtype", "shape"}:
            dtype = np.dtype(node["dtype"])
            if dtype.kind not in _DTYPE_KINDS:
                raise WireError(f"an array of dtype {dtype}")
            shape = tuple(int(n) for n in node["shape"])
            data = base64.b64decode(node["array"], validate=True)
            if len(data) != dtype.itemsize * math.prod(shape):
                raise WireError("an array whose size does not match its shape")
            return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    raise WireError(f"an unknown value {str(node)[:60]!r}")


def loads(text):
    """The value ``dumps`` wrote; raises WireError (never runs code) for anything else."""
    if not isinstance(text, (str, bytes)):
        raise WireError(f"a {type(text).__name__} where a value's text was expected")
    if len(text) > MAX_BYTES:
        raise WireError(f"a value of {len(text)} bytes (at most {MAX_BYTES})")
    try:
        return _decode(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as error:
        raise WireError(str(error)[:200] or type(error).__name__) from None
