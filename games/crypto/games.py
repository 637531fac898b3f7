"""The classic games: PRG, PRF and PRP security, IND-CPA, EUF-CMA and collision finding.

Every game has a per-trial path (oracles take Python ints or short sequences of blocks)
and a batched one (oracles take arrays whose first axis is the trial, one call answering
every trial and counting as one query of each). A query is one point or one message per
trial: an oracle never answers a whole array of points for one trial, so budgets count
what the adversary learns.

The game's parameters are public (Kerckhoffs): ``Challenge.public`` repeats them, so an
adversary can read the block size or the scheme's name.

Six games with both paths each, read side by side: the module is about 600 lines.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np

from games.base import IDEAL, REAL, Challenge, HiddenBit, RealIdeal, Search
from games.crypto.ideal import BatchRandomFunction, BatchRandomPermutation
from games.crypto.primitives import (
    PRF_NAMES,
    BuiltinPRF,
    Feistel,
    as_blocks,
    get_prf,
    uniform_blocks,
)
from games.crypto.schemes import (
    ENCRYPTION_SCHEMES,
    MAC_SCHEMES,
    EncryptionScheme,
    MacScheme,
    encryption_scheme,
    mac_scheme,
)
from games.errors import InvalidAnswer
from games.params import integer, param
from games.registry import register
from oracles import InvalidArgument, RandomFunction, RandomPermutation

__all__ = [
    "Collision",
    "EufCMA",
    "IndCPA",
    "PRFSecurity",
    "PRGSecurity",
    "PRPSecurity",
    "check_point",
    "check_points",
    "message",
    "messages",
]

_N = functools.partial(param, check=integer(8, 64))
_PRF = functools.partial(param, choices=PRF_NAMES)


# -- query checks -------------------------------------------------------------------------


def check_point(x: Any, n: int, name: str = "x") -> int:
    """One n-bit query point of a per-trial oracle, as a Python int."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or not 0 <= x < (1 << n):
        raise InvalidArgument(f"{name}={x!r} must be an integer in [0, 2**{n})")
    return int(x)


def check_points(x: Any, n: int, size: int, name: str = "x") -> np.ndarray:
    """One n-bit query point per trial of a batched oracle: shape (size,)."""
    points = as_blocks(x, n, name)
    if points.shape != (size,):
        raise InvalidArgument(
            f"{name} of shape {points.shape} must have shape ({size},): one point per trial"
        )
    return points


def message(m: Any, n: int, max_blocks: int | None, name: str = "message") -> np.ndarray:
    """A per-trial message: an int (one block) or a sequence of 1 to ``max_blocks`` n-bit blocks."""
    blocks = as_blocks(m, n, name)
    if blocks.ndim == 0:
        blocks = blocks.reshape(1)
    _check_length(blocks, max_blocks, name, 1)
    return blocks


def messages(
    m: Any, n: int, size: int, max_blocks: int | None, name: str = "message"
) -> np.ndarray:
    """One message per trial of a batched oracle: shape (size, L), or (size,) for one block each."""
    blocks = as_blocks(m, n, name)
    if blocks.ndim == 1 and blocks.shape[0] == size:
        blocks = blocks.reshape(size, 1)
    if blocks.ndim != 2 or blocks.shape[0] != size:
        raise InvalidArgument(
            f"{name} of shape {blocks.shape} must have shape ({size}, L): one message per trial"
        )
    _check_length(blocks, max_blocks, name, 2)
    return blocks


def _check_length(blocks: np.ndarray, max_blocks: int | None, name: str, ndim: int) -> None:
    if blocks.ndim != ndim:
        raise InvalidArgument(f"{name} must be a sequence of blocks, got shape {blocks.shape}")
    length = blocks.shape[-1]
    if length < 1 or (max_blocks is not None and length > max_blocks):
        span = f"1 to {max_blocks}" if max_blocks is not None else "at least 1"
        raise InvalidArgument(f"{name} has {length} blocks; it must have {span}")


def _split(world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    world = np.asarray(world)
    return np.flatnonzero(world == REAL), np.flatnonzero(world == IDEAL)


def _feistel_n(game: Any, n: int) -> None:
    if n % 2:
        raise InvalidArgument(f"n={n!r} must be even for a Feistel cipher ({type(game).__name__})")


@functools.cache
def _prf(name: str, n: int) -> BuiltinPRF:
    return get_prf(name, n)


@functools.cache
def _cipher(n: int, rounds: int, prf: str) -> Feistel:
    return Feistel(n=n, rounds=rounds, prf=prf)


@functools.cache
def _encryption(name: str, n: int, prf: str, rounds: int) -> EncryptionScheme:
    return encryption_scheme(name, n=n, prf=prf, rounds=rounds)


@functools.cache
def _mac(name: str, n: int, prf: str, rounds: int) -> MacScheme:
    return mac_scheme(name, n=n, prf=prf, rounds=rounds)


# -- PRG ----------------------------------------------------------------------------------


@register("prg")
@attrs.frozen(kw_only=True)
class PRGSecurity(RealIdeal):
    """PRG security of G(s) = F_s(0) ‖ F_s(1) ‖ …: the adversary sees G's output or uniform blocks.

    The seed is a PRF key; ``public["output"]`` holds ``blocks`` n-bit blocks. Over a
    secure PRF the output is pseudorandom; over ``toy-linear`` F(3) = F(0) ⊕ F(1) ⊕ F(2).
    """

    prf: str = _PRF("blake2", help="the PRF expanding the seed")
    n: int = _N(16, help="block size in bits")
    blocks: int = param(4, help="output length in n-bit blocks", check=integer(1, 4096))

    def _public(self, output: np.ndarray) -> dict[str, Any]:
        return {"output": output, "prf": self.prf, "n": self.n, "blocks": self.blocks}

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        if world == REAL:
            f = _prf(self.prf, self.n)
            output = f.evaluate(f.keygen(rng), np.arange(self.blocks, dtype=np.uint64))
        else:
            output = uniform_blocks(rng, self.n, self.blocks)
        return Challenge(public=self._public(output))

    def setup_batch(self, world: np.ndarray, rng: np.random.Generator) -> Challenge:
        real, ideal = _split(world)
        output = np.empty((len(world), self.blocks), dtype=np.uint64)
        if len(real):
            f = _prf(self.prf, self.n)
            counters = np.broadcast_to(
                np.arange(self.blocks, dtype=np.uint64), (len(real), self.blocks)
            )
            output[real] = f.evaluate(f.keygen(rng, len(real)), np.ascontiguousarray(counters))
        output[ideal] = uniform_blocks(rng, self.n, (len(ideal), self.blocks))
        return Challenge(public=self._public(output))


# -- PRF and PRP --------------------------------------------------------------------------


class _KeyedOracle(RealIdeal):
    """Oracle f is a keyed function under a fresh key (real), or an ideal table drawn
    lazily from the challenger's coins (ideal): the PRF and PRP games."""

    n: int
    queries: int
    _ideal: ClassVar[type] = RandomFunction
    _ideal_batch: ClassVar[type] = BatchRandomFunction

    def _public(self) -> dict[str, Any]:
        raise NotImplementedError

    def _function(self) -> tuple[Callable[..., np.ndarray], Callable[[np.ndarray, Any], Any]]:
        """The real world's key generator and evaluation (an int or an array of points)."""
        raise NotImplementedError

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        n = self.n
        if world == REAL:
            keygen, evaluate = self._function()
            key = keygen(rng)

            def oracle(x: Any) -> int:
                return evaluate(key, check_point(x, n))

        else:
            ideal = self._ideal(n, rng=rng)

            def oracle(x: Any) -> int:
                return ideal(check_point(x, n))

        return Challenge(oracles={"f": oracle}, budgets={"f": self.queries}, public=self._public())

    def setup_batch(self, world: np.ndarray, rng: np.random.Generator) -> Challenge:
        size, n = len(world), self.n
        real, ideal = _split(world)
        keygen, evaluate = self._function()
        keys = keygen(rng, len(real)) if len(real) else None
        table = self._ideal_batch(len(ideal), n, rng=rng) if len(ideal) else None

        def oracle(x: Any) -> np.ndarray:
            points = check_points(x, n, size)
            out = np.empty(size, dtype=np.uint64)
            if keys is not None:
                out[real] = evaluate(keys, points[real])
            if table is not None:
                out[ideal] = table(points[ideal])
            return out

        return Challenge(oracles={"f": oracle}, budgets={"f": self.queries}, public=self._public())


@register("prf")
@attrs.frozen(kw_only=True)
class PRFSecurity(_KeyedOracle):
    """PRF security: oracle f is F_k for a random key, or a uniformly random function.

    ``prf=feistel`` puts the block cipher (Feistel over blake2, ``rounds`` rounds) in the
    real world: a permutation posing as a function, which q queries expose with
    probability about q(q−1)/2^(n+1) (the PRP/PRF switching lemma).
    """

    prf: str = param(
        "blake2", help="the keyed function under test", choices=(*PRF_NAMES, "feistel")
    )
    n: int = _N(16, help="input and output size in bits (even for feistel)")
    queries: int = param(64, help="queries to f per trial", check=integer(1))
    rounds: int = param(4, help="Feistel rounds (prf=feistel only)", check=integer(1, 64))

    def __attrs_post_init__(self) -> None:
        if self.prf == "feistel":
            _feistel_n(self, self.n)

    def _public(self) -> dict[str, Any]:
        return {"prf": self.prf, "n": self.n, "queries": self.queries, "rounds": self.rounds}

    def _function(self) -> tuple[Callable[..., np.ndarray], Callable[[np.ndarray, Any], Any]]:
        """The real world's key generator and evaluation (an int or an array of points)."""
        if self.prf == "feistel":
            cipher = _cipher(self.n, self.rounds, "blake2")
            return cipher.keygen, cipher.encrypt
        f = _prf(self.prf, self.n)
        return f.keygen, f


@register("prp")
@attrs.frozen(kw_only=True)
class PRPSecurity(_KeyedOracle):
    """PRP security of the Feistel cipher: oracle f is E_k, or a random permutation."""

    _ideal: ClassVar[type] = RandomPermutation
    _ideal_batch: ClassVar[type] = BatchRandomPermutation

    prp: str = param("feistel", help="the block cipher under test", choices=("feistel",))
    prf: str = _PRF("blake2", help="the round function")
    rounds: int = param(4, help="Feistel rounds", check=integer(1, 64))
    n: int = _N(16, help="block size in bits (even)")
    queries: int = param(64, help="queries to f per trial", check=integer(1))

    def __attrs_post_init__(self) -> None:
        _feistel_n(self, self.n)

    def _public(self) -> dict[str, Any]:
        return {
            "prp": self.prp,
            "prf": self.prf,
            "rounds": self.rounds,
            "n": self.n,
            "queries": self.queries,
        }

    def _function(self) -> tuple[Callable[..., np.ndarray], Callable[[np.ndarray, Any], Any]]:
        cipher = _cipher(self.n, self.rounds, self.prf)
        return cipher.keygen, cipher.encrypt


# -- IND-CPA ------------------------------------------------------------------------------


@register("ind-cpa")
@attrs.frozen(kw_only=True)
class IndCPA(HiddenBit):
    """IND-CPA, left-or-right: oracle encrypt(m0, m1) encrypts m_b under one key per trial.

    Messages are sequences of 1 to ``blocks`` n-bit blocks (an int is one block); m0 and m1
    must have the same length. Ciphertexts of cbc and ctr start with the IV or nonce.
    """

    scheme: str = param("ctr", help="the encryption scheme", choices=ENCRYPTION_SCHEMES)
    prf: str = _PRF("blake2", help="the PRF under the cipher or keystream")
    n: int = _N(16, help="block size in bits")
    rounds: int = param(
        4, help="Feistel rounds of the block cipher (ecb, cbc)", check=integer(1, 64)
    )
    queries: int = param(32, help="left-or-right queries per trial", check=integer(1))
    blocks: int = param(4, help="most blocks per message", check=integer(1, 4096))

    def __attrs_post_init__(self) -> None:
        if self.scheme in ("ecb", "cbc"):
            _feistel_n(self, self.n)

    def _scheme(self) -> EncryptionScheme:
        return _encryption(self.scheme, self.n, self.prf, self.rounds)

    def _public(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "prf": self.prf,
            "n": self.n,
            "rounds": self.rounds,
            "queries": self.queries,
            "blocks": self.blocks,
        }

    def _pair(self, m0: Any, m1: Any, check: Any) -> tuple[np.ndarray, np.ndarray]:
        left, right = check(m0, "m0"), check(m1, "m1")
        if left.shape != right.shape:
            raise InvalidArgument(
                f"m0 and m1 must have the same length, got shapes {left.shape} and {right.shape}"
            )
        return left, right

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        scheme = self._scheme()
        key = scheme.keygen(rng)

        def check(m: Any, name: str) -> np.ndarray:
            return message(m, self.n, self.blocks, name)

        def encrypt(m0: Any, m1: Any) -> np.ndarray:
            left, right = self._pair(m0, m1, check)
            return scheme.enc(key, right if b else left, rng)

        return Challenge(
            oracles={"encrypt": encrypt}, budgets={"encrypt": self.queries}, public=self._public()
        )

    def setup_batch(self, b: np.ndarray, rng: np.random.Generator) -> Challenge:
        scheme = self._scheme()
        size = len(b)
        keys = scheme.keygen(rng, size)
        chosen = np.asarray(b)[:, None] == 1

        def check(m: Any, name: str) -> np.ndarray:
            return messages(m, self.n, size, self.blocks, name)

        def encrypt(m0: Any, m1: Any) -> np.ndarray:
            left, right = self._pair(m0, m1, check)
            return scheme.enc(keys, np.where(chosen, right, left), rng)

        return Challenge(
            oracles={"encrypt": encrypt}, budgets={"encrypt": self.queries}, public=self._public()
        )


# -- EUF-CMA ------------------------------------------------------------------------------


@register("euf-cma")
@attrs.frozen(kw_only=True)
class EufCMA(Search):
    """EUF-CMA: with oracle tag(m), output a pair (m, t) with t a valid tag and m never queried.

    Messages have exactly ``blocks`` blocks unless ``variable_length`` admits any length
    (prf-mac signs one block whatever the setting). Tags have n bits: baseline 2^-n.
    """

    mac: str = param("cbc-mac", help="the MAC", choices=MAC_SCHEMES)
    prf: str = _PRF("blake2", help="the PRF under prf-mac or cbc-mac's cipher")
    n: int = _N(16, help="block and tag size in bits")
    rounds: int = param(4, help="Feistel rounds of cbc-mac's cipher", check=integer(1, 64))
    queries: int = param(16, help="tag queries per trial", check=integer(1))
    blocks: int = param(
        2, help="message length in blocks (the most, with variable_length)", check=integer(1, 4096)
    )
    variable_length: bool = param(
        False, help="accept messages of any length", choices=(False, True)
    )

    def __attrs_post_init__(self) -> None:
        if self.mac == "cbc-mac":
            _feistel_n(self, self.n)

    @property
    def baseline(self) -> float:
        return 2.0**-self.n

    def _scheme(self) -> MacScheme:
        return _mac(self.mac, self.n, self.prf, self.rounds)

    def _lengths(self) -> tuple[int, int | None]:
        """The shortest and longest message the oracle signs (None: no upper limit)."""
        if self.mac == "prf-mac":
            return 1, 1
        return (1, None) if self.variable_length else (self.blocks, self.blocks)

    def _public(self) -> dict[str, Any]:
        return {
            "mac": self.mac,
            "prf": self.prf,
            "n": self.n,
            "rounds": self.rounds,
            "queries": self.queries,
            "blocks": 1 if self.mac == "prf-mac" else self.blocks,
            "variable_length": self.variable_length,
        }

    def _signs(self, length: int) -> bool:
        """Whether a message of ``length`` blocks is in the message space."""
        low, high = self._lengths()
        return length >= low and (high is None or length <= high)

    def _check_length(self, length: int) -> None:
        if not self._signs(length):
            low, high = self._lengths()
            need = f"exactly {low}" if low == high else f"at least {low}"
            raise InvalidArgument(f"message has {length} blocks; {self.mac} here signs {need}")

    def _challenge(self, tag: Callable[[Any], Any], secret: Any) -> Challenge:
        """The challenge both paths hand over: the same oracle budget and public values."""
        return Challenge(
            oracles={"tag": tag},
            budgets={"tag": self.queries},
            public=self._public(),
            secret=secret,
        )

    def setup(self, rng: np.random.Generator) -> Challenge:
        scheme = self._scheme()
        key = scheme.keygen(rng)
        asked: set[tuple[int, ...]] = set()

        def tag(m: Any) -> int:
            blocks = message(m, self.n, None)
            self._check_length(len(blocks))
            asked.add(tuple(blocks.tolist()))
            return scheme.tag(key, blocks)

        return self._challenge(tag, (key, asked))

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        key, asked = challenge.secret
        try:
            m, t = answer
            blocks = message(m, self.n, None)
            t = check_point(t, self.n, "t")
        except (TypeError, ValueError) as error:
            raise InvalidAnswer(
                f"answer {answer!r} is not a pair (message, tag): {error}"
            ) from None
        if not self._signs(len(blocks)):
            return False  # outside the message space: not a forgery
        if tuple(blocks.tolist()) in asked:
            return False
        return bool(self._scheme().verify(key, blocks, t))

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        scheme = self._scheme()
        keys = scheme.keygen(rng, size)
        asked: list[np.ndarray] = []

        def tag(m: Any) -> np.ndarray:
            blocks = messages(m, self.n, size, None)
            self._check_length(blocks.shape[1])
            # A copy: ``blocks`` may be the adversary's own array, which it can change after
            # the query to make a message it asked look fresh.
            asked.append(blocks.copy())
            return scheme.tag(keys, blocks)

        return self._challenge(tag, (keys, asked))

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        """``answers`` is a pair (messages of shape (size, L), tags of shape (size,))."""
        keys, asked = challenge.secret
        size = len(keys)
        try:
            m, t = answers
            blocks = messages(m, self.n, size, None)
            tags = check_points(t, self.n, size, "t")
        except (TypeError, ValueError) as error:
            raise InvalidAnswer(f"answers are not a pair (messages, tags): {error}") from None
        length = blocks.shape[1]
        if not self._signs(length):
            return np.zeros(size, bool)
        fresh = np.ones(size, bool)
        for seen in asked:
            if seen.shape[1] == length:
                fresh &= ~(seen == blocks).all(axis=1)
        return fresh & np.asarray(self._scheme().verify(keys, blocks, tags), bool)


# -- collisions ---------------------------------------------------------------------------


@register("collision")
@attrs.frozen(kw_only=True)
class Collision(Search):
    """Collision finding: with q queries to a random n-bit function f, output x ≠ x' with f(x) = f(x').

    The baseline is a fixed pair output without a query, which collides with
    probability 2^-n; the birthday attack succeeds with about 1 − exp(−q(q−1)/2^(n+1)).
    """

    n: int = _N(16, help="input and output size in bits")
    queries: int = param(300, help="queries to f per trial", check=integer(1))

    @property
    def baseline(self) -> float:
        return 2.0**-self.n

    def _challenge(self, f: Callable[[Any], Any], table: Any) -> Challenge:
        """The challenge both paths hand over: the same oracle budget and public values."""
        return Challenge(
            oracles={"f": f},
            budgets={"f": self.queries},
            public={"n": self.n, "queries": self.queries},
            secret=table,
        )

    def setup(self, rng: np.random.Generator) -> Challenge:
        table = RandomFunction(self.n, rng=rng)

        def f(x: Any) -> int:
            return table(check_point(x, self.n))

        return self._challenge(f, table)

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        try:
            x, y = answer
            x, y = check_point(x, self.n), check_point(y, self.n, "x'")
        except (TypeError, ValueError) as error:
            raise InvalidAnswer(
                f"answer {answer!r} is not a pair of n-bit points: {error}"
            ) from None
        return x != y and challenge.secret(x) == challenge.secret(y)

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        table = BatchRandomFunction(size, self.n, rng=rng)

        def f(x: Any) -> np.ndarray:
            return table(check_points(x, self.n, size))

        return self._challenge(f, table)

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        """``answers`` has shape (size, 2): one pair of points per trial."""
        table: BatchRandomFunction = challenge.secret
        try:
            pairs = as_blocks(answers, self.n, "answers")
        except ValueError as error:
            raise InvalidAnswer(str(error)) from None
        if pairs.shape != (table.size, 2):
            raise InvalidAnswer(
                f"answers of shape {pairs.shape} must have shape ({table.size}, 2): one pair per trial"
            )
        images = table(pairs)
        return (pairs[:, 0] != pairs[:, 1]) & (images[:, 0] == images[:, 1])
