"""How long certify runs take: simulated runs of the confidence sequence, and Wald's formula.

:func:`simulate` plays certify runs on Bernoulli trials, vectorised in numpy;
:func:`expected_stopping` summarises them at a true advantage (what ``advantage plan``
prints); :func:`wald_stopping` is the closed form to quote when runs would be too long to
simulate.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import attrs
import numpy as np
from scipy import special

from games.stats.sequential import Certifier, certifier
from games.stats.shapes import shape_of
from oracles import InvalidArgument, checks

__all__ = [
    "SIMULATION_LIMIT",
    "Runs",
    "Stopping",
    "certify_stopping",
    "expected_stopping",
    "simulate",
    "wald_stopping",
]

SIMULATION_LIMIT = 1_000_000  # trials a certify run may need before it is no longer simulated
CERTIFY_METHOD = "beta-mixture confidence sequence"


@attrs.frozen(kw_only=True)
class Runs:
    """Simulated certify runs: each run's decision and the trials it took."""

    decisions: np.ndarray  # of Decision strings
    trials: np.ndarray  # trials played; max_trials for undecided runs


def _as_generator(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidArgument(f"rng={rng!r} must be a numpy Generator or a non-negative integer seed")


def simulate(
    p: float,
    cert: Certifier,
    *,
    sims: int = 400,
    max_trials: int = 100_000,
    rng: np.random.Generator | int = 0,
) -> Runs:
    """Play ``sims`` certify runs of Bernoulli(``p``) trials, each stopping when decided.

    Runs are vectorised in numpy, a block of trials at a time.
    """
    if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p <= 1:
        raise InvalidArgument(f"p={p!r} must be in [0, 1]")
    sims = checks.positive("sims", sims)
    max_trials = checks.positive("max_trials", max_trials)
    gen = _as_generator(rng)
    decisions = np.full(sims, "undecided", dtype="<U9")
    stopped = np.full(sims, max_trials, dtype=np.int64)
    active = np.arange(sims)
    wins = np.zeros(sims, dtype=np.int64)
    start, block = 0, 256
    while start < max_trials and active.size:
        end = min(max_trials, start + block)
        # Thresholds only for the trials some run still reaches.
        most_below, least_above = cert._thresholds(np.arange(start + 1, end + 1, dtype=np.int64))
        path = wins[active, None] + np.cumsum(gen.random((active.size, end - start)) < p, axis=1)
        low_hit = path <= most_below[None, :]
        high_hit = path >= least_above[None, :]
        hit = low_hit | high_hit
        done = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        rows = active[done]
        decisions[rows] = np.where(low_hit[done, first[done]], "below", "above")
        stopped[rows] = start + first[done] + 1
        wins[active] = path[:, -1]
        active = active[~done]
        start = end
        block = min(block * 2, max(256, 4_000_000 // max(active.size, 1)))
    return Runs(decisions=decisions, trials=stopped)


@attrs.frozen(kw_only=True)
class Stopping:
    """How long certify runs take at a given true advantage, by simulation.

    ``mean``, ``median`` and ``quantile_90`` count undecided runs at ``max_trials``;
    ``below``, ``above``, ``undecided`` and ``wrong`` are fractions of the runs.
    """

    eps: float
    advantage: float
    alpha: float
    shape: str
    baseline: float | None
    sims: int
    max_trials: int
    mean: float
    median: float
    quantile_90: float
    below: float
    above: float
    undecided: float
    wrong: float


def wald_stopping(
    eps: float,
    adv: float,
    alpha: float = 0.05,
    shape: str = "hidden-bit",
    baseline: float | None = None,
) -> float:
    """Wald's approximation of a sequential test's trials: ``log(1/alpha) / KL(p ‖ p_eps)``.

    The mixture sequence of :func:`certifier` needs somewhat more (it does not know the true
    rate); this is the closed form to quote when a simulation would take too long.
    """
    kind = shape_of(shape)
    p_zero = kind.p_zero(baseline)
    q = kind.win_rate(checks.open_unit("eps", eps), p_zero)
    p = kind.win_rate(float(adv), p_zero)
    # KL(p ‖ q) through log1p, exact to the last digit even when p and q differ by 1e-12
    kl = float(special.xlog1py(p, (p - q) / q) + special.xlog1py(1 - p, (q - p) / (1 - q)))
    return math.inf if kl <= 0 else math.log(1 / alpha) / kl


def expected_stopping(
    eps: float,
    adv: float,
    alpha: float = 0.05,
    shape: str = "hidden-bit",
    baseline: float | None = None,
    *,
    sims: int = 400,
    max_trials: int = 100_000,
    rng: np.random.Generator | int = 0,
) -> Stopping:
    """Simulate certifying "advantage ≤ eps" when the true advantage is ``adv``.

    Args:
        adv: the true advantage; its win probability must lie in [0, 1].
        rng: a numpy Generator or a seed.
    """
    alpha = checks.open_unit("alpha", alpha)
    kind = shape_of(shape)
    cert = certifier(eps, alpha=alpha, shape=kind, baseline=baseline)
    if isinstance(adv, bool) or not isinstance(adv, Real):
        raise InvalidArgument(f"adv={adv!r} must be a number")
    p = kind.win_rate(float(adv), kind.p_zero(baseline))
    if not 0 <= p <= 1:
        raise InvalidArgument(f"adv={adv!r} gives win probability {p:.6g}, outside [0, 1]")
    runs = simulate(p, cert, sims=sims, max_trials=max_trials, rng=rng)
    fraction = {d: float(np.mean(runs.decisions == d)) for d in ("below", "above", "undecided")}
    wrong = fraction["above"] if p <= cert.p_eps else fraction["below"]
    return Stopping(
        eps=float(eps),
        advantage=float(adv),
        alpha=alpha,
        shape=shape,
        baseline=baseline,
        sims=sims,
        max_trials=max_trials,
        mean=float(np.mean(runs.trials)),
        median=float(np.median(runs.trials)),
        quantile_90=float(np.quantile(runs.trials, 0.9)),
        below=fraction["below"],
        above=fraction["above"],
        undecided=fraction["undecided"],
        wrong=wrong,
    )


def certify_stopping(
    eps: float, alpha: float, shape: str, baseline: float | None, *, sims: int, seed: int,
    trials: int,
) -> dict[str, Any]:  # fmt: skip
    """How many trials certify takes to decide "advantage ≤ eps" at advantage 0: by
    simulation, or by Wald's approximation when runs would be too long to simulate."""
    out: dict[str, Any] = {"advantage": 0.0, "alpha": alpha, "method": CERTIFY_METHOD}
    wald = wald_stopping(eps, 0.0, alpha, shape, baseline)
    if wald > SIMULATION_LIMIT:
        return out | {
            "wald": wald,
            "how": f"Wald's approximation log(1/alpha)/KL; a simulation of runs this long "
            f"(over {SIMULATION_LIMIT:,} trials each) would take too long",
        }
    runs = expected_stopping(
        eps, 0.0, alpha, shape, baseline, sims=sims, max_trials=max(100_000, 20 * trials),
        rng=seed,
    )  # fmt: skip
    return out | {
        "median": runs.median,
        "quantile_90": runs.quantile_90,
        "mean": runs.mean,
        "sims": runs.sims,
        "seed": seed,
        "undecided": runs.undecided,
        "max_trials": runs.max_trials,
        "how": f"median (90th percentile) by simulation of {runs.sims} runs (seed {seed})",
    }
