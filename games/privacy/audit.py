"""Auditing a DP claim: TPR at low FPR, and an ε lower bound that holds with stated confidence.

An (ε, δ)-DP trainer forces every membership test to satisfy TPR ≤ e^ε·FPR + δ and
1 − FPR ≤ e^ε·(1 − TPR) + δ. Measured rates turn these into a lower bound on ε. It is valid
only if the rates come from trials the test's threshold was not chosen on, so
:func:`audit` picks the threshold on a calibration split and bounds the rates on the
held-out rest with one-sided Clopper–Pearson bounds (Bonferroni over the two rates).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import attrs
import numpy as np

from games import stats
from oracles import InvalidArgument

__all__ = ["Audit", "Scorer", "audit", "epsilon_lower_bound", "membership_scores", "tpr_at_fpr"]


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
    if not 0 <= delta < 1:
        raise InvalidArgument(f"delta={delta!r} must be in [0, 1)")
    if not 0 < level < 1:
        raise InvalidArgument(f"level={level!r} must be in (0, 1)")
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


class Scorer(Protocol):
    """An adversary that also gives a membership score per trial (higher: member)."""

    def scores(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray: ...


def membership_scores(
    game: Any, scorer: Scorer, *, trials: int, seed: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``trials`` batched trials of a membership game and collect (scores, bits).

    Trials whose model diverged are left out. Randomness: chunk ``[start, stop)`` draws
    from ``SeedSequence(seed, spawn_key=(start, stop, 0|1))``, as the engine's batched path.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise InvalidArgument(f"trials={trials!r} must be an integer >= 2")
    all_scores, all_bits = [], []
    for start in range(0, trials, chunk):
        stop = min(trials, start + chunk)
        challenger, attacker = (
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(start, stop, side)))
            for side in (0, 1)
        )
        bits = challenger.integers(2, size=stop - start)
        challenge = game.setup_batch(bits, challenger)
        found = np.asarray(scorer.scores(challenge.handles(), attacker, stop - start), float)
        kept = ~np.asarray(challenge.failed, bool) if challenge.failed is not None else slice(None)
        all_scores.append(found[kept])
        all_bits.append(bits[kept])
    return np.concatenate(all_scores), np.concatenate(all_bits)
