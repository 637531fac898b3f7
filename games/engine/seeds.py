"""Every random stream of a run, derived from the run's seed in one place.

A run's seed ``s`` is first turned into a 256-bit run key ``K = BLAKE2b(s)``. Each stream is
then keyed by ``BLAKE2b(role, position; key=K)`` — a pseudorandom function of the seed — and
drives numpy's PCG64 directly:

========================  ==================================  ===========================
stream                    role and position                   used by
========================  ==================================  ===========================
trial *i*, challenger     ``challenger``, (i,)                the game's ``setup``
trial *i*, adversary      ``adversary``, (i,)                 the adversary
chunk [a, b), challenger  ``challenger-batch``, (a, b)        ``setup_batch``
chunk [a, b), adversary   ``adversary-batch``, (a, b)         the adversary's ``batch``
a named purpose           the purpose's name, (k, ...)        audits' splits, sweep points
========================  ==================================  ===========================

So trial *i* of seed *s* is the same trial whatever the backend, worker count, chunking or
order, and can be replayed alone. The key is one-way: nothing reachable from the
adversary's generator (its state, its seed sequence) reveals the run's seed, the trial's
index or the challenger's stream. An adversary that can *guess* the seed can recompute the
challenger's coins, though, which is why runs without ``seed`` draw 128 random bits
(:func:`fresh_seed`) and why untrusted adversaries need an unguessable seed and isolation.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

from oracles import InvalidArgument

__all__ = [
    "ADVERSARY",
    "ADVERSARY_BATCH",
    "CHALLENGER",
    "CHALLENGER_BATCH",
    "SEED_BITS",
    "check_seed",
    "derive",
    "fresh_seed",
    "generator",
    "pair",
    "run_key",
]

SEED_BITS = 256  # seeds are integers in [0, 2**256)
CHALLENGER, ADVERSARY = b"challenger", b"adversary"
CHALLENGER_BATCH, ADVERSARY_BATCH = b"challenger-batch", b"adversary-batch"


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int, or :class:`InvalidArgument` naming its range."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidArgument(f"{name}={seed!r} must be a non-negative integer")
    if int(seed).bit_length() > SEED_BITS:
        raise InvalidArgument(f"{name}={seed!r} must be below 2**{SEED_BITS}")
    return int(seed)


def fresh_seed() -> int:
    """A 128-bit seed from the operating system, for runs that were given none."""
    return secrets.randbits(128)


_KEYS: dict[int, bytes] = {}


def run_key(seed: int) -> bytes:
    """The run's 256-bit key: BLAKE2b of the seed (cached: a run asks for it per chunk)."""
    key = _KEYS.get(seed)
    if key is None:
        if len(_KEYS) > 256:
            _KEYS.clear()
        data = seed.to_bytes(SEED_BITS // 8, "little")
        key = _KEYS[seed] = hashlib.blake2b(data, digest_size=32, person=b"advantage.seed").digest()
    return key


def _position(position: tuple[int, ...]) -> bytes:
    # A trial's index or a chunk's bounds: the common cases, without a generator's cost.
    if len(position) == 1:
        return int(position[0]).to_bytes(16, "little", signed=True)
    if len(position) == 2:
        first, second = position
        return int(first).to_bytes(16, "little", signed=True) + int(second).to_bytes(
            16, "little", signed=True
        )
    return b"".join(int(p).to_bytes(16, "little", signed=True) for p in position)


class _Key(ISpawnableSeedSequence):
    """A seed sequence that hands PCG64 256 bits derived by a PRF (cheaper than SeedSequence).

    ``spawn`` gives numpy ``SeedSequence`` children of these bits, so a game may call
    ``rng.spawn(n)`` as with any generator.
    """

    __slots__ = ("_bits", "n_children_spawned")

    def __init__(self, digest: bytes) -> None:
        self._bits = bytes(digest)
        self.n_children_spawned = 0

    @property
    def words(self) -> np.ndarray:
        """The 256 bits as eight 32-bit words."""
        return np.frombuffer(self._bits, np.uint32)

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words == 4 and dtype is np.uint64:  # what PCG64 asks for: the 256 bits as they are
            return np.frombuffer(bytearray(self._bits), np.uint64)
        words = self.words
        need = n_words * (2 if np.dtype(dtype) == np.uint64 else 1)
        if need > len(words):  # more than PCG64 asks for: let SeedSequence stretch it
            return np.random.SeedSequence(self._entropy()).generate_state(n_words, dtype)
        return words[:need].view(dtype).copy()

    def _entropy(self) -> int:
        return int.from_bytes(self._bits, "little")

    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:  # type: ignore[override]
        entropy = self._entropy()
        first = self.n_children_spawned
        self.n_children_spawned += n_children
        return [
            np.random.SeedSequence(entropy, spawn_key=(k,))
            for k in range(first, first + n_children)
        ]


_Generator, _PCG64 = np.random.Generator, np.random.PCG64


def generator(seed: int, role: bytes, *position: int) -> np.random.Generator:
    """The generator of one stream: ``role`` (a purpose's name, at most 16 bytes) at ``position``."""
    return _Generator(_PCG64(_Key(_keyed(seed, role, _position(position)))))  # type: ignore[arg-type]


_HASHES: dict[tuple[int, bytes], Any] = {}


def _keyed(seed: int, role: bytes, position: bytes) -> bytes:
    """The key of ``role``'s stream at ``position`` (as bytes): BLAKE2b keyed by the run's key."""
    base = _HASHES.get((seed, role))
    if base is None:
        if len(role) > 16:
            raise InvalidArgument(f"role={role!r} must be at most 16 bytes")
        if len(_HASHES) > 1024:
            _HASHES.clear()
        # Keyed once per (run, role): a copy per stream skips hashing the key's block again.
        base = _HASHES[seed, role] = hashlib.blake2b(digest_size=32, key=run_key(seed), person=role)
    h = base.copy()
    h.update(position)
    return h.digest()


def _digest(seed: int, role: bytes, position: tuple[int, ...]) -> bytes:
    return _keyed(seed, role, _position(position))


def derive(seed: int, role: bytes, *position: int) -> int:
    """A seed for a sub-run (a sweep's budget point, say): 128 bits of the stream's key."""
    return int.from_bytes(_digest(seed, role, position)[:16], "little")


def pair(
    seed: int, *position: int, batch: bool = False
) -> tuple[np.random.Generator, np.random.Generator]:
    """The challenger's and the adversary's generators of a trial (or of a chunk's batch)."""
    at = _position(position)
    challenger, adversary = (
        (CHALLENGER_BATCH, ADVERSARY_BATCH) if batch else (CHALLENGER, ADVERSARY)
    )
    return (
        _Generator(_PCG64(_Key(_keyed(seed, challenger, at)))),  # type: ignore[arg-type]
        _Generator(_PCG64(_Key(_keyed(seed, adversary, at)))),  # type: ignore[arg-type]
    )
