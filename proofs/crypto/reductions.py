"""The reductions of the crypto proofs: each turns an adversary A into an adversary B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B``: it takes
A (an adversary against the theorem's game) and the theorem game's parameters, and
returns B, an adversary against the assumption's game. B gets that game's oracle handles
and its own random generator, simulates A's game around them, runs A on a generator
spawned from its own, and turns A's answer into its own.

B receives the assumption game's oracles and hands A oracles with the names A's game
uses (the constants below, following :mod:`games.crypto`) and, as public values, the
theorem game's parameters (which is what that game shows). Where the assumption game
offers a single oracle, B uses it whatever its name.

These adversaries play the per-trial path only; the engine runs them one trial at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Self, TypeVar

import attrs
import numpy as np

from oracles import InvalidArgument, Oracle, Oracles, checks
from proofs.reductions import theorem_param

__all__ = [
    "ENCRYPT",
    "FUNCTION",
    "PERMUTATION",
    "TAG",
    "HybridLR",
    "PRFFromCTR",
    "PRFFromFeistel",
    "PRFFromMac",
    "Renamed",
    "prf_from_ctr",
    "prf_from_feistel",
    "prf_from_mac",
    "prp_as_prf",
    "single_challenge_from_many",
]

_T = TypeVar("_T", bound=type)

#: Oracle names of the theorem games, as A expects them.
ENCRYPT = "encrypt"  # ind-cpa: encrypt(m0, m1) -> ciphertext of m_b
TAG = "tag"  # euf-cma: tag(m) -> t
FUNCTION = "f"  # prf: f(x) -> F_K(x) or a random function's value
PERMUTATION = "f"  # prp: f(x) -> E_K(x) or a random permutation's value


def _child(rng: np.random.Generator) -> np.random.Generator:
    """A generator for A, derived from B's so that a trial stays replayable."""
    return rng.spawn(1)[0]


def _oracle(oracles: Oracles, name: str) -> Oracle:
    """B's oracle called ``name``, or the only one the assumption game offers."""
    if name in oracles:
        return oracles[name]
    if len(oracles) == 1:
        return next(iter(oracles.values()))
    raise InvalidArgument(
        f"the assumption game offers oracles {', '.join(oracles) or 'none'}; "
        f"the reduction needs {name!r}"
    )


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _pickled(cls: _T) -> _T:
    """Let B be pickled (``--isolate`` sends it to another process, and a process backend
    to its workers) though its ``public`` field is a read-only view, which does not pickle:
    the view travels as a dict and is made read-only again on arrival. A class decorator
    above ``attrs.frozen``, which writes the state methods it wraps."""
    target: Any = cls
    getstate, setstate = target.__getstate__, target.__setstate__

    def __getstate__(self: Any) -> dict[str, Any]:
        state = dict(getstate(self))
        state["public"] = dict(state["public"])
        return state

    def __setstate__(self: Any, state: dict[str, Any]) -> None:
        setstate(self, {**state, "public": _frozen(state["public"])})

    target.__getstate__, target.__setstate__ = __getstate__, __setstate__
    return cls


def _public(params: Mapping[str, Any], n: int) -> dict[str, Any]:
    """What A's game shows openly: the theorem game's parameters (Kerckhoffs)."""
    return {"n": n, **params}


def _blocks(message: Any) -> list[int]:
    """A message as a list of block values (an int is a one-block message)."""
    if isinstance(message, int | np.integer) and not isinstance(message, bool):
        return [int(message)]
    values = np.asarray(message).reshape(-1)
    return [int(v) for v in values]


@attrs.frozen(kw_only=True)
class _Simulation:
    """B that simulates A's game over n-bit blocks around its one function oracle.

    Attributes:
        adversary: A.
        n: the block length of A's game.
        queries: A's budget in its game (None: unlimited).
        public: what A's game shows openly (the theorem game's parameters).
    """

    adversary: Any
    n: int
    queries: int | None = None
    public: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)

    @classmethod
    def of(cls, adversary: Any, theorem_params: Mapping[str, Any]) -> Self:
        """B for A, with the block length and budget of the theorem's game."""
        return cls(
            adversary=adversary,
            n=int(theorem_param(theorem_params, "n")),
            queries=theorem_params.get("queries"),
            public=theorem_params,
        )


# -- CTR from a PRF ----------------------------------------------------------------------


@_pickled
@attrs.frozen(kw_only=True)
class PRFFromCTR(_Simulation):
    """B against the PRF: simulates left-or-right CTR for A with B's function oracle.

    B draws its own hidden bit b, answers A's ``encrypt(m0, m1)`` with a fresh random
    nonce r and blocks m_b,i ⊕ f(r + i mod 2^n), and answers 1 when A guesses b. Its
    advantage is half the gap between A's advantage against real CTR and against CTR over
    a random function, hence Adv_ind-cpa(A) ≤ 2·Adv_prf(B) + the nonce-overlap term.
    """

    adversary: Any
    n: int
    queries: int | None = None
    public: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        f = _oracle(oracles, FUNCTION)
        b = int(rng.integers(2))
        size = 1 << self.n

        def encrypt(m0: Any, m1: Any) -> np.ndarray:
            left, right = _blocks(m0), _blocks(m1)
            if len(left) != len(right):
                raise InvalidArgument("left and right messages must have the same number of blocks")
            chosen = right if b else left
            nonce = int(rng.integers(0, size, dtype=np.uint64))
            body = [block ^ int(f((nonce + i) % size)) for i, block in enumerate(chosen)]
            return np.array([nonce, *body], dtype=np.uint64)

        handles = Oracles(
            {ENCRYPT: Oracle(encrypt, name=ENCRYPT, budget=self.queries)},
            _public(self.public, self.n),
        )
        guess = self.adversary(handles, _child(rng))
        return int(int(guess) == b)


def prf_from_ctr(adversary: Any, theorem_params: Mapping[str, Any]) -> PRFFromCTR:
    """Reduction for ``ctr-prf``: A against IND-CPA of CTR to B against the PRF."""
    return PRFFromCTR.of(adversary, theorem_params)


# -- PRF-MAC from a PRF --------------------------------------------------------------------


@_pickled
@attrs.frozen(kw_only=True)
class PRFFromMac(_Simulation):
    """B against the PRF: answers A's tag queries with f, then checks A's forgery with f.

    B answers 1 when A's forgery (m*, t*) is on a message A never asked about and
    f(m*) = t*. So Pr[B→1 | real] is A's forging probability against the PRF-MAC, and
    Pr[B→1 | random] ≤ 2^-t: A's forging probability ≤ Adv_prf(B) + 2^-t.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        f = _oracle(oracles, FUNCTION)
        asked: set[int] = set()

        def tag(message: Any) -> int:
            blocks = _blocks(message)
            if len(blocks) != 1:
                raise InvalidArgument("prf-mac signs one-block messages")
            asked.add(blocks[0])
            return int(f(blocks[0]))

        handles = Oracles(
            {TAG: Oracle(tag, name=TAG, budget=self.queries)}, _public(self.public, self.n)
        )
        answer = self.adversary(handles, _child(rng))
        try:
            message, forged = answer
            (point,) = _blocks(message)
            forged = int(forged)
        except (TypeError, ValueError):
            return 0  # not a well-formed forgery: A loses, so B says "random"
        if point in asked or not 0 <= point < (1 << self.n):
            return 0
        return int(int(f(point)) == forged)


def prf_from_mac(adversary: Any, theorem_params: Mapping[str, Any]) -> PRFFromMac:
    """Reduction for ``prf-mac``: A forging PRF-MAC tags to B against the PRF."""
    return PRFFromMac.of(adversary, theorem_params)


# -- Luby–Rackoff: a 3-round Feistel PRP from a PRF ------------------------------------


@_pickled
@attrs.frozen(kw_only=True)
class PRFFromFeistel:
    """B against the PRF on n/2 bits: plants its oracle in one round of a 3-round Feistel.

    B picks a round j uniformly in {1, 2, 3}; rounds before j use lazily sampled random
    functions, round j uses B's oracle, rounds after j use the real round PRF under fresh
    keys. It answers A's queries with that Feistel network and outputs A's answer. The
    hybrids G_{j-1}, G_j of the proof are B's two worlds, so
    Adv_prp(A) ≤ 3·Adv_prf(B) + the two statistical terms.
    """

    adversary: Any
    n: int
    prf: str = "blake2"
    rounds: int = 3
    queries: int | None = None
    public: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)
    make_prf: Callable[[str, int], Any] | None = attrs.field(default=None, repr=False)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        from oracles import RandomFunction  # the ideal rounds before the planted one

        f = _oracle(oracles, FUNCTION)
        half = self.n // 2
        low = (1 << half) - 1
        planted = int(rng.integers(1, self.rounds + 1))
        rounds: list[Callable[[int], int]] = []
        for j in range(1, self.rounds + 1):
            if j < planted:
                rounds.append(RandomFunction(half, rng=rng))
            elif j == planted:
                rounds.append(_as_int(f))
            else:
                function = self._round_prf(half)
                rounds.append(_keyed(function, function.keygen(rng)))

        def permute(x: int) -> int:
            left, right = int(x) >> half, int(x) & low
            for round_function in rounds:
                left, right = right, left ^ round_function(right)
            return (left << half) | right

        handles = Oracles(
            {PERMUTATION: Oracle(permute, name=PERMUTATION, budget=self.queries)},
            _public(self.public, self.n),
        )
        return int(self.adversary(handles, _child(rng)))

    def _round_prf(self, bits: int) -> Any:
        if self.make_prf is not None:
            return self.make_prf(self.prf, bits)
        from games.crypto.primitives import get_prf  # loaded only when B plays

        return get_prf(self.prf, bits)


def _as_int(oracle: Callable[[int], Any]) -> Callable[[int], int]:
    return lambda x: int(oracle(x))


def _keyed(function: Any, key: Any) -> Callable[[int], int]:
    return lambda x: int(function(key, x))


def prf_from_feistel(adversary: Any, theorem_params: Mapping[str, Any]) -> PRFFromFeistel:
    """Reduction for ``luby-rackoff``: A against the 3-round Feistel PRP to B against the PRF."""
    n = int(theorem_param(theorem_params, "n"))
    if n % 2:
        raise InvalidArgument(f"n={n} must be even for a Feistel cipher")
    return PRFFromFeistel(
        adversary=adversary,
        n=n,
        prf=str(theorem_params.get("prf", "blake2")),
        rounds=int(theorem_params.get("rounds", 3)),
        queries=theorem_params.get("queries"),
        public=theorem_params,
    )


# -- PRP/PRF switching: the same adversary, renamed oracles ------------------------------


@_pickled
@attrs.frozen(kw_only=True)
class Renamed:
    """B = A, with B's single oracle handed to A under the name A's game uses."""

    adversary: Any
    name: str
    public: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        oracle = _oracle(oracles, self.name)
        handles = Oracles({self.name: oracle}, {**oracles.public, **self.public})
        return self.adversary(handles, _child(rng))


def prp_as_prf(adversary: Any, theorem_params: Mapping[str, Any]) -> Renamed:
    """Reduction for ``prp-prf-switching``: A distinguishing E from a random function, run as is
    against E versus a random permutation."""
    return Renamed(adversary=adversary, name=FUNCTION, public=theorem_params)


# -- the hybrid argument over q left-or-right queries --------------------------------------


@_pickled
@attrs.frozen(kw_only=True)
class HybridLR:
    """B against single-challenge left-or-right security, from A making q LR queries.

    B picks i uniformly in 1..q. It answers A's queries j < i with the right message
    (``encrypt(m1, m1)``), j > i with the left one (``encrypt(m0, m0)``), and forwards
    query i as its one challenge; it outputs A's guess. Averaging over i telescopes the
    hybrids H_0 ... H_q: Adv_q(A) = q·Adv_1(B).
    """

    adversary: Any
    queries: int
    public: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        lr = _oracle(oracles, ENCRYPT)
        challenge = int(rng.integers(1, self.queries + 1))
        count = [0]

        def encrypt(m0: Any, m1: Any) -> Any:
            count[0] += 1
            if count[0] < challenge:
                return lr(m1, m1)
            if count[0] > challenge:
                return lr(m0, m0)
            return lr(m0, m1)

        handles = Oracles(
            {ENCRYPT: Oracle(encrypt, name=ENCRYPT, budget=self.queries)},
            {**oracles.public, **self.public},
        )
        return int(self.adversary(handles, _child(rng)))


def single_challenge_from_many(adversary: Any, theorem_params: Mapping[str, Any]) -> HybridLR:
    """Reduction for ``hybrid-lr``: A with q LR queries to B with one challenge query."""
    queries = checks.positive("queries", theorem_param(theorem_params, "queries"))
    return HybridLR(adversary=adversary, queries=queries, public=theorem_params)
