"""Distinguishers for ``watermark-undetectable`` that score replies under the public model.

Both load their own copy of the public model (only the key is secret), read the model's
next-token distribution p_i at every position of every reply (cut to the public ``top_k``
as both worlds cut it), and test a null hypothesis with a false-positive rate set by
``level``:

- ``reuse-likelihood`` (null: the model's own samples; the rate holds whatever the model):
  a likelihood ratio against a scheme that reuses the uniforms of a
  repeated context. Under ``exp`` with reused uniforms, a token t chosen after a context
  where the model's distribution was p' is chosen again, after the same context with the
  distribution p, with probability exactly ``1 / Σ_s max(p'_s, p_s·p'_t/p_t)`` (the Gumbel
  race run twice with the same exponentials): 1 when p = p', far above p_t in general.
  The alternative at a repeated context is the mixture of those predictions over its
  earlier occurrences; elsewhere it is p. The likelihood ratio of a reply is a
  nonnegative martingale of mean 1 under the model, so answering real when its logarithm
  reaches ``log(1/level)`` is wrong with probability at most ``level`` (Ville).
- ``walsh-hadamard`` (null: the scheme over a random function, which for fresh contexts is
  the model's own sampling): a search for an affine bit of the PRF. A scored point is
  x = token + V·c (``h = 1``); when the PRF is affine over GF(2) (``toy-linear``), the top
  bit of the uniform u(x) is a·x ⊕ b for one of the 2^(n+1) affine functions of x's n bits,
  and the exp scheme emits the candidate with the largest u^(1/p): a token whose top bit is
  1 far more often than chance. With D the weighted, signed histogram (emitted point minus
  the mass the scheme over a random function would give each candidate point), its
  Walsh–Hadamard transform D̂(a) sums, for every mask a at once, terms of mean zero over a
  random function; the attack answers real when max |D̂| passes a Gaussian union-bound
  threshold (see :class:`WalshHadamard`). Against a good PRF the uniforms carry no affine
  bit and the attack does no better than over a random function.

Each sees only its ``generate`` oracle and the public values; it asks as many requests as
the budget allows (one when there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from adversaries.watermark import own_model
from games.lm.vocabulary import ADJECTIVES, STORY_SUBJECTS
from games.lm.watermark import seen_context
from oracles import InvalidArgument, Oracles, checks

__all__ = ["ReuseLikelihood", "WalshHadamard", "distributions", "walsh_hadamard"]

#: The requests the attacks cycle through (stories have per-token entropy).
STORY = "Tell me a story about a {subject}."
#: A request that sends the model into a long reply whose contexts recur (a word forty
#: times: the tiny model keeps writing, and its stories end after about 35 tokens), so that
#: a scheme reusing the uniforms of a repeated context meets many of them in one reply.
REPETITIVE = " ".join(["fox"] * 40)
#: Largest point space the Walsh–Hadamard attack transforms (2^22 float64: 32 MiB).
MAX_BITS = 22
#: Probabilities below this are treated as zero (their 2^(1 − 1/q) underflows).
TINY = 1e-9
#: The weight of the model's own distribution in the likelihood ratio's alternative.
SLACK = 1e-3
#: Queries asked when the oracle has no budget.
UNBUDGETED = 1


def _level(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    checks.open_unit(attribute.name, value)


def _requests(value: Any) -> tuple[str, ...]:
    """``value`` as a non-empty tuple of non-empty requests, or :class:`InvalidArgument`."""
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not value
        or not all(isinstance(r, str) and r for r in value)
    ):
        raise InvalidArgument(
            f"requests={value!r} must be a non-empty sequence of non-empty strings"
        )
    return tuple(value)


def distributions(
    model: Any, prompt: Sequence[int], reply: Sequence[int], top_k: Any
) -> np.ndarray:
    """The model's next-token distribution at each position of ``reply`` after ``prompt``,
    cut to its ``top_k`` most likely tokens and renormalised (rows over the vocabulary)."""
    prefixes = [tuple(prompt) + tuple(reply[:i]) for i in range(len(reply))]
    rows = np.zeros((len(reply), int(model.vocab_size)))
    if not prefixes:
        return rows
    for i, nxt in enumerate(model.logprobs(prefixes, top_k=top_k)):
        p = np.exp(nxt.logprobs - nxt.logprobs.max())
        rows[i, nxt.ids] = p / p.sum()
    return rows


def _replies(oracles: Oracles, requests: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
    """(request, reply) for every query the budget allows, cycling through ``requests``."""
    generate = oracles["generate"]
    budget = generate.budget if generate.budget is not None else UNBUDGETED
    asked = [requests[i % len(requests)] for i in range(budget)]
    return [(r, tuple(int(t) for t in generate(r))) for r in asked]


def _scored(oracles: Oracles, requests: Sequence[str]) -> list:
    """(prompt, reply, the model's distributions along the reply) for every reply."""
    public = oracles.public
    model = own_model(public)
    top_k = public.get("top_k")
    out = []
    for request, reply in _replies(oracles, requests):
        prompt = model.encode(request)
        out.append((tuple(prompt), reply, distributions(model, prompt, reply, top_k)))
    return out


@register("reuse-likelihood", games=("watermark-undetectable",))
@attrs.frozen(kw_only=True)
class ReuseLikelihood:
    """A likelihood-ratio test against reused uniforms at repeated contexts (see the module).

    ``requests`` are asked in turn, as many as the budget allows (by default
    :data:`REPETITIVE`: the test needs contexts that recur); ``level`` is the
    false-positive rate against the model's own replies (Ville's inequality).
    """

    requests: tuple[str, ...] = attrs.field(default=(REPETITIVE,), converter=_requests)
    level: float = attrs.field(default=0.01, validator=_level)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        h = max(int(oracles.public.get("h", 1)), 1)
        scored = _scored(oracles, self.requests)
        seen: dict[tuple[int, ...], list[tuple[int, np.ndarray]]] = {}
        total = 0.0
        for _prompt, reply, rows in scored:
            for i in range(h, len(reply)):
                context, token, p = tuple(reply[i - h : i]), reply[i], rows[i]
                earlier = seen.setdefault(context, [])
                if earlier and p[token] > 0:
                    # A little of p in the alternative: a float apart from certainty is no proof.
                    alternative = (1 - SLACK) * _revisit(p, earlier)[token] + SLACK * p[token]
                    total += float(np.log(alternative) - np.log(p[token]))
                earlier.append((token, p))
        return int(total >= np.log(1 / self.level))


def _revisit(p: np.ndarray, earlier: Sequence[tuple[int, np.ndarray]]) -> np.ndarray:
    """The next token's distribution under reused uniforms after the ``earlier`` choices at
    this context (token, distribution): the mixture of :func:`_reused` over them (p itself
    when there are none)."""
    if not earlier:
        return p
    return np.mean([_reused(p, previous, t) for t, previous in earlier], axis=0)


def _reused(p: np.ndarray, previous: np.ndarray, t: int) -> np.ndarray:
    """The next token's distribution when the uniforms that chose ``t`` under ``previous``
    are used again under ``p`` (exact for the exp scheme given that one earlier choice)."""
    if p[t] <= 0 or previous[t] <= 0:
        return p
    again = min(1.0, 1.0 / np.maximum(previous, p * (previous[t] / p[t])).sum())
    rest = 1.0 - p[t]
    q = p * ((1.0 - again) / rest) if rest > 0 else np.zeros_like(p)
    q[t] = again
    return q


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """The (unnormalised) Walsh–Hadamard transform of a vector of length 2^n:
    out[a] = Σ_x values[x]·(−1)^(popcount(a & x))."""
    out = np.array(values, dtype=np.float64)
    n = len(out)
    if n & (n - 1):
        raise InvalidArgument(f"the transform needs a length that is a power of two, not {n}")
    half = 1
    while half < n:
        pairs = out.reshape(-1, 2, half)
        left, right = pairs[:, 0].copy(), pairs[:, 1]
        pairs[:, 0] += right
        right[...] = left - right
        half *= 2
    return out


@register("walsh-hadamard", games=("watermark-undetectable",))
@attrs.frozen(kw_only=True)
class WalshHadamard:
    """A search over the affine bits of the PRF's points (see the module): real when some
    affine function of the emitted points' bits is biased beyond what ``level`` allows.

    Each position is weighted by the bias the exp scheme would put on the top bit of its
    emitted uniform, ``μ = Σ_t q_t (1 − 2^(1 − 1/q_t))`` (the winner's uniform is
    Beta(1/q_t, 1)), where q is what the scheme over a random function would emit there:
    the model's p at a context's first use, and at a later use (up to ``revisits`` earlier
    ones) p corrected for the uniforms the earlier choices revealed (:func:`_revisit`, the
    Gumbel race run again). So replies that revisit contexts do not set the attack off over a
    random function (the reduction's other world), while an affine PRF still shows.
    Positions the scheme samples from the model (a context already in the prompt or reply)
    are left out. The threshold is ``sqrt(2 V ln(2^(n+1)/level))`` with V the weighted
    variance q gives a random mask, ``Σ μ² (1 − Σ_t q_t²)``: a Gaussian tail with a union
    bound over the masks (an approximation, not a guarantee: the games measure the
    false-positive rate). Needs points below 2^22 (``h = 1`` and a vocabulary of at most
    2048 tokens). ``requests`` default to a story for every (adjective, subject) of the
    corpus, in a fixed shuffled order, so that replies start apart.
    """

    requests: tuple[str, ...] = attrs.field(factory=lambda: _stories(), converter=_requests)
    level: float = attrs.field(default=1e-4, validator=_level)
    revisits: int = attrs.field(default=3)

    @revisits.validator
    def _check_revisits(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 0)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        peak, threshold = self.statistic(oracles)
        return int(peak >= threshold)

    def statistic(self, oracles: Oracles) -> tuple[float, float]:
        """The largest |D̂(a)| over the masks, and the threshold it is compared with."""
        public = oracles.public
        h, vocab = int(public.get("h", 1)), int(public["vocab"])
        bits = max(1, int(np.ceil((h + 1) * np.log2(vocab))))
        if h < 1 or bits > MAX_BITS:
            raise InvalidArgument(
                f"points of {bits} bits (h={h}, vocab={vocab}) are beyond the "
                f"{MAX_BITS}-bit transform: play h = 1 on a vocabulary of at most 2048 tokens"
            )
        scored = _scored(oracles, self.requests)
        histogram, variance = np.zeros(1 << bits), 0.0
        visits: dict[tuple[int, ...], list[tuple[int, np.ndarray]]] = {}
        for prompt, reply, rows in scored:
            ids = np.asarray(prompt + reply, dtype=np.int64)
            for i, token in enumerate(reply):
                end = len(prompt) + i
                context = tuple(ids[end - h : end].tolist())
                earlier = visits.setdefault(context, [])
                if (
                    seen_context(ids[:end], h)
                    or rows[i][token] <= 0
                    or len(earlier) > self.revisits
                ):
                    continue
                q = _revisit(rows[i], earlier)
                earlier.append((token, rows[i]))
                candidates = np.flatnonzero(q > TINY)
                mass = q[candidates]
                if len(candidates) < 2 or q[token] <= TINY:
                    continue
                weight = float((mass * (1 - 2.0 ** (1 - 1 / mass))).sum())
                base = sum(c * vocab ** (h - k) for k, c in enumerate(context))
                histogram[base + token] += weight
                np.add.at(histogram, base + candidates, -weight * mass)
                variance += weight**2 * (1 - float((mass**2).sum()))
        if variance <= 0:
            return 0.0, float("inf")
        peak = float(np.abs(walsh_hadamard(histogram)).max())
        return peak, float(np.sqrt(2 * variance * np.log(2.0 ** (bits + 1) / self.level)))


def _stories() -> tuple[str, ...]:
    """A story request for every (adjective, subject) of the corpus, in a fixed order."""
    stories = [f"Tell me a story about a {a} {s}." for a in ADJECTIVES for s in STORY_SUBJECTS]
    order = np.random.default_rng(7).permutation(len(stories))
    return tuple(stories[i] for i in order)
