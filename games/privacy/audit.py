"""Auditing a DP claim: TPR at low FPR, and ε lower bounds that hold with stated confidence.

Many runs (:func:`audit`). An (ε, δ)-DP trainer forces every membership test to satisfy
TPR ≤ e^ε·FPR + δ and 1 − FPR ≤ e^ε·(1 − TPR) + δ. Measured rates turn these into a lower
bound on ε. It is valid only if the rates come from trials the test's threshold was not
chosen on, so :func:`audit` picks the threshold on a calibration split and bounds the rates
on the held-out rest with one-sided Clopper–Pearson bounds (Bonferroni over the two rates).

One run (:func:`one_run_audit`; Steinke, Nasr and Jagielski 2023, "Privacy Auditing with
One (1) Training Run", arXiv 2305.08846). ``m`` canaries are each put in the training set
independently with probability 1/2, one model is trained, and the auditor guesses "in" or
"out" for ``r`` of them (abstaining on the rest). Under (ε, δ)-DP the number of right
guesses is dominated by Binomial(r, e^ε/(1 + e^ε)) up to a δ term
(:func:`one_run_p_value`), so many right guesses refute small ε
(:func:`one_run_epsilon`). One model costs one training run instead of thousands, at the
price of a looser bound.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import torch
from scipy import optimize, special
from scipy import stats as sps

from games import stats
from games.engine import seeds
from games.privacy import accounting
from games.privacy.membership import Membership, mislabel
from games.registry import GAMES
from oracles import InvalidArgument, checks

__all__ = [
    "DELTA",
    "Audit",
    "OneRunAudit",
    "Scorer",
    "audit",
    "epsilon_lower_bound",
    "membership_scores",
    "one_run_audit",
    "one_run_epsilon",
    "one_run_p_value",
    "tpr_at_fpr",
]

#: The δ at which DP-SGD's ε is stated here (as ``advantage audit --delta`` and the
#: ``dp-sgd`` proof): below 1/n for the training sets of the membership game.
DELTA = 1e-5


def _scores(scores: Any, members: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, float)
    m = np.asarray(members).astype(bool)
    if s.ndim != 1 or s.shape != m.shape:
        raise InvalidArgument(
            f"scores and members must be 1-D of one length, got {s.shape} and {m.shape}"
        )
    if not np.isfinite(s).all():
        raise InvalidArgument("scores must be finite")
    if m.all() or not m.any():
        raise InvalidArgument("members must contain both members and non-members")
    return s, m


def tpr_at_fpr(scores: Any, members: Any, fpr: float) -> tuple[float, float]:
    """The highest TPR of the test ``score > threshold`` whose FPR is at most ``fpr``.

    Returns (tpr, threshold), measured on the scores given (an optimistic figure; use
    :func:`audit` for a bound).
    """
    if not 0 <= fpr <= 1:
        raise InvalidArgument(f"fpr={fpr!r} must be in [0, 1]")
    s, m = _scores(scores, members)
    out = s[~m]
    allowed = int(math.floor(fpr * len(out)))
    # The threshold is the (allowed+1)-th largest non-member score: at most `allowed` exceed it.
    ordered = np.sort(out)[::-1]
    threshold = float(ordered[allowed]) if allowed < len(ordered) else -math.inf
    return float(np.mean(s[m] > threshold)), threshold


def epsilon_lower_bound(
    true_pos: int,
    members: int,
    false_pos: int,
    non_members: int,
    *,
    delta: float,
    level: float = 0.95,
) -> float:
    """ε that (ε, δ)-DP would need to allow these counts, at confidence ``level``.

    Uses a one-sided Clopper–Pearson lower bound on TPR and upper bound on FPR, each at
    level 1 − (1 − level)/2. Returns 0 when the counts are consistent with ε = 0.
    """
    delta, level = (
        checks.number("delta", delta, 0, 1, open_high=True),
        checks.open_unit("level", level),
    )
    each = 1 - (1 - level) / 2
    tpr = stats.binomial_bound(true_pos, members, each, side="lower")
    fpr = stats.binomial_bound(false_pos, non_members, each, side="upper")
    bounds = [0.0]
    if tpr - delta > 0 and fpr > 0:
        bounds.append(math.log((tpr - delta) / fpr))
    if 1 - fpr - delta > 0 and tpr < 1:
        bounds.append(math.log((1 - fpr - delta) / (1 - tpr)))
    return max(bounds)


@attrs.frozen(kw_only=True)
class Audit:
    """An audit's result: ε ≥ ``epsilon`` with confidence ``level`` (the threshold was
    chosen on ``calibration`` trials, the rates measured on ``evaluation`` others)."""

    epsilon: float
    threshold: float
    tpr: float
    fpr: float
    level: float
    delta: float
    calibration: int
    evaluation: int
    method: str = "clopper-pearson, bonferroni over tpr and fpr, held-out threshold"


def audit(
    scores: Any,
    members: Any,
    *,
    delta: float,
    level: float = 0.95,
    calibration: float = 0.5,
    rng: np.random.Generator,
) -> Audit:
    """Lower-bound ε from membership scores (higher score: guessed member).

    Args:
        scores, members: one score and the true bit per trial.
        calibration: the fraction of trials (drawn at random with ``rng``) on which the
            threshold is chosen; the bound uses only the others.
    """
    s, m = _scores(scores, members)
    if not 0 < calibration < 1:
        raise InvalidArgument(f"calibration={calibration!r} must be in (0, 1)")
    order = rng.permutation(len(s))
    cut = int(round(calibration * len(s)))
    fit, held = order[:cut], order[cut:]
    if min(m[fit].sum(), (~m[fit]).sum(), m[held].sum(), (~m[held]).sum()) == 0:
        raise InvalidArgument("both splits need members and non-members: use more trials")

    def bound(idx: np.ndarray, threshold: float) -> float:
        guess = s[idx] > threshold
        inside, outside = m[idx], ~m[idx]
        return epsilon_lower_bound(
            int((guess & inside).sum()),
            int(inside.sum()),
            int((guess & outside).sum()),
            int(outside.sum()),
            delta=delta,
            level=level,
        )

    candidates = np.unique(np.concatenate([s[fit], [-math.inf]]))
    best = max(candidates, key=lambda t: bound(fit, float(t)))
    guess = s[held] > best
    return Audit(
        epsilon=bound(held, float(best)),
        threshold=float(best),
        tpr=float(guess[m[held]].mean()),
        fpr=float(guess[~m[held]].mean()),
        level=level,
        delta=delta,
        calibration=len(fit),
        evaluation=len(held),
    )


@runtime_checkable
class Scorer(Protocol):
    """An adversary that gives a membership score per trial (higher: member)."""

    def scores(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray: ...


def membership_scores(
    game: Any, scorer: Scorer, *, trials: int, seed: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``trials`` batched trials of a membership game and collect (scores, bits).

    Trials whose model diverged are left out. Randomness: chunk ``[start, stop)`` draws
    from the engine's batched streams (:func:`games.engine.seeds.pair`).
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise InvalidArgument(f"trials={trials!r} must be an integer >= 2")
    all_scores, all_bits = [], []
    for start in range(0, trials, chunk):
        stop = min(trials, start + chunk)
        challenger, attacker = seeds.pair(seed, start, stop, batch=True)
        bits = challenger.integers(2, size=stop - start)
        challenge = game.setup_batch(bits, challenger)
        found = np.asarray(scorer.scores(challenge.handles(), attacker, stop - start), float)
        kept = ~np.asarray(challenge.failed, bool) if challenge.failed is not None else slice(None)
        all_scores.append(found[kept])
        all_bits.append(bits[kept])
    return np.concatenate(all_scores), np.concatenate(all_bits)


# -- one training run ---------------------------------------------------------------------


def _count(name: str, value: Any, high: int | None = None, bound: str = "") -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < 0
        or (high is not None and value > high)
    ):
        if high is None:
            raise InvalidArgument(f"{name}={value!r} must be a non-negative integer")
        raise InvalidArgument(f"{name}={value!r} must be an integer in [0, {bound or high}]")
    return int(value)


def _counts(m: Any, r: Any, v: Any) -> tuple[int, int, int]:
    m = _count("m", m)
    r = _count("r", r, m, f"m={m}")
    v = _count("v", v, r, f"r={r}")
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
    if (
        isinstance(eps, bool)
        or not isinstance(eps, int | float)
        or not (math.isfinite(eps) and eps >= 0)
    ):
        raise InvalidArgument(f"eps={eps!r} must be a finite number >= 0")
    return _p_value(m, r, v, float(eps), checks.number("delta", delta, 0, 1, open_high=True))


def one_run_epsilon(m: int, r: int, v: int, *, delta: float, level: float = 0.95) -> float:
    """The ε lower bound at confidence ``level``: the largest ε whose p-value is ≤ 1 − level.

    Every (ε', δ)-DP trainer with ε' at or below the returned ε would have produced ``v``
    right guesses out of ``r`` with probability at most 1 − level. Returns 0 when even
    ε = 0 is not rejected. The p-value is monotone in ε, so the crossing is found by
    Brent's method on a bracket that doubles until it holds the crossing.
    """
    m, r, v = _counts(m, r, v)
    delta = checks.number("delta", delta, 0, 1, open_high=True)
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
            :data:`DELTA`); accountant: ``rdp`` or ``pld``, for the claimed ε.
    """
    started = time.perf_counter()
    if not isinstance(game, Membership):
        raise InvalidArgument(
            f"the one-run audit needs a membership game, got {type(game).__name__}"
        )
    pool = game.population()
    room = pool.size - game.training_size
    if isinstance(canaries, bool) or not isinstance(canaries, int | np.integer):
        raise InvalidArgument(f"canaries={canaries!r} must be an integer in [1, {room}]")
    if not 1 <= canaries <= room:
        raise InvalidArgument(
            f"canaries={canaries!r} must be an integer in [1, {room}] (the population's "
            f"{pool.size} records minus training_size={game.training_size})"
        )
    m = int(canaries)
    k_in = _count("guesses_in", guesses_in)
    k_out = _count("guesses_out", guesses_out)
    if not 1 <= k_in + k_out <= m:
        raise InvalidArgument(
            f"guesses_in + guesses_out = {k_in + k_out} must be in [1, canaries={m}]"
        )
    seed = _count("seed", seed)
    level = checks.open_unit("level", level)
    delta = DELTA if delta is None else checks.number("delta", delta, 0, 1, open_high=True)
    if accountant not in accounting.ACCOUNTANTS:
        raise InvalidArgument(
            f"accountant={accountant!r} must be one of: {', '.join(accounting.ACCOUNTANTS)}"
        )

    trainer = game.scheme()
    # Fixed before any canary is drawn, so the sampling rate and the number of steps do
    # not depend on which canaries are in: the run is one mechanism on every inclusion.
    size = game.training_size + m // 2
    claimed: float | None = None
    if getattr(trainer, "private", False):
        try:
            claimed = float(trainer.epsilon(delta, size, accountant=accountant))  # type: ignore[attr-defined]
        except InvalidArgument as error:
            claim = str(error)
        else:
            claim = f"{accountant} accountant of {accounting.available()}, for {size} records"
    else:
        claim = f"trainer={game.trainer!r} makes no DP claim"

    records, training, ties = np.random.SeedSequence(seed).spawn(3)
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
    device = game.device or "cpu"
    trained = trainer.train(pool.X, y, mask, [training], device, size=size)
    scores = (
        -trainer.loss(trained.params, torch.as_tensor(pool.X[canary]), torch.as_tensor(labels))[0]
        .cpu()
        .numpy()
    )
    if trained.diverged[0] or not np.isfinite(scores).all():
        raise InvalidArgument(
            "the model diverged (its loss is not finite): use a smaller lr or another seed"
        )

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
        device=device,
        seconds=time.perf_counter() - started,
    )
