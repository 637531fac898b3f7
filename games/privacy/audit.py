"""Auditing a DP claim: TPR at low FPR, and ε lower bounds that hold with stated confidence.

Many runs. An (ε, δ)-DP trainer forces every membership test to satisfy TPR ≤ e^ε·FPR + δ
and 1 − FPR ≤ e^ε·(1 − TPR) + δ. Measured rates turn these into a lower bound on ε
(:func:`epsilon_lower_bound`). It is valid only if the rates come from trials the test's
threshold was not chosen on, so :func:`audit` picks the threshold on a calibration split and
bounds the rates on the held-out rest with one-sided Clopper–Pearson bounds (Bonferroni over
the two rates).

:func:`run_audit` is the whole procedure behind ``advantage audit``: it plays a membership
game against a scoring adversary (:func:`membership_scores`), splits the trials at random
into a calibration half (where thresholds are chosen) and a held-out half (where rates are
measured), and reports (:class:`AuditReport`) the adversary's advantage with its own answers,
TPR at a low FPR, the ε lower bound and the ε the trainer claims, the three figures together
at one family level (Bonferroni). The audit with one training run is in
:mod:`games.privacy.one_run`; its names are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from games import stats
from games.engine import seeds
from games.engine.options import RunOptions
from games.engine.records import Played
from games.engine.runs import play
from games.privacy import accounting
from games.privacy.accounting import DELTA, dp_advantage_bound
from games.privacy.one_run import OneRunAudit, one_run_audit, one_run_epsilon, one_run_p_value
from games.registry import ADVERSARIES, GAMES
from oracles import InvalidArgument, checks

__all__ = [
    "DELTA",
    "FIGURES",
    "Audit",
    "AuditReport",
    "Claims",
    "OneRunAudit",
    "Scorer",
    "ScoringAdversary",
    "Thresholded",
    "audit",
    "epsilon_lower_bound",
    "membership_scores",
    "one_run_audit",
    "one_run_epsilon",
    "one_run_p_value",
    "run_audit",
    "tpr_at_fpr",
]

#: The figures that share the family level: the advantage, TPR at FPR, the ε lower bound.
FIGURES = 3


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
    fpr = checks.unit("fpr", fpr)
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
    delta = checks.number("delta", delta, 0, 1, open_high=True)
    level = checks.open_unit("level", level)
    members = checks.positive("members", members)
    non_members = checks.positive("non_members", non_members)
    checks.integer("true_pos", true_pos, 0, members)
    checks.integer("false_pos", false_pos, 0, non_members)
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
    calibration = checks.open_unit("calibration", calibration)
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
class ScoringAdversary(Protocol):
    """An adversary that gives a membership score per trial (higher: member)."""

    def scores(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray: ...


#: The old name of :class:`ScoringAdversary` (``games.lm.Scorer`` is a model's capability).
Scorer = ScoringAdversary


def membership_scores(
    game: Any,
    scorer: ScoringAdversary,
    *,
    trials: int,
    seed: int,
    chunk: int = 1024,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``trials`` batched trials of a membership game and collect (scores, bits).

    Trials whose model diverged before the adversary played are left out; one that diverged
    once the adversary submitted its canary is its loss, a score on the wrong side of every
    threshold. The trials are the engine's (its one loop,
    :func:`games.engine.runs.play`), batched in chunks of ``chunk``; ``progress(done,
    total)`` is called after each.
    """
    checks.integer("trials", trials, 2)
    parts = []
    done = 0
    for part in play(
        game, scorer, seed, [(0, trials)], options=RunOptions(chunk_size=chunk), batched=True,
        collect="scores",
    ):  # fmt: skip
        parts.append(part)
        done += sum(b - a for a, b in part[0].ranges)
        if progress is not None:
            progress(done, trials)
    parts.sort(key=lambda part: part[0].ranges[0][0])
    scores = np.concatenate([found for _, (found, _) in parts])
    bits = np.concatenate([hidden for _, (_, hidden) in parts])
    return scores, bits


# -- the audit of `advantage audit` ------------------------------------------------------


@runtime_checkable
class Thresholded(Protocol):
    """A scorer that answers 1 when its score exceeds ``cutoff(game)``."""

    def cutoff(self, game: Any) -> float: ...


@runtime_checkable
class Claims(Protocol):
    """A game whose scheme claims an ε at a given δ (the membership game)."""

    def epsilon(self, delta: float, *, accountant: str = "rdp") -> float: ...


@attrs.frozen(kw_only=True)
class AuditReport(Played):
    """Everything an audit found, as plain values (see :meth:`to_json`)."""

    trials: int
    kept: int
    seed: int
    level: float
    each: float
    delta: float
    fpr_target: float
    advantage: dict[str, Any]
    tpr_at_fpr: dict[str, Any]
    epsilon_lower: dict[str, Any]
    claimed: dict[str, Any]
    roc: dict[str, Any] = attrs.field(factory=dict)

    @property
    def refutations(self) -> tuple[str, ...]:
        """How the measurements refute the claim, if they do: each sentence one way."""
        eps = self.claimed.get("epsilon")
        if eps is None:
            return ()
        out = []
        if self.epsilon_lower["epsilon"] > eps:
            out.append(f"ε ≥ {self.epsilon_lower['epsilon']:.4f} exceeds the claimed ε = {eps:.4f}")
        adv = self.advantage
        if adv.get("estimate") is not None and adv["ci_low"] > self.claimed["advantage_bound"]:
            out.append(
                f"the advantage is at least {adv['ci_low']:.4f}, above the "
                f"{self.claimed['advantage_bound']:.4f} that the claimed ε allows"
            )
        return tuple(out)

    @property
    def refuted(self) -> bool:
        """Whether a figure contradicts the claimed ε (at the family level)."""
        return bool(self.refutations)

    def to_json(self) -> dict[str, Any]:
        return {
            **attrs.asdict(self),
            "refuted": self.refuted,
            "refutations": list(self.refutations),
        }


def run_audit(
    game: Any,
    adversary: Any,
    *,
    trials: int,
    seed: int,
    delta: float = DELTA,
    fpr: float = 0.01,
    level: float = 0.95,
    calibration: float = 0.5,
    accountant: str = "rdp",
    game_name: str | None = None,
    adversary_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Audit ``game``'s DP claim with ``adversary``'s membership scores.

    Args:
        game: a hidden-bit game with a batched path (``membership``).
        adversary: a :class:`ScoringAdversary`; its advantage is measured too when it is
            :class:`Thresholded`.
        trials, seed: the trials played (models that diverged before the adversary played are left out) and their seed.
        delta: the δ of the ε bound and of the claim.
        fpr: the false-positive rate at which TPR is reported.
        level: the family level of the three figures.
        calibration: the fraction of trials on which thresholds are chosen.
        accountant: ``rdp`` or ``pld``, for the claimed ε.
        game_name, adversary_name: the names the report (and its errors) give them.
        progress: called as ``progress(done, total)`` as the trials are played.
    """
    trials = checks.integer("trials", trials, 4)
    seed = checks.whole("seed", seed)
    level = checks.open_unit("level", level)
    delta = checks.open_unit("delta", delta)
    fpr = checks.number("fpr", fpr, 0, 1, open_high=True)
    calibration = checks.open_unit("calibration", calibration)
    _check_audited(game, adversary, game_name, adversary_name)
    each = 1 - (1 - level) / FIGURES
    # Before any trial: an accountant that is not installed is refused, not found out after.
    claimed = _claimed(game, delta, accountant)

    scores, bits = membership_scores(game, adversary, trials=trials, seed=seed, progress=progress)
    members = bits.astype(bool)
    kept = len(scores)
    if kept < 4 or members.all() or not members.any():
        raise InvalidArgument(
            f"only {kept} of {trials} trials kept (the others diverged) without both members "
            "and non-members: use more trials or a smaller learning rate"
        )
    advantage = _advantage(game, adversary, scores, members, each)
    found = audit(scores, bits, delta=delta, level=each, calibration=calibration, rng=_split(seed))
    # The same permutation as the audit's, so every figure is measured on one held-out half.
    order = _split(seed).permutation(kept)
    fit, held = order[: int(round(calibration * kept))], order[int(round(calibration * kept)) :]
    return AuditReport(
        game=game_name or GAMES.name_of(type(game)) or type(game).__name__,
        params=game.describe(),
        adversary=adversary_name
        or ADVERSARIES.name_of(type(adversary))
        or type(adversary).__name__,
        adversary_params=attrs.asdict(adversary) if attrs.has(type(adversary)) else {},  # type: ignore[arg-type]
        trials=trials,
        kept=kept,
        seed=seed,
        level=level,
        each=each,
        delta=delta,
        fpr_target=fpr,
        advantage=advantage,
        tpr_at_fpr=_held_out_rates(scores, members, fit, held, fpr, each),
        epsilon_lower=attrs.asdict(found, filter=lambda field, _: field.name != "delta"),
        claimed=_tightness(claimed, found.epsilon),
        # The ROC of the held-out half, where the rates are measured, for plots.
        roc=_roc(scores[held], members[held]),
    )


def _split(seed: int) -> np.random.Generator:
    """The generator of the calibration/held-out split: its own stream of the run's seed."""
    return seeds.generator(seed, b"audit-split")


def _check_audited(
    game: Any, adversary: Any, game_name: str | None, adversary_name: str | None
) -> None:
    if getattr(game, "shape", None) != "hidden-bit" or not game.batched:
        raise InvalidArgument(
            f"game {game_name or type(game).__name__} cannot be audited: the audit needs a "
            "hidden-bit game with a batched path (membership)"
        )
    if not isinstance(adversary, ScoringAdversary):
        raise InvalidArgument(
            f"adversary {adversary_name or type(adversary).__name__} gives no membership scores "
            "(it needs a scores(oracles, rng, size) method): use lira, loss-threshold or "
            "gradient-canary"
        )


def _advantage(
    game: Any, adversary: Any, scores: np.ndarray, members: np.ndarray, each: float
) -> dict[str, Any]:
    """The adversary's advantage with its own answers: its threshold comes from its own
    simulated trials, fixed before these, so every trial counts."""
    advantage: dict[str, Any] = {"level": each, "method": "clopper-pearson"}
    if not isinstance(adversary, Thresholded):
        advantage.update(estimate=None, reason="the adversary exposes no threshold (cutoff)")
        return advantage
    answers = scores > adversary.cutoff(game)
    wins = int((answers == members).sum())
    low, high = stats.advantage_interval("hidden-bit", wins, len(scores), each)
    advantage.update(
        estimate=2 * wins / len(scores) - 1,
        ci_low=low,
        ci_high=high,
        wins=wins,
        trials=len(scores),
    )
    return advantage


def _claimed(game: Any, delta: float, accountant: str) -> dict[str, Any]:
    """The ε the game's scheme claims at ``delta`` and the advantage it allows (or why there
    is no claim). Raises :class:`~games.privacy.accounting.NoAccountant` when the game
    states an ε that no installed library can compute."""
    claimed: dict[str, Any] = {"delta": delta, "accountant": accountant}
    if not isinstance(game, Claims):
        claimed.update(epsilon=None, reason="the game states no ε")
        return claimed
    try:
        eps = float(game.epsilon(delta, accountant=accountant))
    except accounting.NoAccountant:
        raise
    except InvalidArgument as error:
        claimed.update(epsilon=None, reason=str(error))
        return claimed
    claimed.update(
        epsilon=eps,
        advantage_bound=dp_advantage_bound(eps, delta),
        library=accounting.available(),
    )
    return claimed


def _tightness(claimed: dict[str, Any], lower: float) -> dict[str, Any]:
    """``claimed`` with how much of its ε the lower bound ``lower`` reaches."""
    eps = claimed["epsilon"]
    if eps is None:
        return claimed
    return {**claimed, "tightness": lower / eps if eps > 0 else math.nan}


def _held_out_rates(
    s: np.ndarray, m: np.ndarray, fit: np.ndarray, held: np.ndarray, fpr: float, each: float
) -> dict[str, Any]:
    """TPR and FPR on the held-out trials of the threshold whose calibration FPR ≤ ``fpr``."""
    _, threshold = tpr_at_fpr(s[fit], m[fit], fpr)
    guess = s[held] > threshold
    inside, outside = m[held], ~m[held]
    tp, fp = int((guess & inside).sum()), int((guess & outside).sum())
    n_in, n_out = int(inside.sum()), int(outside.sum())
    # Two intervals share this figure's part of the family.
    level = 1 - (1 - each) / 2
    tpr_low, tpr_high = stats.binomial_interval(tp, n_in, level)
    fpr_low, fpr_high = stats.binomial_interval(fp, n_out, level)
    return {
        "threshold": threshold,
        "tpr": tp / n_in,
        "tpr_low": tpr_low,
        "tpr_high": tpr_high,
        "fpr": fp / n_out,
        "fpr_low": fpr_low,
        "fpr_high": fpr_high,
        "members": n_in,
        "non_members": n_out,
        "level": level,
        "method": "clopper-pearson, threshold chosen on the calibration split",
    }


def _roc(scores: np.ndarray, members: np.ndarray) -> dict[str, Any]:
    """The ROC curve of "member when the score exceeds a threshold", over every threshold:
    the best TPR at each FPR reached (a staircase from (0, 0) to (1, 1))."""
    order = np.argsort(-scores, kind="stable")
    s, m = scores[order], members[order]
    # A threshold falls between distinct scores only: keep the last of each run of ties.
    last = np.append(s[1:] != s[:-1], True)
    tp = np.concatenate([[0], np.cumsum(m)[last]])
    fp = np.concatenate([[0], np.cumsum(~m)[last]])
    n_in, n_out = int(m.sum()), int((~m).sum())
    fpr, first = np.unique(fp, return_index=True)
    best = np.maximum.reduceat(tp, first)
    return {
        "fpr": (fpr / n_out).tolist(),
        "tpr": (best / n_in).tolist(),
        "members": n_in,
        "non_members": n_out,
        "split": "held-out",
    }
