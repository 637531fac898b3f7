"""SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012) on one
8-byte block: the tag of a Python int, and the tags of a uint64 array as numpy passes.

:class:`games.crypto.primitives.SipHashPRF` is the catalogue's PRF over it. A message of
8 bytes is one compression block and the length block (8 in the top byte), two SipRounds
each, then four finalisation rounds: eight SipRounds of additions, rotations and xors on
64-bit words, which numpy runs over all points at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tag", "tags"]

#: SipHash's initial-state constants ("somepseudorandomlygeneratedbytes" as four words), in
#: the batched state's order: v0 and v2 (xored with k0), then v1 and v3 (with k1).
_SIP_CONSTANTS = (0x736F6D6570736575, 0x6C7967656E657261, 0x646F72616E646F6D, 0x7465646279746573)
#: The length block of an 8-byte message: the length in the top byte, no tail bytes.
_SIP_LENGTH8 = 8 << 56
_U64 = (1 << 64) - 1


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _U64


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    """One SipRound on Python ints."""
    v0 = (v0 + v1) & _U64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _U64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _U64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _U64
    v1 = _rotl(v1, 17) ^ v2
    return v0, v1, _rotl(v2, 32), v3


# The batched state is one (2, 2, N) array: A = (v0, v2) and B = (v1, v3), so each SipRound
# step that treats two words alike is one numpy call on a pair (rotations by per-row amounts).
_ROTATE = tuple(np.array(r, dtype=np.uint64).reshape(2, 1) for r in ((13, 16), (17, 21)))
_UNROTATE = tuple(np.uint64(64) - r for r in _ROTATE)
_HALF = np.array(32, dtype=np.uint64)  # a 0-d array: numpy takes it faster than a scalar
#: Below this many points the per-row rotation amounts are spelled out at full width
#: (numpy's small-array loops run twice as fast without the broadcast), above it broadcast.
_SIP_SPELL_OUT = 1 << 13
_SIP_STATE = np.array(_SIP_CONSTANTS, dtype=np.uint64).reshape(2, 2, 1)
#: Points per numpy pass: the state and a temporary stay in cache.
_SIP_CHUNK = 1 << 16


def _rotations(count: int) -> tuple[np.ndarray, ...]:
    """The pair rotations' amounts (13, 16), (17, 21) and their complements to 64, as
    (2, 1) columns or, below :data:`_SIP_SPELL_OUT` points, spelled out to (2, count)."""
    amounts = (*_ROTATE, *_UNROTATE)
    if count < _SIP_SPELL_OUT:
        amounts = tuple(np.repeat(r, count, axis=1) for r in amounts)
    return amounts


def _sip_rounds(
    state: np.ndarray, tmp: np.ndarray, count: int, amounts: tuple[np.ndarray, ...]
) -> None:
    """``count`` SipRounds in place on the (2, 2, N) state (``tmp``: a (2, N) scratch;
    ``amounts``: :func:`_rotations`).

    A rotation left by r is (x << r) | (x >> (64 − r)) through ``tmp``; the calls are
    written out (no helper) because at a few hundred points Python's call overhead shows.
    """
    a, b = state[0], state[1]
    v0, v2, t = a[0], a[1], tmp[0]
    flipped = a[::-1]  # (v2, v0): the second half-round pairs v2 with v1 and v0 with v3
    shr, shl, bor = np.right_shift, np.left_shift, np.bitwise_or
    r1, r2, u1, u2 = amounts
    halves = ((a, r1, u1, v0), (flipped, r2, u2, v2))
    for _ in range(count):
        for pair, rotate, unrotate, word in halves:
            pair += b  # v0 += v1, v2 += v3; then v2 += v1, v0 += v3
            shr(b, unrotate, out=tmp)
            shl(b, rotate, out=b)
            bor(b, tmp, out=b)  # v1 <<<= 13, v3 <<<= 16; then v1 <<<= 17, v3 <<<= 21
            b ^= pair
            shr(word, _HALF, out=t)
            shl(word, _HALF, out=word)
            bor(word, t, out=word)  # v0 <<<= 32; then v2 <<<= 32


def tag(k0: int, k1: int, x: int) -> int:
    """The 64-bit SipHash-2-4 tag of the 8-byte little-endian encoding of ``x`` under the
    key words ``k0``, ``k1`` (Python ints)."""
    c0, c2, c1, c3 = _SIP_CONSTANTS
    v0, v1, v2, v3 = k0 ^ c0, k1 ^ c1, k0 ^ c2, k1 ^ c3
    for block in (x, _SIP_LENGTH8):  # two compression rounds per block
        v3 ^= block
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= block
    v2 ^= 0xFF
    for _ in range(4):  # four finalisation rounds
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def tags(words: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The 64-bit tags of points ``x`` (N,) uint64 under keys ``words`` (N, 2: k0, k1), in
    numpy passes of :data:`_SIP_CHUNK` points."""
    out = np.empty(x.size, dtype=np.uint64)
    for start in range(0, x.size, _SIP_CHUNK):
        part = slice(start, start + _SIP_CHUNK)
        _siphash(words[part], x[part], out[part])
    return out


def _siphash(words: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """SipHash-2-4 tags of 8-byte points ``x`` (N,) under keys ``words`` (N, 2: k0, k1),
    written to ``out``."""
    state = np.empty((2, 2, len(x)), dtype=np.uint64)
    np.bitwise_xor(words[:, 0], _SIP_STATE[0], out=state[0])  # v0, v2 from k0
    np.bitwise_xor(words[:, 1], _SIP_STATE[1], out=state[1])  # v1, v3 from k1
    tmp = np.empty((2, len(x)), dtype=np.uint64)
    amounts = _rotations(len(x))
    for block in (x, np.uint64(_SIP_LENGTH8)):  # two compression rounds per block
        state[1, 1] ^= block
        _sip_rounds(state, tmp, 2, amounts)
        state[0, 0] ^= block
    state[0, 1] ^= np.uint64(0xFF)
    _sip_rounds(state, tmp, 4, amounts)  # four finalisation rounds
    np.bitwise_xor(state[0, 0], state[0, 1], out=out)
    np.bitwise_xor(state[1, 0], state[1, 1], out=state[1, 0])
    out ^= state[1, 0]
