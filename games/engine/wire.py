"""Plain-data messages from an isolated adversary to the challenger: never pickle.

What an untrusted process sends is decoded into plain values only — None, bools, ints,
floats, complex numbers, strings, bytes, lists, tuples, dicts, and numeric numpy arrays
(typed bytes with their dtype and shape; torch tensors travel as arrays and come back as
tensors) — so no message can make the challenger run code. A message is a JSON document
whose special values are tagged objects (``{"$array": [...]}``); anything else is refused
with :class:`ProtocolError`.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from typing import Any

import numpy as np

from games.errors import InvalidAnswer

__all__ = ["MAX_DEPTH", "ProtocolError", "decode", "encode"]

MAX_DEPTH = 64
_NUMERIC = "biufc"


class ProtocolError(InvalidAnswer):
    """A message that is not plain data, not well formed, or not for this trial."""


def encode(value: Any) -> bytes:
    """``value`` as a message; :class:`ProtocolError` when it is not plain data."""
    try:
        return json.dumps(_plain(value, 0), separators=(",", ":"), allow_nan=True).encode()
    except RecursionError:
        raise ProtocolError(f"a message may nest at most {MAX_DEPTH} deep") from None


def _array(value: np.ndarray) -> list[Any]:
    if value.dtype.kind not in _NUMERIC or value.dtype.hasobject:
        raise ProtocolError(f"cannot send an array of dtype {value.dtype}: numbers only")
    return [value.dtype.str, list(value.shape), base64.b64encode(value.tobytes()).decode()]


def _plain(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a message may nest at most {MAX_DEPTH} deep")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    if isinstance(value, complex):
        return {"$complex": [value.real, value.imag]}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, np.ndarray):
        return {"$array": _array(value)}
    if isinstance(value, np.generic):
        return {"$scalar": _array(np.asarray(value))}
    if isinstance(value, tuple):
        return {"$tuple": [_plain(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _plain(v, depth + 1) for k, v in value.items()}
        return {"$dict": [[_plain(k, depth + 1), _plain(v, depth + 1)] for k, v in value.items()]}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return {"$tensor": _array(value.detach().cpu().numpy())}
    raise ProtocolError(
        f"cannot send a {type(value).__name__}: an isolated adversary's queries and answers "
        "must be plain data (numbers, strings, bytes, lists, tuples, dicts, numeric arrays)"
    )


def decode(message: bytes) -> Any:
    """The plain value a message holds; :class:`ProtocolError` for anything else."""
    try:
        document = json.loads(message)
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise ProtocolError(f"not a plain-data message: {str(error)[:200]}") from None
    return _value(document, 0)


def _value(node: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a message may nest at most {MAX_DEPTH} deep")
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_value(v, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise ProtocolError(f"unexpected {type(node).__name__} in a message")
    if len(node) == 1:
        ((tag, body),) = node.items()
        if tag.startswith("$"):
            return _tagged(tag, body, depth)
    return {k: _value(v, depth + 1) for k, v in node.items()}


def _tagged(tag: str, body: Any, depth: int) -> Any:
    try:
        if tag == "$tuple":
            return tuple(_value(v, depth + 1) for v in _list(body))
        if tag == "$dict":
            out = {}
            for pair in _list(body):
                key, value = _list(pair)
                key = _value(key, depth + 1)
                if isinstance(key, list | dict):
                    raise ProtocolError("a dict key must be hashable plain data")
                out[key] = _value(value, depth + 1)
            return out
        if tag == "$bytes":
            return base64.b64decode(_str(body), validate=True)
        if tag == "$float":
            text = _str(body)
            if text not in ("nan", "inf", "-inf"):
                raise ProtocolError(f"$float {text!r} is not nan, inf or -inf")
            return float(text)
        if tag == "$complex":
            real, imag = _list(body)
            return complex(_number(real), _number(imag))
        if tag in ("$array", "$scalar", "$tensor"):
            array = _decode_array(body)
            if tag == "$scalar":
                if array.shape != ():
                    raise ProtocolError("a $scalar must have shape ()")
                return array[()]
            if tag == "$tensor":
                import torch

                return torch.from_numpy(array)
            return array
    except (ValueError, TypeError) as error:
        raise ProtocolError(f"malformed {tag}: {str(error)[:200]}") from None
    raise ProtocolError(f"unknown tag {tag!r} in a message")


def _list(node: Any) -> list[Any]:
    if not isinstance(node, list):
        raise ProtocolError(f"expected a list, got {type(node).__name__}")
    return node


def _str(node: Any) -> str:
    if not isinstance(node, str):
        raise ProtocolError(f"expected a string, got {type(node).__name__}")
    return node


def _number(node: Any) -> float:
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise ProtocolError(f"expected a number, got {type(node).__name__}")
    return float(node)


def _decode_array(body: Any) -> np.ndarray:
    dtype_text, shape, data = _list(body)
    dtype = np.dtype(_str(dtype_text))
    if dtype.kind not in _NUMERIC or dtype.hasobject or dtype.itemsize > 16:
        raise ProtocolError(f"arrays of dtype {dtype} are not accepted")
    shape = _list(shape)
    if len(shape) > 32 or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ProtocolError(f"bad array shape {shape!r}")
    raw = base64.b64decode(_str(data), validate=True)
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise ProtocolError(
            f"array of shape {shape} and dtype {dtype} does not fit its {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype).reshape(shape).copy()
