"""Classic encryption schemes and MACs over n-bit blocks, one numpy code path for one or many keys.

A message is a uint64 array of shape ``(*B, L)``: L blocks of n bits, with ``B`` empty on
the per-trial path and ``(trials,)`` on the batched one. Keys carry the same leading
axes (see :mod:`games.crypto.primitives`). Ciphertexts of the randomised schemes start
with their IV or nonce, so they have L + 1 blocks.

Encryption: ``ecb`` (deterministic, the block cipher on each block), ``cbc`` (random IV),
``ctr`` (random nonce, keystream PRF(nonce + i)) and ``ctr-nonce-reuse``, a planted bug:
every message is encrypted under the same nonce, 0. MACs: ``prf-mac`` (one block,
tag = PRF_k(m)), ``cbc-mac`` (secure for one fixed length only) and ``hmac``
(HMAC-SHA256 truncated to n bits).
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar, TypeAlias

import attrs
import numpy as np

from games.crypto.primitives import (
    PRF_NAMES,
    BuiltinPRF,
    Feistel,
    as_blocks,
    check_block_bits,
    get_prf,
    mask,
    uniform_blocks,
)
from oracles import InvalidArgument, checks

__all__ = [
    "CBC",
    "CTR",
    "ECB",
    "ENCRYPTION_SCHEMES",
    "HMAC",
    "MAC_SCHEMES",
    "CBCMac",
    "EncryptionScheme",
    "MacScheme",
    "PRFMac",
    "encryption_scheme",
    "mac_scheme",
]

ENCRYPTION_SCHEMES = ("ecb", "cbc", "ctr", "ctr-nonce-reuse")
MAC_SCHEMES = ("prf-mac", "cbc-mac", "hmac")


def _bits(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    check_block_bits(value, attribute.name)


def _prf_name(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    checks.choice(attribute.name, value, PRF_NAMES)


def _message(
    key: np.ndarray, m: Any, key_shape: tuple[int, ...], n: int, name: str = "message"
) -> np.ndarray:
    """``m`` as blocks whose leading axes match the key stack, with at least one block."""
    key_shape_here = key.shape[key.ndim - len(key_shape) :]
    if key_shape_here != key_shape:
        raise InvalidArgument(f"key of shape {key.shape} must end with {key_shape}")
    blocks = as_blocks(m, n, name)
    lead = key.shape[: key.ndim - len(key_shape)]
    if blocks.ndim != len(lead) + 1 or blocks.shape[:-1] != lead:
        raise InvalidArgument(
            f"{name} of shape {blocks.shape} must have shape {(*lead, 'L')} (L blocks per key)"
        )
    if blocks.shape[-1] < 1:
        raise InvalidArgument(f"{name} must have at least one block")
    return blocks


def _key(key: Any) -> np.ndarray:
    return np.asarray(key, dtype=np.uint64)


def _scalar_or_array(value: np.ndarray) -> Any:
    return int(value) if value.ndim == 0 else value


@attrs.frozen(kw_only=True)
class _Keyed:
    """A scheme on ``n``-bit blocks whose key is its primitive's key (``prf`` names the PRF)."""

    n: int = attrs.field(validator=_bits)
    prf: str = attrs.field(default="blake2", validator=_prf_name)

    @property
    def _primitive(self) -> Feistel | BuiltinPRF:
        raise NotImplementedError

    @property
    def key_shape(self) -> tuple[int, ...]:
        return self._primitive.key_shape

    def keygen(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """A fresh key, or ``size`` of them stacked on a leading axis."""
        return self._primitive.keygen(rng, size)


@attrs.frozen(kw_only=True)
class _BlockCipherScheme(_Keyed):
    rounds: int = attrs.field(default=4)
    cipher: Feistel = attrs.field(init=False, repr=False)

    @cipher.default
    def _cipher(self) -> Feistel:
        return Feistel(n=self.n, rounds=self.rounds, prf=self.prf)

    @property
    def _primitive(self) -> Feistel:
        return self.cipher


@attrs.frozen(kw_only=True)
class ECB(_BlockCipherScheme):
    """Electronic codebook: each block through the Feistel cipher; deterministic, so not IND-CPA."""

    name: ClassVar[str] = "ecb"

    def enc(self, key: Any, m: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        key = _key(key)
        return self.cipher.encrypt(key, _message(key, m, self.key_shape, self.n))

    def dec(self, key: Any, c: Any) -> np.ndarray:
        key = _key(key)
        return self.cipher.decrypt(key, _message(key, c, self.key_shape, self.n, "ciphertext"))


@attrs.frozen(kw_only=True)
class CBC(_BlockCipherScheme):
    """Cipher block chaining with a uniformly random IV sent as the first ciphertext block."""

    name: ClassVar[str] = "cbc"

    def enc(self, key: Any, m: Any, rng: np.random.Generator) -> np.ndarray:
        key = _key(key)
        m = _message(key, m, self.key_shape, self.n)
        previous = np.asarray(uniform_blocks(rng, self.n, m.shape[:-1]), dtype=np.uint64)
        out = [previous]
        for i in range(m.shape[-1]):
            previous = np.asarray(self.cipher.encrypt(key, m[..., i] ^ previous), dtype=np.uint64)
            out.append(previous)
        return np.stack(out, axis=-1)

    def dec(self, key: Any, c: Any) -> np.ndarray:
        key = _key(key)
        c = _message(key, c, self.key_shape, self.n, "ciphertext")
        if c.shape[-1] < 2:
            raise InvalidArgument("ciphertext must have an IV and at least one block")
        return self.cipher.decrypt(key, c[..., 1:]) ^ c[..., :-1]


@attrs.frozen(kw_only=True)
class _OverPRF(_Keyed):
    """A scheme over one n-bit PRF (``prf`` names it): its key is the PRF's key."""

    function: BuiltinPRF = attrs.field(init=False, repr=False)

    @function.default
    def _function(self) -> BuiltinPRF:
        # Defaults are computed before validators run, so check n here to name it in the error.
        check_block_bits(self.n)
        return get_prf(self.prf, self.n)

    @property
    def _primitive(self) -> BuiltinPRF:
        return self.function


@attrs.frozen(kw_only=True)
class CTR(_OverPRF):
    """Counter mode: block i is m_i ⊕ PRF_k(nonce + i mod 2**n), the nonce sent first.

    With ``nonce_reuse`` the nonce is 0 for every message (the planted bug of
    ``ctr-nonce-reuse``): the keystream repeats, so two ciphertexts XOR to the XOR of
    their messages.
    """

    nonce_reuse: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    @property
    def name(self) -> str:
        return "ctr-nonce-reuse" if self.nonce_reuse else "ctr"

    def keystream(self, key: np.ndarray, nonce: np.ndarray, length: int) -> np.ndarray:
        """PRF_k(nonce + i) for i < length, shape ``(*nonce.shape, length)``."""
        counters = (nonce[..., None] + np.arange(length, dtype=np.uint64)) & np.uint64(mask(self.n))
        return self.function.evaluate(key, counters)

    def enc(self, key: Any, m: Any, rng: np.random.Generator) -> np.ndarray:
        key = _key(key)
        m = _message(key, m, self.key_shape, self.n)
        if self.nonce_reuse:
            nonce = np.zeros(m.shape[:-1], dtype=np.uint64)
        else:
            nonce = np.asarray(uniform_blocks(rng, self.n, m.shape[:-1]), dtype=np.uint64)
        body = m ^ self.keystream(key, nonce, m.shape[-1])
        return np.concatenate([nonce[..., None], body], axis=-1)

    def dec(self, key: Any, c: Any) -> np.ndarray:
        key = _key(key)
        c = _message(key, c, self.key_shape, self.n, "ciphertext")
        if c.shape[-1] < 2:
            raise InvalidArgument("ciphertext must have a nonce and at least one block")
        return c[..., 1:] ^ self.keystream(key, c[..., 0], c.shape[-1] - 1)


#: The encryption schemes :func:`encryption_scheme` builds.
EncryptionScheme: TypeAlias = ECB | CBC | CTR


def encryption_scheme(
    name: str, *, n: int, prf: str = "blake2", rounds: int = 4
) -> EncryptionScheme:
    """The encryption scheme called ``name`` (one of :data:`ENCRYPTION_SCHEMES`) on n-bit blocks.

    ``rounds`` is the number of Feistel rounds of the block cipher (ecb, cbc); ``prf`` the
    PRF under the Feistel rounds or the counter-mode keystream.
    """
    checks.choice("scheme", name, ENCRYPTION_SCHEMES)
    if name == "ecb":
        return ECB(n=n, prf=prf, rounds=rounds)
    if name == "cbc":
        return CBC(n=n, prf=prf, rounds=rounds)
    return CTR(n=n, prf=prf, nonce_reuse=name == "ctr-nonce-reuse")


# -- MACs ---------------------------------------------------------------------------------


class _MacBase:
    n: int

    @property
    def key_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def tag(self, key: Any, m: Any) -> Any:
        raise NotImplementedError

    def verify(self, key: Any, m: Any, t: Any) -> Any:
        """Whether ``t`` is the tag of ``m``: a bool per trial, or a bool array for a key stack."""
        expected = self.tag(key, m)
        if isinstance(expected, int):
            return (
                isinstance(t, int | np.integer) and not isinstance(t, bool) and int(t) == expected
            )
        return np.asarray(t, dtype=np.uint64) == expected


@attrs.frozen(kw_only=True)
class PRFMac(_OverPRF, _MacBase):
    """tag = PRF_k(m) for one-block messages: a secure MAC whenever the PRF is secure."""

    name: ClassVar[str] = "prf-mac"

    def tag(self, key: Any, m: Any) -> Any:
        """The tag: an int for one key and an (L,)-message, an array for a key stack."""
        key = _key(key)
        m = _message(key, m, self.key_shape, self.n)
        if m.shape[-1] != 1:
            raise InvalidArgument(f"prf-mac signs one-block messages, got {m.shape[-1]} blocks")
        return _scalar_or_array(self.function.evaluate(key, m[..., 0]))


@attrs.frozen(kw_only=True)
class CBCMac(_BlockCipherScheme, _MacBase):
    """CBC-MAC with a zero IV: the last CBC block. Secure for one fixed length only:
    knowing the tag t of m, the two-block message m ‖ (m ⊕ t) has tag t too.
    """

    name: ClassVar[str] = "cbc-mac"

    def tag(self, key: Any, m: Any) -> Any:
        key = _key(key)
        m = _message(key, m, self.key_shape, self.n)
        state = np.zeros(m.shape[:-1], dtype=np.uint64)
        for i in range(m.shape[-1]):
            state = np.asarray(self.cipher.encrypt(key, m[..., i] ^ state), dtype=np.uint64)
        return _scalar_or_array(state)


@attrs.frozen(kw_only=True)
class HMAC(_MacBase):
    """HMAC-SHA256 with a 128-bit key over the blocks' 8-byte encodings, truncated to n bits."""

    name: ClassVar[str] = "hmac"
    n: int = attrs.field(validator=_bits)

    @property
    def key_shape(self) -> tuple[int, ...]:
        return (2,)

    def keygen(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        if size is not None:
            size = checks.positive("size", size)
        shape = self.key_shape if size is None else (size, *self.key_shape)
        return rng.integers(0, 1 << 64, size=shape, dtype=np.uint64)

    def tag(self, key: Any, m: Any) -> Any:
        key = _key(key)
        m = _message(key, m, self.key_shape, self.n)
        keys = key.reshape(-1, 2).astype("<u8")
        messages = m.reshape(len(keys), -1).astype("<u8")
        digest = hmac.digest
        tags = b"".join(
            [
                digest(k.tobytes(), row.tobytes(), "sha256")[:8]
                for k, row in zip(keys, messages, strict=True)
            ]
        )
        out = np.frombuffer(tags, dtype="<u8").astype(np.uint64) & np.uint64(mask(self.n))
        return _scalar_or_array(out.reshape(m.shape[:-1]))


#: The MACs :func:`mac_scheme` builds.
MacScheme: TypeAlias = PRFMac | CBCMac | HMAC


def mac_scheme(name: str, *, n: int, prf: str = "blake2", rounds: int = 4) -> MacScheme:
    """The MAC called ``name`` (one of :data:`MAC_SCHEMES`) with n-bit tags."""
    checks.choice("mac", name, MAC_SCHEMES)
    if name == "prf-mac":
        return PRFMac(n=n, prf=prf)
    if name == "cbc-mac":
        return CBCMac(n=n, prf=prf, rounds=rounds)
    return HMAC(n=n)
