"""Block-level primitives: n-bit PRFs (keyed BLAKE2b, SipHash-2-4, a weak GF(2)-affine map) and Feistel.

n-bit blocks are Python ints in [0, 2**n) on the per-trial path and ``numpy.uint64`` arrays
on the batched path. n runs from 8 to 64 so that birthday effects show at query counts
that run in seconds.

Keys are ``uint64`` arrays whose last axes are the key's own shape; any leading axes are
independent keys (one per trial). Every evaluation broadcasts keys of shape ``(*B, *K)``
against inputs of shape ``(*B, *rest)``, so one function serves both paths: a single key
with a Python int, a single key with an array of points, or a stack of keys with one row
of points per key.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Protocol, TypeAlias

import attrs
import numpy as np

from games.base import short
from games.crypto import siphash
from oracles import InvalidArgument, checks

__all__ = [
    "BLOCK_BITS",
    "PRF_NAMES",
    "PRF",
    "Blake2PRF",
    "BuiltinPRF",
    "SipHashPRF",
    "Feistel",
    "LinearPRF",
    "ToyLinearPRF",
    "as_blocks",
    "check_block_bits",
    "get_prf",
    "mask",
    "uniform_blocks",
]

BLOCK_BITS = (8, 64)
PRF_NAMES = ("blake2", "siphash", "toy-linear")


def mask(bits: int) -> int:
    """The all-ones ``bits``-bit value."""
    return (1 << bits) - 1


def check_block_bits(n: Any, name: str = "n") -> int:
    """``n`` as a block size in bits, or :class:`InvalidArgument` naming ``name``."""
    return checks.integer(name, n, *BLOCK_BITS)


def _bits_field() -> Any:
    return attrs.field(validator=lambda _s, a, v: checks.integer(a.name, v, 1, 64))


def uniform_blocks(rng: np.random.Generator, bits: int, size: Any = None) -> Any:
    """Uniform ``bits``-bit values: a Python int when ``size`` is None, else a uint64 array."""
    if size is None:
        return int(rng.integers(0, 1 << bits, dtype=np.uint64))
    return rng.integers(0, 1 << bits, size=size, dtype=np.uint64)


def as_blocks(value: Any, bits: int, name: str = "message") -> np.ndarray:
    """``value`` (an int, a sequence or an array of ints) as a uint64 array of ``bits``-bit blocks.

    Python ints (and sequences of them) convert exactly: numpy alone would read
    ``[1, 2**63]`` as float64. Raises :class:`InvalidArgument` when a block is negative,
    too large or not an integer.
    """
    if isinstance(value, np.ndarray) and value.dtype == np.uint64:
        blocks = value
    else:
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError, OverflowError):
            raw = np.asarray(None)
        if raw.dtype.kind in "iub":
            if raw.dtype.kind == "i" and raw.size and raw.min() < 0:
                raise _not_blocks(value, bits, name)
            blocks = raw.astype(np.uint64)
        elif raw.size == 0 and not isinstance(value, np.ndarray):
            blocks = raw.astype(np.uint64)  # [] reads as float64
        else:  # not integers, or Python ints that numpy read as float64 or object
            blocks = _exact_blocks(value, bits, name)
    # max() is one pass with no array made: the check runs on every batched query.
    if bits < 64 and blocks.size and (top := int(blocks.max())) >> bits:
        raise InvalidArgument(f"{name} holds {top}, outside [0, 2**{bits})")
    return blocks


def _exact_blocks(value: Any, bits: int, name: str) -> np.ndarray:
    """Python ints, or (nested) sequences of ints, as uint64 blocks, each checked exactly."""
    try:
        cells = np.array(value, dtype=object)
    except (TypeError, ValueError):
        raise _not_blocks(value, bits, name) from None
    for cell in cells.flat:
        if not isinstance(cell, int | np.integer | np.bool_) or not 0 <= cell < _BLOCK_LIMIT:
            raise _not_blocks(value, bits, name)
    return cells.astype(np.uint64)


_BLOCK_LIMIT = 1 << 64


def _not_blocks(value: Any, bits: int, name: str) -> InvalidArgument:
    return InvalidArgument(f"{name}={short(value)} must hold integers in [0, 2**{bits})")


def _flat(key: np.ndarray, x: np.ndarray, key_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys as (K, *key) and points as (K, M), pairing key k with row k of the points."""
    lead = key.shape[: key.ndim - key_ndim]
    if x.shape[: len(lead)] != lead:
        raise InvalidArgument(
            f"points of shape {x.shape} do not start with the key batch shape {lead}"
        )
    count = int(np.prod(lead, dtype=np.int64))
    return key.reshape((count, *key.shape[key.ndim - key_ndim :])), x.reshape(count, -1)


class PRF(Protocol):
    """A keyed function from ``in_bits``-bit to ``out_bits``-bit strings."""

    name: ClassVar[str]
    in_bits: int
    out_bits: int

    @property
    def key_shape(self) -> tuple[int, ...]: ...

    def keygen(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray: ...

    def __call__(self, key: np.ndarray, x: Any) -> Any: ...

    def evaluate(self, key: np.ndarray, x: np.ndarray) -> np.ndarray: ...


class _PRFBase:
    """Shared front end: argument checks, the scalar path, and broadcasting over keys."""

    in_bits: int
    out_bits: int

    @property
    def key_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def keygen(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """A fresh key (shape ``key_shape``), or ``size`` of them stacked."""
        shape = self.key_shape if size is None else (checks.positive("size", size), *self.key_shape)
        return self._keygen(rng, shape)

    def _keygen(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, key: np.ndarray, x: Any) -> Any:
        """F_key(x): a Python int for an int ``x``, else a uint64 array shaped like ``x``."""
        key = np.asarray(key, dtype=np.uint64)
        if isinstance(x, int | np.integer) and not isinstance(x, bool):
            if key.shape != self.key_shape:
                raise InvalidArgument(f"key of shape {key.shape} must have shape {self.key_shape}")
            if not 0 <= x <= mask(self.in_bits):
                raise InvalidArgument(f"x={x!r} must be an integer in [0, 2**{self.in_bits})")
            return self._scalar(key, int(x))
        return self.evaluate(key, as_blocks(x, self.in_bits, "x"))

    def evaluate(self, key: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The batched path, without range checks: keys (*B, *key_shape), points (*B, ...)."""
        if key.shape[key.ndim - len(self.key_shape) :] != self.key_shape:
            raise InvalidArgument(f"key of shape {key.shape} must end with {self.key_shape}")
        keys, points = _flat(key, x, len(self.key_shape))
        return self._rows(keys, points).reshape(x.shape)

    def _scalar(self, key: np.ndarray, x: int) -> int:
        raise NotImplementedError

    def _rows(self, keys: np.ndarray, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _Key128(_PRFBase):
    """A PRF keyed by 128 uniform bits: two uint64 words."""

    @property
    def key_shape(self) -> tuple[int, ...]:
        return (2,)

    def _keygen(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(0, 1 << 64, size=shape, dtype=np.uint64)


@attrs.frozen(kw_only=True)
class Blake2PRF(_Key128):
    """Keyed BLAKE2b truncated to ``out_bits`` bits: the stand-in for a secure PRF.

    The key is 128 bits (two uint64 words); a point is hashed as its 8-byte little-endian
    encoding, and the output keeps the low ``out_bits`` bits of the 64-bit digest.
    """

    name: ClassVar[str] = "blake2"
    in_bits: int = _bits_field()
    out_bits: int = _bits_field()

    def _scalar(self, key: np.ndarray, x: int) -> int:
        digest = hashlib.blake2b(
            x.to_bytes(8, "little"), key=key.astype("<u8").tobytes(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "little") & mask(self.out_bits)

    def _rows(self, keys: np.ndarray, points: np.ndarray) -> np.ndarray:
        count, width = points.shape
        key_bytes = keys.astype("<u8").tobytes()
        point_bytes = points.astype("<u8").tobytes()
        blake2b = hashlib.blake2b
        if width == 1:
            digests = b"".join(
                [
                    blake2b(
                        point_bytes[8 * i : 8 * i + 8],
                        key=key_bytes[16 * i : 16 * i + 16],
                        digest_size=8,
                    ).digest()
                    for i in range(count)
                ]
            )
        else:
            # Hashing the key block once per key and copying the state saves a compression per point.
            parts = []
            for i in range(count):
                copy = blake2b(key=key_bytes[16 * i : 16 * i + 16], digest_size=8).copy
                row = point_bytes[8 * width * i : 8 * width * (i + 1)]
                for j in range(0, 8 * width, 8):
                    state = copy()
                    state.update(row[j : j + 8])
                    parts.append(state.digest())
            digests = b"".join(parts)
        out = np.frombuffer(digests, dtype="<u8").astype(np.uint64).reshape(count, width)
        return out & np.uint64(mask(self.out_bits))


@attrs.frozen(kw_only=True)
class ToyLinearPRF(_PRFBase):
    """The weak PRF x ↦ Kx ⊕ c over GF(2), with K a random ``out_bits``×``in_bits`` bit matrix.

    Weak on purpose: F(x⊕y) = F(x) ⊕ F(y) ⊕ F(0), so a handful of queries predicts it.
    The key holds the rows of K packed as uint64 words, then the constant c (zero when
    ``affine`` is False); output bit j is the parity of ``row_j & x``.
    """

    name: ClassVar[str] = "toy-linear"
    in_bits: int = _bits_field()
    out_bits: int = _bits_field()
    affine: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    @property
    def key_shape(self) -> tuple[int, ...]:
        return (self.out_bits + 1,)

    def _keygen(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        key = rng.integers(0, 1 << 64, size=shape, dtype=np.uint64)
        key[..., :-1] &= np.uint64(mask(self.in_bits))
        key[..., -1] &= np.uint64(mask(self.out_bits) if self.affine else 0)
        return key

    def _scalar(self, key: np.ndarray, x: int) -> int:
        *rows, constant = key.tolist()
        out = constant
        for j, row in enumerate(rows):
            out ^= ((row & x).bit_count() & 1) << j
        return out

    def _rows(self, keys: np.ndarray, points: np.ndarray) -> np.ndarray:
        if points.size <= 8:
            # A per-trial message has a few blocks: Python ints beat a numpy pass per output bit.
            rows = [
                [self._scalar(key, x) for x in row]
                for key, row in zip(keys, points.tolist(), strict=True)
            ]
            return np.array(rows, dtype=np.uint64).reshape(points.shape)
        out = np.broadcast_to(keys[:, -1:], points.shape).copy()
        one = np.uint64(1)
        for j in range(self.out_bits):
            parity = np.bitwise_count(keys[:, j : j + 1] & points).astype(np.uint64) & one
            out ^= parity << np.uint64(j)
        return out


@attrs.frozen(kw_only=True)
class SipHashPRF(_Key128):
    """SipHash-2-4 (Aumasson & Bernstein 2012) truncated to ``out_bits`` bits.

    A PRF built for short inputs, with a 128-bit key (two uint64 words, k0 then k1); a
    point is hashed as its 8-byte little-endian encoding and the output keeps the low
    ``out_bits`` bits of the 64-bit tag. Its rounds are additions, rotations and xors on
    64-bit words, so the batched path runs them as numpy passes over all points at once
    (about 40 ns a point; :mod:`games.crypto.siphash`) where keyed BLAKE2 makes one
    hashlib call per point.
    """

    name: ClassVar[str] = "siphash"
    in_bits: int = _bits_field()
    out_bits: int = _bits_field()

    def _scalar(self, key: np.ndarray, x: int) -> int:
        k0, k1 = key.tolist()
        return siphash.tag(k0, k1, x) & mask(self.out_bits)

    def _rows(self, keys: np.ndarray, points: np.ndarray) -> np.ndarray:
        count, width = points.shape
        # Each point's key words (a view, no copy, for one key and many points).
        words = np.broadcast_to(keys[:, None, :], (count, width, 2)).reshape(-1, 2)
        out = siphash.tags(words, points.reshape(-1))
        if self.out_bits < 64:
            out &= np.uint64(mask(self.out_bits))
        return out.reshape(count, width)


#: The old name of :class:`ToyLinearPRF` (``adversaries.crypto.LinearPRF`` is the attack on it).
LinearPRF = ToyLinearPRF

#: The PRFs :func:`get_prf` builds.
BuiltinPRF: TypeAlias = Blake2PRF | SipHashPRF | ToyLinearPRF

_PRFS: dict[str, type[BuiltinPRF]] = {
    "blake2": Blake2PRF,
    "siphash": SipHashPRF,
    "toy-linear": ToyLinearPRF,
}


def get_prf(name: str, in_bits: int, out_bits: int | None = None) -> BuiltinPRF:
    """The PRF called ``name`` (one of :data:`PRF_NAMES`) from ``in_bits`` to ``out_bits`` bits."""
    checks.choice("prf", name, PRF_NAMES)
    return _PRFS[name](in_bits=in_bits, out_bits=in_bits if out_bits is None else out_bits)


def _check_feistel_bits(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    check_block_bits(value, attribute.name)
    if value % 2:
        raise InvalidArgument(f"{attribute.name}={value!r} must be even for a Feistel cipher")


@attrs.frozen(kw_only=True)
class Feistel:
    """A balanced Feistel permutation of n-bit blocks, each round a PRF with its own key.

    A round maps (L, R) to (R, L ⊕ F_i(R)) on n/2-bit halves; the key has shape
    ``(rounds, *round_key_shape)``. Three rounds over a secure PRF give a PRP, four a
    strong PRP (Luby–Rackoff); one or two are distinguishable with two queries.
    """

    n: int = attrs.field(validator=_check_feistel_bits)
    rounds: int = attrs.field(validator=lambda _s, a, v: checks.positive(a.name, v))
    prf: str = attrs.field(default="blake2")
    round_function: BuiltinPRF = attrs.field(init=False, repr=False)

    @prf.validator
    def _check_prf(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.choice("prf", value, PRF_NAMES)

    @round_function.default
    def _round_function(self) -> BuiltinPRF:
        # Defaults are computed before validators run, so check n here to name it in the error.
        _check_feistel_bits(self, attrs.fields(Feistel).n, self.n)
        return get_prf(self.prf, self.n // 2)

    @property
    def key_shape(self) -> tuple[int, ...]:
        return (self.rounds, *self.round_function.key_shape)

    def keygen(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """Independent round keys: shape ``key_shape``, or ``(size, *key_shape)``."""
        if size is None:
            return self.round_function.keygen(rng, self.rounds)
        size = checks.positive("size", size)
        return self.round_function.keygen(rng, size * self.rounds).reshape(size, *self.key_shape)

    def _split(self, key: Any, x: Any) -> tuple[np.ndarray, Any, bool]:
        key = np.asarray(key, dtype=np.uint64)
        if key.shape[key.ndim - len(self.key_shape) :] != self.key_shape:
            raise InvalidArgument(f"key of shape {key.shape} must end with {self.key_shape}")
        scalar = isinstance(x, int | np.integer) and not isinstance(x, bool)
        if scalar:
            if key.ndim != len(self.key_shape):
                raise InvalidArgument("an int block needs a single key, not a stack of keys")
            if not 0 <= x <= mask(self.n):
                raise InvalidArgument(f"x={x!r} must be an integer in [0, 2**{self.n})")
            return key, int(x), True
        return key, as_blocks(x, self.n, "x"), False

    def encrypt(self, key: Any, x: Any) -> Any:
        """E_key(x): a Python int for an int ``x``, else a uint64 array shaped like ``x``."""
        key, x, scalar = self._split(key, x)
        return self._run(key, x, scalar, range(self.rounds), inverse=False)

    __call__ = encrypt

    def decrypt(self, key: Any, y: Any) -> Any:
        """E_key^-1(y), the inverse of :meth:`encrypt`."""
        key, y, scalar = self._split(key, y)
        return self._run(key, y, scalar, range(self.rounds - 1, -1, -1), inverse=True)

    def _run(self, key: np.ndarray, x: Any, scalar: bool, order: range, inverse: bool) -> Any:
        half = self.n // 2
        f = self.round_function
        if scalar:
            left, right = x >> half, x & mask(half)
            for i in order:
                if inverse:
                    left, right = right ^ f._scalar(key[i], left), left
                else:
                    left, right = right, left ^ f._scalar(key[i], right)
            return (left << half) | right
        shift, low = np.uint64(half), np.uint64(mask(half))
        left, right = x >> shift, x & low
        round_axis = key.ndim - len(self.key_shape)
        for i in order:
            round_key = np.take(key, i, axis=round_axis)
            if inverse:
                left, right = right ^ f.evaluate(round_key, left), left
            else:
                left, right = right, left ^ f.evaluate(round_key, right)
        return (left << shift) | right
