"""Attacks on the classic-cryptography games of :mod:`games.crypto`.

Each adversary plays one trial (``__call__``) or a batch of trials at once (``batch``,
where every oracle call carries one query per trial). The two paths make the same
queries in the same order, so their advantages agree within the intervals.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from games.params import param
from oracles import InvalidArgument, Oracles

__all__ = [
    "AffineLearner",
    "BatchAffineLearner",
    "Birthday",
    "CBCMacExtension",
    "EcbRepeat",
    "LinearPRF",
    "NonceReuse",
    "PRPPRFSwitch",
    "block_pairs",
]


def _mask(n: int) -> int:
    return (1 << n) - 1


def _blocks(rng: np.random.Generator, n: int, shape: Any) -> np.ndarray:
    return rng.integers(0, 1 << n, size=shape, dtype=np.uint64)


def _optional_count(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidArgument(
            f"{name}={value!r} must be None (the whole budget) or a positive integer"
        )


def _budget(oracle: Any, wanted: int | None, fallback: int) -> int:
    """Queries to spend: ``wanted`` (or ``fallback``), capped by what the budget leaves."""
    count = wanted if wanted is not None else (oracle.remaining or fallback)
    return count if oracle.remaining is None else min(count, oracle.remaining)


def _distinct_points(rng: np.random.Generator, n: int, count: int, size: int | None) -> np.ndarray:
    """``count`` distinct n-bit points per trial: start + i·step mod 2**n with an odd step."""
    shape = () if size is None else (size,)
    start = _blocks(rng, n, shape)
    step = _blocks(rng, n, shape) | np.uint64(1)
    index = np.arange(count, dtype=np.uint64)
    return (np.asarray(start)[..., None] + np.asarray(step)[..., None] * index) & np.uint64(
        _mask(n)
    )


# -- GF(2) affine maps --------------------------------------------------------------------


class AffineLearner:
    """Learns an affine map over GF(2)^n from (input, output) pairs, with Python ints.

    The pairs are kept as differences from the first one, reduced to an echelon basis
    indexed by each difference's highest set bit; a point is predictable when its
    difference from the first input lies in the span.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.base: tuple[int, int] | None = None
        self.basis: dict[int, tuple[int, int]] = {}

    @property
    def rank(self) -> int:
        return len(self.basis)

    def _reduce(self, d: int, e: int) -> tuple[int, int]:
        for pivot in sorted(self.basis, reverse=True):
            if d >> pivot & 1:
                bd, be = self.basis[pivot]
                d, e = d ^ bd, e ^ be
        return d, e

    def add(self, x: int, y: int) -> None:
        if self.base is None:
            self.base = (x, y)
            return
        d, e = self._reduce(x ^ self.base[0], y ^ self.base[1])
        if d:
            self.basis[d.bit_length() - 1] = (d, e)

    def predict(self, z: int) -> int | None:
        """The learned map at ``z``, or None when ``z`` is outside the span of the inputs."""
        if self.base is None:
            return None
        d, e = self._reduce(z ^ self.base[0], self.base[1])
        return None if d else e

    def span_point(self, rng: np.random.Generator) -> int:
        """A random input of the affine span other than the first: the first input plus a
        nonempty random combination of basis vectors (the first input itself if the basis is empty)."""
        vectors = [d for d, _ in self.basis.values()]
        z = self.base[0] if self.base else 0
        if not vectors:
            return z
        chosen = rng.random(len(vectors)) < 0.5
        chosen[rng.integers(len(vectors))] = True
        for d, keep in zip(vectors, chosen, strict=True):
            if keep:
                z ^= d
        return z


class BatchAffineLearner:
    """:class:`AffineLearner` for ``size`` independent maps at once, as uint64 arrays."""

    def __init__(self, n: int, size: int) -> None:
        self.n = n
        self.size = size
        self.x0 = np.zeros(size, np.uint64)
        self.y0 = np.zeros(size, np.uint64)
        self.started = np.zeros(size, bool)
        self.d = np.zeros((size, n), np.uint64)
        self.e = np.zeros((size, n), np.uint64)
        self.has = np.zeros((size, n), bool)

    @property
    def rank(self) -> np.ndarray:
        return self.has.sum(axis=1)

    def _reduce(self, d: np.ndarray, e: np.ndarray, insert: bool) -> tuple[np.ndarray, np.ndarray]:
        one = np.uint64(1)
        for pivot in range(self.n - 1, -1, -1):
            bit = ((d >> np.uint64(pivot)) & one).astype(bool)
            use = bit & self.has[:, pivot]
            d = np.where(use, d ^ self.d[:, pivot], d)
            e = np.where(use, e ^ self.e[:, pivot], e)
            if insert:
                new = bit & ~self.has[:, pivot]
                self.d[new, pivot], self.e[new, pivot] = d[new], e[new]
                self.has[new, pivot] = True
                d = np.where(new, np.uint64(0), d)
        return d, e

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        first = ~self.started
        self.x0 = np.where(first, x, self.x0)
        self.y0 = np.where(first, y, self.y0)
        self.started[:] = True
        self._reduce(x ^ self.x0, y ^ self.y0, insert=True)

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The learned maps at ``z`` and, per trial, whether ``z`` was in the span."""
        d, e = self._reduce(z ^ self.x0, self.y0.copy(), insert=False)
        return e, (d == 0) & self.started

    def span_points(self, rng: np.random.Generator) -> np.ndarray:
        """Per trial, what :meth:`AffineLearner.span_point` draws."""
        chosen = (rng.random((self.size, self.n)) < 0.5) & self.has
        # Force one basis vector in, picked uniformly among those present.
        scores = np.where(self.has, rng.random((self.size, self.n)), -1.0)
        chosen[np.arange(self.size), scores.argmax(axis=1)] |= self.has.any(axis=1)
        picked = np.where(chosen, self.d, np.uint64(0))
        return self.x0 ^ np.bitwise_xor.reduce(picked, axis=1)


def block_pairs(scheme: str, m: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The (input, output) pairs of the scheme's block function that a known (m, c) reveals.

    ecb: E(m_i) = c_i; cbc: E(m_i ⊕ c_{i-1}) = c_i after the IV; ctr: F(nonce + i) = c_i ⊕ m_i.
    Works on one message (1-D) or one per trial (2-D).
    """
    length = m.shape[-1]
    if scheme == "ecb":
        return m, c
    if scheme == "cbc":
        return m ^ c[..., :-1], c[..., 1:]
    counters = (c[..., :1] + np.arange(length, dtype=np.uint64)) & np.uint64(_mask(n))
    return counters, c[..., 1:] ^ m


# -- IND-CPA ------------------------------------------------------------------------------


@register("ecb-repeat", games=("ind-cpa",))
@attrs.frozen(kw_only=True)
class EcbRepeat:
    """Asks for [x, x] or [x, y]: a deterministic cipher repeats its first two output blocks.

    With one-block messages it asks twice instead ([x] then [x] or [y]) and compares.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        n, blocks = oracles.public["n"], oracles.public.get("blocks", 1)
        x, y = (int(v) for v in _distinct_points(rng, n, 2, None))
        if blocks >= 2:
            c = oracles["encrypt"]([x, x], [x, y])
            return int(c[-2] != c[-1])
        first = oracles["encrypt"]([x], [x])
        second = oracles["encrypt"]([x], [y])
        return int(first[-1] != second[-1])

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        n, blocks = oracles.public["n"], oracles.public.get("blocks", 1)
        points = _distinct_points(rng, n, 2, size)
        x, y = points[:, 0], points[:, 1]
        if blocks >= 2:
            c = oracles["encrypt"](np.stack([x, x], 1), np.stack([x, y], 1))
            return (c[:, -2] != c[:, -1]).astype(np.int64)
        first = oracles["encrypt"](x[:, None], x[:, None])
        second = oracles["encrypt"](x[:, None], y[:, None])
        return (first[:, -1] != second[:, -1]).astype(np.int64)


@register("nonce-reuse", games=("ind-cpa",))
@attrs.frozen(kw_only=True)
class NonceReuse:
    """Learns a keystream from encrypt(z, z), then strips it from the next ciphertext.

    Under a repeated nonce the second ciphertext minus the first keystream is m_b itself;
    under fresh nonces it is noise and the answer is a coin flip's worth.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        n, length = oracles.public["n"], oracles.public.get("blocks", 1)
        z = _blocks(rng, n, length)
        c = oracles["encrypt"](z, z)
        keystream = c[-length:] ^ z
        m0, m1 = _blocks(rng, n, length), _blocks(rng, n, length)
        c = oracles["encrypt"](m0, m1)
        return int(np.array_equal(c[-length:] ^ keystream, m1))

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        n, length = oracles.public["n"], oracles.public.get("blocks", 1)
        z = _blocks(rng, n, (size, length))
        c = oracles["encrypt"](z, z)
        keystream = c[:, -length:] ^ z
        m0, m1 = _blocks(rng, n, (size, length)), _blocks(rng, n, (size, length))
        c = oracles["encrypt"](m0, m1)
        return (c[:, -length:] ^ keystream == m1).all(axis=1).astype(np.int64)


@register("linear-prf", games=("prf", "prg", "ind-cpa"))
@attrs.frozen(kw_only=True)
class LinearPRF:
    """Solves for a GF(2)-affine PRF (toy-linear) from its input/output pairs, then predicts it.

    It plays by the oracles it is handed, so it also runs inside a reduction that offers
    the same oracle names. prf (oracle f): queries the oracle at ``points`` random inputs (default n + 1, within the
    budget), then at a fresh point of their affine span, and answers real when the
    prediction holds. prg (no oracle, ``public["output"]``): predicts later output blocks
    from earlier ones. ind-cpa (oracle encrypt; ``public`` names the scheme, default ctr,
    and the message length, default 1): learns the block function (the PRF of ctr, the whole Feistel cipher of ecb and cbc,
    affine too over toy-linear) from encryptions of random messages, then checks which of
    m0, m1 the challenge ciphertext is consistent with. Against blake2 its predictions
    fail and it guesses.
    """

    points: int | None = param(
        None,
        help="learning queries (None: n + 1 for prf, until full rank for ind-cpa)",
        check=_optional_count,
    )

    # -- per trial

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        if "encrypt" in oracles:
            return self._ind_cpa(oracles, rng)
        if "f" in oracles:
            return self._prf(oracles, rng)
        return self._prg(oracles.public, rng)

    def _learning(self, f: Any, n: int) -> int:
        """Learning queries for the prf game: one query must stay for the test point."""
        learning = self.points if self.points is not None else n + 1
        return learning if f.remaining is None else min(learning, f.remaining - 1)

    def _prf(self, oracles: Oracles, rng: np.random.Generator) -> int:
        n, f = oracles.public["n"], oracles["f"]
        learning = self._learning(f, n)
        if learning < 3:  # an affine span with a fresh point needs three inputs
            return int(rng.integers(2))
        learner = AffineLearner(n)
        asked = set()
        for x in _distinct_points(rng, n, learning, None).tolist():
            learner.add(x, int(f(x)))
            asked.add(x)
        for _ in range(64):
            z = learner.span_point(rng)
            if z not in asked:
                return int(f(z) == learner.predict(z))
        return int(rng.integers(2))

    def _prg(self, public: Any, rng: np.random.Generator) -> int:
        learner = AffineLearner(public["n"])
        verdicts = []
        for i, y in enumerate(np.asarray(public["output"]).tolist()):
            predicted = learner.predict(i)
            if predicted is None:
                learner.add(i, y)
            else:
                verdicts.append(predicted == y)
        return int(all(verdicts)) if verdicts else int(rng.integers(2))

    def _ind_cpa(self, oracles: Oracles, rng: np.random.Generator) -> int:
        public, encrypt = oracles.public, oracles["encrypt"]
        n, length, scheme = public["n"], public.get("blocks", 1), public.get("scheme", "ctr")
        learner = AffineLearner(n)
        limit = self.points if self.points is not None else 4 * n + 4
        for _ in range(limit):
            if learner.rank >= n or (encrypt.remaining is not None and encrypt.remaining <= 1):
                break
            m = _blocks(rng, n, length)
            for x, y in zip(*block_pairs(scheme, m, encrypt(m, m), n), strict=True):
                learner.add(int(x), int(y))
        m0 = _blocks(rng, n, length)
        m1 = m0 ^ (_blocks(rng, n, length) | np.uint64(1))
        c = encrypt(m0, m1)
        fits = []
        for m in (m0, m1):
            inputs, outputs = block_pairs(scheme, m, c, n)
            predicted = [learner.predict(int(x)) for x in inputs]
            known = [(p, int(y)) for p, y in zip(predicted, outputs, strict=True) if p is not None]
            fits.append(bool(known) and all(p == y for p, y in known))
        if fits[0] != fits[1]:
            return int(fits[1])
        return int(rng.integers(2))

    # -- batched

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        if "encrypt" in oracles:
            return self._ind_cpa_batch(oracles, rng, size)
        if "f" in oracles:
            return self._prf_batch(oracles, rng, size)
        return self._prg_batch(oracles.public, rng, size)

    def _prf_batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        n, f = oracles.public["n"], oracles["f"]
        learning = self._learning(f, n)
        if learning < 3:
            return rng.integers(2, size=size)
        learner = BatchAffineLearner(n, size)
        xs = _distinct_points(rng, n, learning, size)
        for j in range(learning):
            learner.add(xs[:, j], f(xs[:, j]))
        z = learner.span_points(rng)
        for _ in range(64):
            clash = (xs == z[:, None]).any(axis=1)
            if not clash.any():
                break
            z = np.where(clash, learner.span_points(rng), z)
        predicted, ok = learner.predict(z)
        guess = rng.integers(2, size=size)
        return np.where(ok & ~clash, f(z) == predicted, guess).astype(np.int64)

    def _prg_batch(self, public: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        output = np.asarray(public["output"], dtype=np.uint64)
        learner = BatchAffineLearner(public["n"], size)
        checked = np.zeros(size, bool)
        wrong = np.zeros(size, bool)
        for i in range(output.shape[1]):
            point = np.full(size, i, dtype=np.uint64)
            predicted, ok = learner.predict(point)
            wrong |= ok & (predicted != output[:, i])
            checked |= ok
            # Only unpredictable points are new information; adding a predictable one is a no-op.
            learner.add(point, output[:, i])
        guess = rng.integers(2, size=size).astype(bool)
        return np.where(checked, ~wrong, guess).astype(np.int64)

    def _ind_cpa_batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        public, encrypt = oracles.public, oracles["encrypt"]
        n, length, scheme = public["n"], public.get("blocks", 1), public.get("scheme", "ctr")
        learner = BatchAffineLearner(n, size)
        limit = self.points if self.points is not None else 4 * n + 4
        for _ in range(limit):
            if (learner.rank >= n).all() or (
                encrypt.remaining is not None and encrypt.remaining <= 1
            ):
                break
            m = _blocks(rng, n, (size, length))
            inputs, outputs = block_pairs(scheme, m, encrypt(m, m), n)
            for i in range(length):
                learner.add(inputs[:, i], outputs[:, i])
        m0 = _blocks(rng, n, (size, length))
        m1 = m0 ^ (_blocks(rng, n, (size, length)) | np.uint64(1))
        c = encrypt(m0, m1)
        fits = []
        for m in (m0, m1):
            inputs, outputs = block_pairs(scheme, m, c, n)
            any_known = np.zeros(size, bool)
            all_match = np.ones(size, bool)
            for i in range(length):
                predicted, ok = learner.predict(inputs[:, i])
                any_known |= ok
                all_match &= ~ok | (predicted == outputs[:, i])
            fits.append(any_known & all_match)
        guess = rng.integers(2, size=size)
        return np.where(fits[0] != fits[1], fits[1], guess).astype(np.int64)


# -- MACs ---------------------------------------------------------------------------------


@register("cbc-mac-extension", games=("euf-cma",))
@attrs.frozen(kw_only=True)
class CBCMacExtension:
    """One tag query t = MAC(m), then the forgery (m ‖ m_1 ⊕ t ‖ m_2 … m_L, t).

    CBC-MAC chains: after m the state is t, so the next block m_1 ⊕ t replays m from the
    start and the tag comes out t again. The forgery has twice m's length, so it only
    counts where variable-length messages are accepted.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> tuple[list[int], int]:
        n, length = oracles.public["n"], oracles.public["blocks"]
        m = _blocks(rng, n, length).tolist()
        t = int(oracles["tag"](m))
        return [*m, m[0] ^ t, *m[1:]], t

    def batch(
        self, oracles: Oracles, rng: np.random.Generator, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        n, length = oracles.public["n"], oracles.public["blocks"]
        m = _blocks(rng, n, (size, length))
        t = np.asarray(oracles["tag"](m), dtype=np.uint64)
        tail = m.copy()
        tail[:, 0] ^= t
        return np.concatenate([m, tail], axis=1), t


# -- birthday -----------------------------------------------------------------------------


def _first_collisions(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether two of the ys are equal, and the xs of the first such pair found.

    ``ys`` has at least two columns, the images of the first columns of ``xs``; rows
    without a collision get the pair (xs[0], xs[1]).
    """
    order = np.argsort(ys, axis=1, kind="stable")
    ranked = np.take_along_axis(ys, order, axis=1)
    equal = ranked[:, 1:] == ranked[:, :-1]
    found = equal.any(axis=1)
    at = equal.argmax(axis=1)
    rows = np.arange(len(xs))
    pair = np.stack([xs[rows, order[rows, at]], xs[rows, order[rows, at + 1]]], axis=1)
    return found, np.where(found[:, None], pair, xs[:, :2])


@register("birthday", games=("collision",))
@attrs.frozen(kw_only=True)
class Birthday:
    """Queries q distinct points and reports the first pair whose images collide.

    Succeeds with probability about 1 − exp(−q(q−1)/2^(n+1)) against a random function.
    """

    q: int | None = param(
        None, help="queries to make (None: the whole budget)", check=_optional_count
    )

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> tuple[int, int]:
        n, f = oracles.public["n"], oracles["f"]
        count = min(_budget(f, self.q, 2), 1 << n)
        seen: dict[int, int] = {}
        xs = _distinct_points(rng, n, max(count, 2), None).tolist()
        for x in xs[:count]:
            y = int(f(x))
            if y in seen:
                return seen[y], x
            seen[y] = x
        return xs[0], xs[1]

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        n, f = oracles.public["n"], oracles["f"]
        count = min(_budget(f, self.q, 2), 1 << n)
        xs = _distinct_points(rng, n, max(count, 2), size)
        if count < 2:
            return xs[:, :2]
        ys = np.stack([f(xs[:, j]) for j in range(count)], axis=1)
        return _first_collisions(xs, ys)[1]


@register("prp-prf-switch", games=("prf", "prp"))
@attrs.frozen(kw_only=True)
class PRPPRFSwitch:
    """Queries q distinct points and answers "function" (0) on a collision, "permutation" (1) otherwise.

    Against ``prf prf=feistel`` (a permutation against a random function) its advantage is
    the collision probability, about 1 − exp(−q(q−1)/2^(n+1)): the term of the PRP/PRF
    switching lemma. Against ``prp``, a permutation in both worlds, it has none.
    """

    q: int | None = param(
        None, help="queries to make (None: the whole budget)", check=_optional_count
    )

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        n, f = oracles.public["n"], oracles["f"]
        count = min(_budget(f, self.q, 2), 1 << n)
        seen = set()
        for x in _distinct_points(rng, n, count, None).tolist():
            y = int(f(x))
            if y in seen:
                return 0
            seen.add(y)
        return 1

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        n, f = oracles.public["n"], oracles["f"]
        count = min(_budget(f, self.q, 2), 1 << n)
        if count < 2:
            return np.ones(size, np.int64)
        xs = _distinct_points(rng, n, count, size)
        ys = np.stack([f(xs[:, j]) for j in range(count)], axis=1)
        return (~_first_collisions(xs, ys)[0]).astype(np.int64)
