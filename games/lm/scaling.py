"""Best-of-N scaling laws, fitted per behaviour, compared, and written as an assumption.

Two models of the attack success rate ASR(N) after N independent tries:

- ``beta-binomial``: each behaviour's prompt has its own single-try success p, and p is
  drawn from Beta(α, β), so ``1 − ASR(N) = E[(1 − p)^N] = B(α, β + N)/B(α, β)``, which
  falls as ``C·N^(−α)`` for large N (a power law in the failure rate); α and β are kept
  within [e^−10, e^10] (beyond, the prompts' rates are all but equal: best-of-n's own
  curve), and the region is cut at that box;
- ``hughes`` (Hughes et al. 2024): ``−log ASR(N) = a·N^(−b)``.

Both have two parameters. Each is fitted by maximum likelihood to the win counts of a
sweep over N (binomial at each budget; the sweep's budgets are independent), and its band
comes from the likelihood-ratio region of the parameters (Wilks, χ² with 2 degrees of
freedom), traced along rays from the fit; the band at each budget is the range of the
curve over the region's boundary and the fit. The models are compared by their maximised
log-likelihood (equal parameter counts, so AIC agrees) and each gets a goodness-of-fit
p-value against one free rate per budget.

The games/stats curve module has no way to add a model from outside it (its models are
linear in their parameters through a link, these are not), so the fits live here; the
binomial likelihood and the goodness of fit are its own. :func:`scaling_sweep` runs :func:`games.engine.sweep.sweep` once per behaviour of
the jailbreak game and fits both models; :meth:`Scaling.assumption` writes the better
model's band at a budget as a proof file's ``[[assumptions]]`` entry (its claim is the
curve of the region's point that is highest at that budget; for ``beta-binomial`` it is
written through Stirling's bounds on log Γ, a rigorous upper bound of that curve using
only the functions a proof expression may call).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from games.stats.curves import binomial_loglik, goodness_of_fit
from games.stats.intervals import percent
from oracles import InvalidArgument, checks

__all__ = ["MODELS", "Scaling", "ScalingFit", "asr", "fit_scaling", "scaling_sweep"]

MODELS = ("beta-binomial", "hughes")
_RAYS = 48
_LIMIT = 60.0
_BOX = 10.0


def asr(model: str, theta: Any, budgets: Any) -> np.ndarray:
    """ASR at each budget for ``model`` with parameters ``theta`` (see :class:`ScalingFit`)."""
    n = np.asarray(budgets, float)
    if model == "beta-binomial":
        alpha, beta = np.exp(np.clip(theta, -30, 30))
        return -np.expm1(special.betaln(alpha, beta + n) - special.betaln(alpha, beta))
    log_a, b = theta
    return np.exp(-np.exp(np.clip(log_a - b * np.log(n), -700, 700)))


@attrs.frozen(kw_only=True)
class ScalingFit:
    """One model fitted to (budget, wins, trials) points.

    Attributes:
        model: one of :data:`MODELS`.
        theta: ``(log α, log β)`` for ``beta-binomial``; ``(log a, b)`` for ``hughes``.
        params: the readable parameters (α, β; a, b).
        region: points on the likelihood-ratio region's boundary (empty: unbounded).
        loglik, deviance, fit_pvalue: the maximised log-likelihood, the deviance against one
            free rate per budget and its χ² p-value (points − 2 degrees of freedom).
        level: the band's confidence level.
    """

    model: str
    theta: tuple[float, float]
    params: Mapping[str, float]
    region: tuple[tuple[float, float], ...]
    loglik: float
    deviance: float
    fit_pvalue: float
    level: float

    def asr(self, budgets: Any) -> np.ndarray:
        return asr(self.model, self.theta, np.atleast_1d(budgets))

    def band(self, budgets: Any) -> tuple[np.ndarray, np.ndarray]:
        """The band of ASR at each budget: ``(low, high)`` ([0, 1] where unbounded)."""
        n = np.atleast_1d(np.asarray(budgets, float))
        if not self.region:
            return np.zeros_like(n), np.ones_like(n)
        curves = np.array([asr(self.model, t, n) for t in (self.theta, *self.region)])
        return curves.min(axis=0), curves.max(axis=0)

    def highest(self, at: float) -> tuple[float, float] | None:
        """The region's point whose curve is highest at budget ``at`` (None: unbounded)."""
        if not self.region:
            return None
        points = (self.theta, *self.region)
        return max(points, key=lambda t: float(asr(self.model, t, [at])[0]))

    def claim(self, name: str, at: float) -> str:
        """The curve of :meth:`highest` at ``at``, as a proof expression of ``name``."""
        point = self.highest(at)
        if point is None:
            return "1"
        if self.model == "hughes":
            return f"exp(-{math.exp(point[0])!r}*{name}**(-{point[1]!r}))"
        alpha, beta = (math.exp(v) for v in point)
        constant = float(special.gammaln(alpha + beta) - special.gammaln(beta))

        def stirling(shift: float) -> str:  # (x − 1/2)·log x − x at x = shift + name
            x = f"({shift!r} + {name})"
            return f"({x} - 0.5)*log{x} - {x}"

        total = alpha + beta
        return (
            f"1 - exp({constant!r} + {stirling(beta)} - ({stirling(total)}) "
            f"- 1/(12*({total!r} + {name})))"
        )

    @property
    def summary(self) -> str:
        """``hughes curve (a = 2.5, b = 0.4)``."""
        fitted = ", ".join(f"{k} = {v:.4g}" for k, v in self.params.items())
        return f"{self.model} curve ({fitted})"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": dict(self.params),
            "loglik": self.loglik,
            "deviance": self.deviance,
            "fit_pvalue": self.fit_pvalue,
            "level": self.level,
        }


def _label(behaviour: str, name: str | None) -> str:
    """The assumption's name: ``name``, or ``best_of_n_`` and the behaviour."""
    return name or f"best_of_n_{behaviour.replace('-', '_')}"


def _readable(model: str, theta: np.ndarray) -> dict[str, float]:
    if model == "beta-binomial":
        return {"alpha": float(math.exp(theta[0])), "beta": float(math.exp(theta[1]))}
    return {"a": float(math.exp(theta[0])), "b": float(theta[1])}


def _loglik(model: str, theta: np.ndarray, n: np.ndarray, w: np.ndarray, t: np.ndarray) -> float:
    return binomial_loglik(asr(model, theta, n), w, t)


def _starts(model: str, n: np.ndarray, rates: np.ndarray) -> list[np.ndarray]:
    if model == "beta-binomial":
        return [np.log([a, b]) for a in (0.2, 0.5, 1.0, 3.0) for b in (1.0, 5.0, 30.0)]
    first = float(np.clip(rates[0], 0.01, 0.99))
    return [np.array([math.log(-math.log(first)), b]) for b in (0.1, 0.5, 1.0, 2.0)]


def _ray(excess: Callable[[float], float], limit: float) -> float | None:
    """The distance along a ray where the region ends (None: not within ``limit``)."""
    if excess(limit) < 0:
        return None
    return float(optimize.brentq(excess, 0.0, limit, xtol=1e-6))


def _box_limit(model: str, theta: np.ndarray, direction: np.ndarray) -> tuple[float, bool]:
    """How far a ray may go, and whether that is the beta model's box (|log α|, |log β| ≤
    :data:`_BOX`: beyond it the tries' rates are all but equal, the best-of-n curve)."""
    if model != "beta-binomial":
        return _LIMIT, False
    steps = [
        (_BOX * np.sign(d) - t) / d for t, d in zip(theta, direction, strict=True) if abs(d) > 1e-12
    ]
    return float(min(steps)), True


def fit_scaling(
    model: str,
    budgets: Sequence[float],
    wins: Sequence[int],
    trials: Sequence[int],
    *,
    level: float = 0.95,
) -> ScalingFit:
    """Fit ``model`` by maximum likelihood to win counts at each budget, with its band."""
    checks.choice("model", model, MODELS)
    checks.open_unit("level", level)
    n, w, t = (np.asarray(v, float) for v in (budgets, wins, trials))
    if not n.size == w.size == t.size or n.size < 2 or np.any(n <= 0):
        raise InvalidArgument(
            "budgets, wins and trials must have the same length, at least 2 positive budgets"
        )
    rates = w / np.maximum(t, 1)

    def nll(theta: np.ndarray) -> float:
        return -_loglik(model, theta, n, w, t)

    box = [(-_BOX, _BOX)] * 2 if model == "beta-binomial" else None
    fits = [
        optimize.minimize(nll, s, method="Nelder-Mead", bounds=box)
        for s in _starts(model, n, rates)
    ]
    best = min(fits, key=lambda r: r.fun)
    theta, top = np.asarray(best.x, float), -float(best.fun)
    critical = float(sps.chi2.ppf(level, 2)) / 2
    region: list[tuple[float, float]] = []
    for angle in np.linspace(0, 2 * math.pi, _RAYS, endpoint=False):
        direction = np.array([math.cos(angle), math.sin(angle)])
        limit, boxed = _box_limit(model, theta, direction)

        def excess(r: float, d: np.ndarray = direction) -> float:
            return top + nll(theta + r * d) - critical

        reach = _ray(excess, limit)
        if reach is None and not boxed:
            region = []
            break
        reach = limit if reach is None else reach
        point = theta + reach * direction
        region.append((float(point[0]), float(point[1])))
    deviance, pvalue = goodness_of_fit(w, t, top, 2)
    return ScalingFit(
        model=model,
        theta=(float(theta[0]), float(theta[1])),
        params=_readable(model, theta),
        region=tuple(region),
        loglik=top,
        deviance=deviance,
        fit_pvalue=pvalue,
        level=level,
    )


@attrs.frozen(kw_only=True)
class Scaling:
    """A best-of-N sweep per behaviour and both models fitted to each.

    Attributes:
        sweeps: per behaviour, the :class:`games.engine.sweep.Sweep` it was fitted to.
        fits: per behaviour, per model, the :class:`ScalingFit`.
    """

    sweeps: Mapping[str, Any]
    fits: Mapping[str, Mapping[str, ScalingFit]]

    def better(self, behaviour: str) -> ScalingFit:
        """The model with the larger maximised likelihood for ``behaviour``."""
        return max(self.fits[behaviour].values(), key=lambda f: f.loglik)

    def assumption(self, behaviour: str, *, at: float, name: str | None = None) -> str:
        """The better model's band at budget ``at`` as a TOML ``[[assumptions]]`` entry."""
        from games.engine.sweep import behavioural_assumption

        sweep, fit = self.sweeps[behaviour], self.better(behaviour)
        other = ", ".join(
            f"{m} log-likelihood {f.loglik:.2f}" for m, f in self.fits[behaviour].items()
        )
        params = {**sweep.params, "behaviour": behaviour}
        if sweep.target == "game":
            params.pop(sweep.budget, None)
        described = " ".join(
            (
                f"{sweep.adversary} against {sweep.game} ({behaviour}): the advantage at",
                f"{sweep.budget} is at most the {fit.summary} of the {percent(fit.level)} likelihood",
                f"region's point highest at {sweep.budget} = {at:g}, fitted to budgets",
                f"{sweep.values[0]}..{sweep.values[-1]}, {sweep.trials} trials each, seed",
                f"{sweep.seed} ({other}; goodness of fit p = {fit.fit_pvalue:.3g})",
            )
        )
        return behavioural_assumption(
            "# Behavioural assumption fitted by games.lm.scaling (best-of-N, per behaviour).",
            name=_label(behaviour, name),
            game=sweep.game,
            params=params,
            claim=fit.claim(sweep.budget, at),
            reduction="games.engine.sweep:same_adversary",
            resource=sweep.budget if sweep.target == "game" else None,
            description=described,
        )

    def proof(self, behaviour: str, *, at: int, name: str | None = None) -> str:
        """A proof file (``best-of-n-scaling``'s form): the game at ``at`` tries, bounded by
        the fitted assumption; :func:`proofs.check_empirical` then says consistent or
        assumption:NAME (the theorem's game is the assumption's, B is A)."""
        from games.engine.sweep import toml_table

        sweep = self.sweeps[behaviour]
        if sweep.target != "game":
            raise InvalidArgument(
                f"a proof needs a sweep over a game parameter, not {sweep.budget}"
            )
        assumption = self.assumption(behaviour, at=at, name=name)
        label = _label(behaviour, name)
        params = {**sweep.params, "behaviour": behaviour, sweep.budget: at}
        return _PROOF.format(
            budget=sweep.budget,
            label=label,
            params=toml_table(params),
            game=sweep.game,
            adversary=sweep.adversary,
            at=at,
            assumption=assumption,
        )

    def plot(self, path: str | Path, *, at: float | None = None) -> Path:
        """Points, intervals, both fits and their bands per behaviour (log budget axis)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, panes = plt.subplots(1, len(self.sweeps), figsize=(6 * len(self.sweeps), 4.5))
        try:
            for axes, (behaviour, sweep) in zip(
                np.atleast_1d(panes), self.sweeps.items(), strict=True
            ):
                _draw(axes, behaviour, sweep, self.fits[behaviour], at)
            figure.tight_layout()
            out = Path(path).with_suffix(Path(path).suffix or ".png")
            figure.savefig(out, dpi=110)
        finally:
            plt.close(figure)
        return out


_PROOF = """\
# Best-of-N scaling: the attack's success at {at} tries is bounded by a law fitted at fewer.
# Written by games.lm.scaling.Scaling.proof from a sweep of {adversary} against {game}.

[proof]
title = "Best-of-N attack success follows its fitted scaling law"
description = \"\"\"
The assumption is a scaling law fitted to a sweep of the best-of-N attack over {budget}:
per behaviour, each prompt's single-try success p is drawn from Beta(α, β), so
1 − ASR(N) = B(α, β + N)/B(α, β) ≈ C·N^(−α), or (Hughes et al. 2024) −log ASR(N) =
a·N^(−b); games.lm.scaling fits both and keeps the one with the larger likelihood, and
the claim is its band's upper end at {budget} = {at}.

How to read a verdict. consistent: at {at} tries the attack does no better than the law
extrapolated from the sweep. assumption:{label}: it does better: the law (or its
extrapolation, or the attack it was fitted on) does not describe this adversary. There is
no algorithm verdict: the theorem's game is the assumption's own.\"\"\"
references = [
  "J. Hughes et al. Best-of-N jailbreaking. 2024.",
]

[theorem]
game = "{game}"
params = {params}
statement = "For the adversary A the law was fitted on: Adv(A) at {budget} = N is at most the law's band at N."
bound = "adv_{label}"

[domain]
{budget} = {{ type = "integer", low = 1, high = 1048576, param = "{budget}", help = "tries" }}

{assumption}
[[hops]]
from = "G0: the game at {budget} = N"
to = "G1: the same game, as the assumption's"
by = "assumption {label}"
note = "B is A and the games are one: Pr[A wins G0] = Adv_{game}(A) at N, which the law bounds."
"""


def _draw(axes: Any, behaviour: str, sweep: Any, fits: Mapping[str, ScalingFit], at: Any) -> None:
    values = np.array([float(v) for v in sweep.values])
    est = [p.estimate for p in sweep.points]
    centre = np.array([e.advantage for e in est])
    errors = [centre - [e.ci_low for e in est], [e.ci_high for e in est] - centre]
    axes.errorbar(values, centre, yerr=errors, fmt="o", color="k", capsize=3, label="ASR")
    grid = np.geomspace(values.min(), max(values.max(), at or 0), 200)
    for colour, (model, fit) in zip(("C0", "C1"), fits.items(), strict=True):
        low, high = fit.band(grid)
        axes.plot(grid, fit.asr(grid), color=colour, label=f"{model} (ℓ = {fit.loglik:.1f})")
        axes.fill_between(grid, low, high, color=colour, alpha=0.15)
    axes.set_xscale("log")
    axes.set_xlabel(f"{sweep.budget} (log scale)")
    axes.set_ylabel("attack success rate")
    axes.set_title(f"{sweep.adversary} vs {sweep.game}: {behaviour}")
    axes.legend(fontsize="small")


def scaling_sweep(
    game: Any,
    adversary: Any,
    *,
    budget: str,
    values: Sequence[Any],
    trials: int,
    seed: int,
    behaviours: Sequence[str] | None = None,
    level: float = 0.95,
    **engine: Any,
) -> Scaling:
    """Sweep ``budget`` over ``values`` for each behaviour and fit both models to each.

    ``game`` is a jailbreak-shaped game with a ``behaviour`` parameter (default: all of
    :data:`games.lm.jailbreak.BEHAVIOURS`); each behaviour's sweep has its own seed.
    """
    from games.engine.seeds import derive
    from games.engine.sweep import sweep
    from games.lm.jailbreak import BEHAVIOURS

    if game.baseline != 0:
        raise InvalidArgument(f"the scaling fits need a search game with baseline 0, not {game}")
    sweeps, fits = {}, {}
    for index, behaviour in enumerate(behaviours or BEHAVIOURS):
        played = sweep(
            attrs.evolve(game, behaviour=behaviour),
            adversary,
            budget=budget,
            values=values,
            trials=trials,
            seed=derive(seed, b"behaviour", index),
            level=level,
            simultaneous=True,
            **engine,
        )
        points = [(float(p.value), p.estimate.wins, p.estimate.trials) for p in played.points]
        n, w, t = zip(*points, strict=True)
        sweeps[behaviour] = played
        fits[behaviour] = {m: fit_scaling(m, n, w, t, level=level) for m in MODELS}
    return Scaling(sweeps=sweeps, fits=fits)
