"""Auditing a DP claim with one training run (Steinke, Nasr and Jagielski 2023).

"Privacy Auditing with One (1) Training Run", arXiv 2305.08846. ``m`` canaries are each
put in the training set independently with probability 1/2, one model is trained, and the
auditor guesses "in" or "out" for ``r`` of them (abstaining on the rest). Under (ε, δ)-DP
the number of right guesses is dominated by Binomial(r, e^ε/(1 + e^ε)) up to a δ term
(:func:`one_run_p_value`), so many right guesses refute small ε (:func:`one_run_epsilon`).
One model costs one training run instead of thousands, at the price of a looser bound.
:func:`one_run_audit` runs the whole procedure on a membership game's trainer.
"""

from __future__ import annotations

import time
from typing import Any

import attrs
import numpy as np
import torch
from scipy import optimize, special
from scipy import stats as sps

from games.privacy import accounting
from games.privacy.accounting import DELTA
from games.privacy.membership import Membership, mislabel
from games.privacy.training import Trainer
from games.registry import GAMES
from oracles import InvalidArgument, checks

__all__ = ["OneRunAudit", "one_run_audit", "one_run_epsilon", "one_run_p_value"]


def _within(name: str, value: Any, high: int, bound: str) -> int:
    """An integer in [0, high], the bound named in the message (``r=11 … [0, m=10]``)."""
    try:
        return checks.integer(name, value, 0, high)
    except InvalidArgument:
        raise InvalidArgument(f"{name}={value!r} must be an integer in [0, {bound}]") from None


def _counts(m: Any, r: Any, v: Any) -> tuple[int, int, int]:
    m = checks.whole("m", m)
    r = _within("r", r, m, f"m={m}")
    v = _within("v", v, r, f"r={r}")
    return m, r, v


def _p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    q = special.expit(eps)  # e^ε/(1 + e^ε): how often ε-DP randomised response is right
    beta = float(sps.binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    if v == 0 or delta == 0 or m == 0:
        return min(1.0, beta)
    # P[v - i <= Binomial(r, q) < v] for i = 1..v: the pmf summed downwards from v - 1.
    below = np.cumsum(sps.binom.pmf(np.arange(v - 1, -1, -1), r, q))
    alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(1.0, beta + 2 * m * delta * alpha)


def _delta(delta: Any) -> float:
    return checks.number("delta", delta, 0, 1, open_high=True)


def one_run_p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """An upper bound on the probability of ``v`` or more right guesses under (ε, δ)-DP.

    ``m`` canaries are each included independently with probability 1/2 and the auditor
    guesses ``r`` of them. With q = e^ε/(1 + e^ε), β = P[Binomial(r, q) ≥ v] and
    α = max over i in 1..v of P[v − i ≤ Binomial(r, q) < v]/i, the bound is
    min(1, β + 2·m·δ·α) (Steinke, Nasr and Jagielski 2023). It grows with ε and with δ.

    Args:
        m: canaries; r: guesses made (0 ≤ r ≤ m); v: right guesses (0 ≤ v ≤ r).
        eps: the ε of the null hypothesis (finite, ≥ 0); delta: its δ, in [0, 1).
    """
    m, r, v = _counts(m, r, v)
    return _p_value(m, r, v, checks.number("eps", eps, 0), _delta(delta))


def one_run_epsilon(m: int, r: int, v: int, *, delta: float, level: float = 0.95) -> float:
    """The ε lower bound at confidence ``level``: the largest ε whose p-value is ≤ 1 − level.

    Every (ε', δ)-DP trainer with ε' at or below the returned ε would have produced ``v``
    right guesses out of ``r`` with probability at most 1 − level. Returns 0 when even
    ε = 0 is not rejected. The p-value is monotone in ε, so the crossing is found by
    Brent's method on a bracket that doubles until it holds the crossing.
    """
    m, r, v = _counts(m, r, v)
    delta = _delta(delta)
    alpha = 1 - checks.open_unit("level", level)

    def excess(eps: float) -> float:
        return _p_value(m, r, v, eps, delta) - alpha

    if excess(0.0) > 0:
        return 0.0
    low, high = 0.0, 1.0
    # For ε beyond ~40, q rounds to 1 and the p-value is 1: the doubling stops by then.
    while excess(high) <= 0:
        low, high = high, 2 * high
    tol = 1e-9
    eps = float(optimize.brentq(excess, low, high, xtol=tol))
    # Brent's answer lies within tol of the crossing; report a point on the rejected side
    # so the bound never overstates.
    while eps > low and excess(eps) > 0:
        eps = max(low, eps - tol)
    return eps


@attrs.frozen(kw_only=True)
class OneRunAudit:
    """A one-run audit's result: ε ≥ ``epsilon`` at ``delta``, with confidence ``level``.

    Attributes:
        epsilon: the lower bound (:func:`one_run_epsilon` of canaries, guesses, correct).
        canaries: m, mislabeled records each included with probability 1/2.
        guesses: r = guesses_in + guesses_out; correct: v, the right ones among them
            (correct_in of the "in" guesses, correct_out of the "out" ones).
        included: canaries that were in the training set.
        claimed_epsilon: the ε the trainer claims for this run at ``delta`` (None without
            a claim; ``claim`` says where it comes from, or why there is none).
        game, params, seed, device: what was trained, and how.
        size: the nominal training-set size that fixed the sampling rate and the steps
            (the training set plus half the canaries, whichever were drawn).
        seconds: wall time of the whole audit (training included).
    """

    epsilon: float
    canaries: int
    guesses: int
    correct: int
    level: float
    delta: float
    guesses_in: int
    guesses_out: int
    correct_in: int
    correct_out: int
    included: int
    claimed_epsilon: float | None
    claim: str
    game: str
    params: dict[str, Any]
    size: int
    seed: int
    device: str
    seconds: float
    method: str = (
        "one training run (Steinke, Nasr and Jagielski 2023): binomial p-value with a δ term, "
        "guess counts fixed before scoring"
    )

    @property
    def refuted(self) -> bool:
        """Whether the lower bound exceeds the claimed ε (at ``level``)."""
        return self.claimed_epsilon is not None and self.epsilon > self.claimed_epsilon

    def to_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "refuted": self.refuted}


def one_run_audit(
    game: Membership,
    *,
    canaries: int,
    guesses_in: int,
    guesses_out: int,
    seed: int,
    level: float = 0.95,
    delta: float | None = None,
    accountant: str = "rdp",
) -> OneRunAudit:
    """Audit ``game``'s trainer with one training run (Steinke, Nasr and Jagielski 2023).

    The training set (``game.training_size`` population records) and ``canaries`` other
    population records are drawn at random; each canary gets a wrong label (as the
    game's ``mislabeled`` target) and is included independently with probability 1/2.
    One model is trained with the game's trainer, model and data (``target``, ``access``
    and ``queries`` do not apply), on ``game.device``. Each canary's score is the model's
    negative loss on it; the ``guesses_in`` highest-scoring canaries are guessed "in",
    the ``guesses_out`` lowest "out", and the rest abstained on.

    The bound is valid only because the numbers of guesses are fixed before the scores
    are seen: choosing them after looking (say, guessing only where the model is most
    confident and as many as looks good) would be a search over tests that the p-value
    does not account for.

    Args:
        canaries: m, at most the population size minus ``game.training_size``.
        guesses_in, guesses_out: k+ and k−, with 1 ≤ k+ + k− ≤ m.
        seed: draws the records, the labels, the inclusions, the training and ties.
        level: confidence of the bound; delta: its δ and the claim's (default
            :data:`~games.privacy.accounting.DELTA`); accountant: ``rdp`` or ``pld``, for
            the claimed ε.
    """
    started = time.perf_counter()
    if not isinstance(game, Membership):
        raise InvalidArgument(
            f"the one-run audit needs a membership game, got {type(game).__name__}"
        )
    m, k_in, k_out = _guesses(game, canaries, guesses_in, guesses_out)
    seed = checks.whole("seed", seed)
    level = checks.open_unit("level", level)
    delta = DELTA if delta is None else _delta(delta)
    accountant = checks.choice("accountant", accountant, accounting.ACCOUNTANTS)

    trainer = game.scheme()
    # Fixed before any canary is drawn, so the sampling rate and the number of steps do
    # not depend on which canaries are in: the run is one mechanism on every inclusion.
    size = game.training_size + m // 2
    claimed, claim = _claim(game, trainer, delta, size, accountant)
    records, training, ties = np.random.SeedSequence(seed).spawn(3)
    scores, included = _canary_scores(game, trainer, m, size, records, training)
    # Ascending score, ties in random order (independent of the inclusions).
    ranked = np.lexsort((np.random.default_rng(ties).random(m), scores))
    guessed_out, guessed_in = ranked[:k_out], ranked[m - k_in :]
    correct_in = int(included[guessed_in].sum())
    correct_out = int((~included[guessed_out]).sum())
    r, v = k_in + k_out, correct_in + correct_out
    return OneRunAudit(
        epsilon=one_run_epsilon(m, r, v, delta=delta, level=level),
        canaries=m,
        guesses=r,
        correct=v,
        level=level,
        delta=delta,
        guesses_in=k_in,
        guesses_out=k_out,
        correct_in=correct_in,
        correct_out=correct_out,
        included=int(included.sum()),
        claimed_epsilon=claimed,
        claim=claim,
        game=GAMES.name_of(type(game)) or type(game).__name__,
        params=game.describe(),
        size=size,
        seed=seed,
        device=game.device or "cpu",
        seconds=time.perf_counter() - started,
    )


def _guesses(
    game: Membership, canaries: Any, guesses_in: Any, guesses_out: Any
) -> tuple[int, int, int]:
    """(m, k+, k−), checked against the population and each other."""
    pool = game.population()
    try:
        m = checks.integer("canaries", canaries, 1, pool.size - game.training_size)
    except InvalidArgument as error:
        raise InvalidArgument(
            f"{error} (the population's {pool.size} records minus "
            f"training_size={game.training_size})"
        ) from None
    k_in = checks.whole("guesses_in", guesses_in)
    k_out = checks.whole("guesses_out", guesses_out)
    if not 1 <= k_in + k_out <= m:
        raise InvalidArgument(
            f"guesses_in + guesses_out = {k_in + k_out} must be in [1, canaries={m}]"
        )
    return m, k_in, k_out


def _claim(
    game: Membership, trainer: Trainer, delta: float, size: int, accountant: str
) -> tuple[float | None, str]:
    """The ε the trainer claims for ``size`` records at ``delta``, and where it comes from
    (or why there is none)."""
    if not getattr(trainer, "private", False):
        return None, f"trainer={game.trainer!r} makes no DP claim"
    try:
        claimed = float(trainer.epsilon(delta, size, accountant=accountant))  # type: ignore[attr-defined]
    except accounting.NoAccountant:
        raise  # refused before the training run, not reported as "no claim" after it
    except InvalidArgument as error:
        return None, str(error)
    return claimed, f"{accountant} accountant of {accounting.available()}, for {size} records"


def _canary_scores(
    game: Membership,
    trainer: Trainer,
    m: int,
    size: int,
    records: np.random.SeedSequence,
    training: np.random.SeedSequence,
) -> tuple[np.ndarray, np.ndarray]:
    """Train the one model on the training set and the included canaries: each canary's
    score (its negative loss) and whether it was included."""
    pool = game.population()
    rng = np.random.default_rng(records)
    order = rng.permutation(pool.size)
    chosen, canary = order[: game.training_size], order[game.training_size :][:m]
    labels = mislabel(pool.y[canary], pool.classes, rng)
    included = rng.random(m) < 0.5
    y = pool.y.copy()
    y[canary] = labels
    mask = np.zeros((1, pool.size), bool)
    mask[0, chosen] = True
    mask[0, canary[included]] = True
    trained = trainer.train(pool.X, y, mask, [training], game.device or "cpu", size=size)
    scores = (
        -trainer.loss(trained.params, torch.as_tensor(pool.X[canary]), torch.as_tensor(labels))[0]
        .cpu()
        .numpy()
    )
    if trained.diverged[0] or not np.isfinite(scores).all():
        raise InvalidArgument(
            "the model diverged (its loss is not finite): use a smaller lr or another seed"
        )
    return scores, included
