"""Advantage against budget: a sweep over one parameter, a fitted curve, and its band.

:func:`sweep` estimates the advantage at each value of a budget (a game parameter such as
``queries``, or an adversary parameter such as birthday's ``q``: the game is tried first),
each value with its own seed derived from the sweep's, so the points are independent.

A fitted model describes *success* ``s(N) ∈ [0, 1]`` at budget ``N``, with the win
probability ``p0 + (1 − p0)·s(N)`` (``p0``: 1/2 for hidden-bit and real-vs-ideal games, the
baseline for search games), so that the advantage is ``s(N)`` for bit games and
``(1 − p0)·s(N)`` for search games. The models, each linear in its parameters through a
link:

- ``best-of-n``: ``1 − (1 − p)^N`` (N independent tries, each succeeding with probability
  p); ``log(−log(1 − s)) = θ + log N`` with ``p = 1 − exp(−e^θ)``;
- ``power-law``: ``min(1, a·N^b)``; ``log s = log a + b·log N``;
- ``logistic-in-log-budget``: ``sigmoid(a + b·log N)``.

Fitting is by maximum likelihood on the win counts (binomial at each budget; a
real-vs-ideal trial's world is a fair coin of the challenger's, so its win count is binomial
too, with probability (1 + advantage)/2). The
band comes from the likelihood-ratio confidence region of the parameters (Wilks:
``2·(ℓ̂ − ℓ(θ)) ≤ χ²_k(level)``). With one parameter that region is an interval, found by
root finding; with two it is enclosed in the smallest ellipse of the observed-information
shape that contains it (its boundary found by root finding along 72 rays, then widened by
1%). The band at each budget is the range of the curve over that region, so it holds at
every budget at once — extrapolations included, as far as the model holds. When the data
cannot bound the region (no wins at all, say) the band is the trivial [0, 1].

Per-budget intervals are corrected by Bonferroni across the budgets when a curve is fitted
or the largest advantage is read off (``simultaneous``); the record says which.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from games import seeds
from games.base import Game
from games.engine import Estimate, check_run, describe_adversary, estimate, plain
from games.registry import name_of, parameters
from oracles import InvalidArgument

__all__ = [
    "MODELS",
    "budget_target",
    "Fit",
    "Sweep",
    "SweepPoint",
    "fit_curve",
    "point_seed",
    "same_adversary",
    "sweep",
]

MODELS = ("best-of-n", "power-law", "logistic-in-log-budget")
_PARAMETERS = {"best-of-n": ("p",), "power-law": ("a", "b"), "logistic-in-log-budget": ("a", "b")}
_RAYS = 72
_WIDEN = 1.01
_EDGE = 1e-12


# -- models -------------------------------------------------------------------------------


def _design(model: str, budgets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(X, offset)`` with the linear predictor ``η = X·θ + offset``."""
    log_n = np.log(np.asarray(budgets, float))
    if model == "best-of-n":
        return np.ones((log_n.size, 1)), log_n
    return np.stack([np.ones_like(log_n), log_n], axis=1), np.zeros_like(log_n)


def _success(model: str, eta: np.ndarray) -> np.ndarray:
    """s from the linear predictor (the inverse link)."""
    eta = np.asarray(eta, float)
    if model == "best-of-n":
        return -np.expm1(-np.exp(np.minimum(eta, 700)))
    if model == "power-law":
        return np.exp(np.minimum(eta, 0.0))
    return special.expit(eta)


def _link(model: str, s: np.ndarray) -> np.ndarray:
    if model == "best-of-n":
        return np.log(-np.log1p(-s))
    if model == "power-law":
        return np.log(s)
    return special.logit(s)


def _readable(model: str, theta: np.ndarray) -> dict[str, float]:
    if model == "best-of-n":
        return {"p": float(-np.expm1(-np.exp(theta[0])))}
    if model == "power-law":
        return {"a": float(np.exp(theta[0])), "b": float(theta[1])}
    return {"a": float(theta[0]), "b": float(theta[1])}


def _loglik(
    model: str,
    theta: np.ndarray,
    x: np.ndarray,
    offset: np.ndarray,
    wins: np.ndarray,
    trials: np.ndarray,
    p_zero: float,
) -> float:
    s = _success(model, x @ theta + offset)
    p = np.clip(p_zero + (1 - p_zero) * s, _EDGE, 1 - _EDGE)
    return float(np.sum(special.xlogy(wins, p) + special.xlog1py(trials - wins, -p)))


def _hessian(f: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = theta.size
    h = 1e-4 * np.maximum(1.0, np.abs(theta))
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            value = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h[i] * h[j])
            out[i, j] = out[j, i] = value
    return out


@attrs.frozen(kw_only=True)
class Fit:
    """A fitted curve of success against budget, with a simultaneous confidence band.

    Attributes:
        model: one of :data:`MODELS`.
        params: the readable parameters (``p``; ``a`` and ``b``).
        theta: the parameters on the linear-predictor scale (see the module docstring).
        theta_low, theta_high: one-parameter models: the likelihood-ratio interval of theta.
        covariance, radius: two-parameter models: the band is the ellipse
            ``(θ − θ̂)ᵀ covariance⁻¹ (θ − θ̂) ≤ radius²`` (``inf``: the data do not bound it).
        loglik: the maximised log-likelihood.
        deviance, fit_pvalue: goodness of fit against one free win rate per budget (χ² with
            points − parameters degrees of freedom; nan when there are none): a small p-value
            says the model does not describe the points, and then neither does its band.
        level: the band's confidence level.
        p_zero: the win probability at zero success; ``scale`` maps success to advantage.
    """

    model: str
    budget: str
    params: Mapping[str, float]
    theta: tuple[float, ...]
    theta_low: tuple[float, ...] | None
    theta_high: tuple[float, ...] | None
    covariance: tuple[tuple[float, ...], ...] | None
    radius: float | None
    loglik: float
    deviance: float
    fit_pvalue: float
    level: float
    p_zero: float
    scale: float
    method: str = "maximum likelihood; likelihood-ratio region (Wilks)"

    def _eta_band(self, budgets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, offset = _design(self.model, budgets)
        centre = x @ np.array(self.theta) + offset
        if self.theta_low is not None and self.theta_high is not None:
            return (
                centre,
                x @ np.array(self.theta_low) + offset,
                x @ np.array(self.theta_high) + offset,
            )
        if self.radius is None or not math.isfinite(self.radius):
            return centre, np.full_like(centre, -np.inf), np.full_like(centre, np.inf)
        sigma = np.array(self.covariance)
        half = self.radius * np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", x, sigma, x), 0.0))
        return centre, centre - half, centre + half

    def success(self, budgets: Any) -> np.ndarray:
        """The fitted success at each budget."""
        return _success(self.model, self._eta_band(_budgets_array(budgets))[0])

    def band(self, budgets: Any) -> tuple[np.ndarray, np.ndarray]:
        """The band of success at each budget: ``(low, high)``."""
        _, low, high = self._eta_band(_budgets_array(budgets))
        return _success(self.model, low), _success(self.model, high)

    def advantage(self, budgets: Any) -> np.ndarray:
        return self.scale * self.success(budgets)

    def advantage_band(self, budgets: Any) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.band(budgets)
        return self.scale * low, self.scale * high

    def claim(self, name: str | None = None) -> str:
        """The band's upper end, as advantage, written as a proof-file expression of the budget.

        Uses only the whitelisted grammar (numbers, names, + − * / **, min, max, log, exp,
        sqrt). Numbers are written in full (``repr``), so the expression is the band itself
        (for ``power-law``, before its clip at 1).
        """
        n = name or self.budget
        scale = "" if self.scale == 1 else f"{self.scale!r}*"
        if self.model == "best-of-n":
            if self.theta_high is None or not math.isfinite(self.theta_high[0]):
                return "1"
            rate = math.exp(self.theta_high[0])
            return f"{scale}(1 - exp(-{rate!r}*{n}))"
        if self.radius is None or not math.isfinite(self.radius):
            return "1" if not scale else scale.rstrip("*")
        t0, t1 = self.theta
        (v00, v01), (_, v11) = self.covariance  # type: ignore[misc]
        log_n = f"log({n})"
        eta = (
            f"{t0!r} + {t1!r}*{log_n} + {self.radius!r}*sqrt({max(v00, 0.0)!r} + "
            f"{2 * v01!r}*{log_n} + {max(v11, 0.0)!r}*{log_n}**2)"
        )
        if self.model == "power-law":
            # Not clipped at 1: an advantage never exceeds 1 anyway, and a symbolic min()
            # of such terms is slow for the proof checker.
            return f"{scale}exp({eta})"
        return f"{scale}(1/(1 + exp(-({eta}))))"

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["params"] = dict(self.params)
        return out


def _budgets_array(budgets: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(budgets, float))
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InvalidArgument(f"budgets={budgets!r} must be positive numbers")
    return values


def fit_curve(
    model: str,
    budgets: Sequence[float],
    wins: Sequence[int],
    trials: Sequence[int],
    *,
    shape: str,
    baseline: float | None = None,
    level: float = 0.95,
    budget: str = "N",
) -> Fit:
    """Fit ``model`` to win counts at each budget by maximum likelihood, with its band.

    Args:
        model: one of :data:`MODELS`.
        budgets: positive budgets, one per point.
        wins, trials: the win count and trials at each budget.
        shape: the game's shape; ``baseline``: a search game's baseline (zero success).
        level: the band's confidence level.
        budget: the budget's name, for the claim expression.
    """
    if model not in MODELS:
        raise InvalidArgument(f"fit={model!r} must be one of: {', '.join(MODELS)}")
    if not 0 < level < 1:
        raise InvalidArgument(f"level={level!r} must be in (0, 1)")
    names = _PARAMETERS[model]
    n_arr = _budgets_array(budgets)
    w = np.asarray(wins, float)
    t = np.asarray(trials, float)
    if not (n_arr.size == w.size == t.size):
        raise InvalidArgument("budgets, wins and trials must have the same length")
    if n_arr.size < len(names):
        raise InvalidArgument(
            f"fit={model!r} has {len(names)} parameters ({', '.join(names)}) but the sweep has "
            f"{n_arr.size} point{'s' if n_arr.size != 1 else ''}; give at least {len(names)} budgets"
        )
    if shape == "search":
        if isinstance(baseline, bool) or not isinstance(baseline, Real) or not 0 <= baseline < 1:
            raise InvalidArgument(f"baseline={baseline!r} must be in [0, 1) for a search game")
        p_zero, scale = float(baseline), 1 - float(baseline)
    elif shape in ("hidden-bit", "real-vs-ideal"):
        p_zero, scale = 0.5, 1.0
    else:
        raise InvalidArgument(f"shape={shape!r} must be hidden-bit, real-vs-ideal or search")
    x, offset = _design(model, n_arr)

    def nll(theta: np.ndarray) -> float:
        return -_loglik(model, theta, x, offset, w, t, p_zero)

    # Start from weighted least squares on the linearised empirical success rates.
    rate = np.where(t > 0, w / np.maximum(t, 1), 0.5)
    s_emp = np.clip(
        (rate - p_zero) / (1 - p_zero), 0.5 / np.maximum(t, 1), 1 - 0.5 / np.maximum(t, 1)
    )
    y = _link(model, s_emp) - offset
    start = np.linalg.lstsq(x * np.sqrt(t)[:, None], y * np.sqrt(t), rcond=None)[0]
    best = optimize.minimize(
        nll,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
    )
    polished = optimize.minimize(nll, best.x, method="BFGS")
    theta = polished.x if polished.fun <= best.fun else best.x
    top = -nll(theta)
    critical = float(sps.chi2.ppf(level, len(names)))

    def deviance(th: np.ndarray) -> float:
        return 2 * (top + nll(th))

    theta_low = theta_high = None
    covariance = None
    radius: float | None = None

    def excess(direction: np.ndarray) -> Callable[[float], float]:
        return lambda r: deviance(theta + r * direction) - critical

    if len(names) == 1:
        ends = [_ray_root(excess(np.array([sign])), 1.0) for sign in (-1.0, 1.0)]
        theta_low = (float(theta[0] - ends[0]),)
        theta_high = (float(theta[0] + ends[1]),)
    else:
        hessian = _hessian(nll, theta)
        covariance_arr = _inverse(hessian)
        chol = np.linalg.cholesky(covariance_arr)
        radii = []
        for angle in np.linspace(0, 2 * np.pi, _RAYS, endpoint=False):
            direction = chol @ np.array([math.cos(angle), math.sin(angle)])
            radii.append(_ray_root(excess(direction), math.sqrt(critical)))
        radius = float(max(radii) * _WIDEN)
        covariance = tuple(tuple(float(v) for v in row) for row in covariance_arr)
    rates = np.clip(w / np.maximum(t, 1), 0, 1)
    saturated = float(np.sum(special.xlogy(w, rates) + special.xlog1py(t - w, -rates)))
    residual = max(2 * (saturated - top), 0.0)
    dof = n_arr.size - len(names)
    return Fit(
        model=model,
        budget=budget,
        params=_readable(model, theta),
        theta=tuple(float(v) for v in theta),
        theta_low=theta_low,
        theta_high=theta_high,
        covariance=covariance,
        radius=radius,
        loglik=top,
        deviance=residual,
        fit_pvalue=float(sps.chi2.sf(residual, dof)) if dof > 0 else math.nan,
        level=level,
        p_zero=p_zero,
        scale=scale,
    )


def _inverse(hessian: np.ndarray) -> np.ndarray:
    """The covariance from the observed information, made positive definite if need be."""
    sym = (hessian + hessian.T) / 2
    values, vectors = np.linalg.eigh(sym)
    floor = max(float(np.max(np.abs(values))) * 1e-9, 1e-12)
    values = np.maximum(values, floor)
    return (vectors / values) @ vectors.T


def _ray_root(excess: Callable[[float], float], guess: float, limit: float = 1e4) -> float:
    """The first r > 0 where ``excess(r)`` (negative at 0) turns positive; inf if none by ``limit``."""
    low, high = 0.0, guess
    while excess(high) < 0:
        low, high = high, 2 * high
        if high > limit:
            return math.inf
    return float(optimize.brentq(excess, low, high, xtol=1e-10))


# -- sweeping ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SweepPoint:
    """The estimate at one budget."""

    value: Any
    seed: int
    estimate: Estimate

    def to_json(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "value": plain(self.value),
            "seed": self.seed,
            "trials": e.trials,
            "wins": e.wins,
            "win_rate": e.win_rate,
            "advantage": e.advantage,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "level": e.level,
            "method": e.method,
            "errors": e.error_count,
        }


@attrs.frozen(kw_only=True)
class Sweep:
    """The advantage at each budget, and optionally a fitted curve and an extrapolation.

    Attributes:
        budget: the parameter swept; ``target`` says whose it is (``game`` or ``adversary``).
        points: one :class:`SweepPoint` per value, in order.
        level: the family-wise level; each point's interval is at ``point_level``.
        correction: ``"bonferroni over K budgets"`` or ``"none (pointwise)"``.
        fit: the fitted curve, if one was asked for.
        extrapolation: ``(value, advantage, low, high)`` from the fit, if asked for.
    """

    game: str
    params: Mapping[str, Any]
    adversary: str
    adversary_params: Mapping[str, Any]
    shape: str
    baseline: float
    budget: str
    target: str
    points: tuple[SweepPoint, ...]
    trials: int
    seed: int
    level: float
    point_level: float
    method: str
    correction: str
    fit: Fit | None = None
    extrapolation: tuple[float, float, float, float] | None = None

    @property
    def values(self) -> list[Any]:
        return [p.value for p in self.points]

    def largest(self) -> SweepPoint:
        """The budget with the largest estimated advantage (its interval is only corrected for
        the choice when ``correction`` is Bonferroni)."""
        return max(self.points, key=lambda p: p.estimate.advantage)

    def to_json(self) -> dict[str, Any]:
        biggest = self.largest()
        return {
            "game": self.game,
            "params": plain(self.params),
            "adversary": self.adversary,
            "adversary_params": plain(self.adversary_params),
            "shape": self.shape,
            "baseline": self.baseline,
            "budget": self.budget,
            "target": self.target,
            "trials": self.trials,
            "seed": self.seed,
            "level": self.level,
            "point_level": self.point_level,
            "method": self.method,
            "correction": self.correction,
            "points": [p.to_json() for p in self.points],
            "largest": {
                "value": plain(biggest.value),
                "advantage": biggest.estimate.advantage,
                "ci_low": biggest.estimate.ci_low,
                "ci_high": biggest.estimate.ci_high,
            }
            if self.correction.startswith("bonferroni")
            else None,
            "fit": self.fit.to_json() if self.fit else None,
            "extrapolation": dict(
                zip(("value", "advantage", "low", "high"), self.extrapolation, strict=True)
            )
            if self.extrapolation
            else None,
        }

    def assumption(
        self, *, name: str | None = None, reduction: str = "games.sweeps:same_adversary"
    ) -> str:
        """The fitted curve's upper band as a behavioural assumption: a TOML ``[[assumptions]]``
        entry in the proofs format, for a proof file to cite.

        The claim is an expression of the budget's name, which the citing proof must declare
        as a resource in its ``[domain]``. ``reduction`` defaults to the identity (B is A),
        right when the proof's theorem is stated on this same game.
        """
        if self.fit is None:
            raise InvalidArgument("an assumption needs a fitted curve: give fit=MODEL")
        label = name or re.sub(
            r"[^a-z0-9_]+", "_", f"{self.adversary}_{self.budget}_scaling".lower()
        )
        if not re.match(r"^[a-z][a-z0-9_]*$", label):
            raise InvalidArgument(
                f"name={label!r} must be lower-case letters, digits and '_' starting with a letter"
            )
        params = {
            k: v for k, v in self.params.items() if not (self.target == "game" and k == self.budget)
        }
        fit = self.fit
        fitted = ", ".join(f"{k} = {v:.6g}" for k, v in fit.params.items())
        described = (
            f"{self.adversary} against {self.game}: the advantage at budget {self.budget} is at most "
            f"the upper {fit.level:.0%} band of a {fit.model} fit ({fitted}) to "
            f"{len(self.points)} budgets from {plain(self.values[0])} to {plain(self.values[-1])}, "
            f"{self.trials} trials each, seed {self.seed}"
        )
        lines = [
            f"# Behavioural assumption fitted by `advantage sweep` ({fit.method}).",
            f"# A proof citing it declares the resource `{self.budget}` in its [domain]"
            + (
                f"; {self.budget} is the adversary's parameter, not the game's."
                if self.target == "adversary"
                else "."
            ),
            "[[assumptions]]",
            f"name = {_toml(label)}",
            f"game = {_toml(self.game)}",
            f"params = {_toml_table(params)}",
            'kind = "behavioural"',
            f"claim = {_toml(fit.claim(self.budget))}",
            f"reduction = {_toml(reduction)}",
        ]
        if self.target == "game":
            lines.append(f"resources = {{ {self.budget} = {_toml(self.budget)} }}")
        lines.append(f"description = {_toml(described)}")
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path) -> Path:
        """Draw the points, their intervals, the fit and its band (log budget axis) to ``path``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        values = np.array([float(v) for v in self.values])
        adv = np.array([p.estimate.advantage for p in self.points])
        low = np.array([p.estimate.ci_low for p in self.points])
        high = np.array([p.estimate.ci_high for p in self.points])
        figure, axes = plt.subplots(figsize=(7, 4.5))
        try:
            axes.errorbar(
                values,
                adv,
                yerr=[adv - low, high - adv],
                fmt="o",
                color="C0",
                capsize=3,
                label=f"estimate ({self.point_level:.2%} {self.method}; {self.correction})",
            )
            if self.fit is not None:
                right = max(values.max(), self.extrapolation[0] if self.extrapolation else 0)
                grid = np.geomspace(values.min(), right, 200)
                band_low, band_high = self.fit.advantage_band(grid)
                axes.plot(grid, self.fit.advantage(grid), color="C1", label=f"{self.fit.model} fit")
                axes.fill_between(
                    grid,
                    band_low,
                    band_high,
                    color="C1",
                    alpha=0.2,
                    label=f"{self.fit.level:.0%} band",
                )
            if self.extrapolation is not None:
                value, centre, e_low, e_high = self.extrapolation
                axes.errorbar(
                    [value],
                    [centre],
                    yerr=[[centre - e_low], [e_high - centre]],
                    fmt="s",
                    color="C3",
                    capsize=3,
                    label=f"extrapolated to {value:g}",
                )
            axes.set_xscale("log")
            axes.set_xlabel(f"{self.budget} ({self.target} parameter, log scale)")
            axes.set_ylabel("advantage")
            axes.set_title(f"{self.adversary} vs {self.game}: advantage against {self.budget}")
            axes.grid(True, which="both", alpha=0.3)
            axes.legend(fontsize="small")
            figure.tight_layout()
            out = Path(path)
            if not out.suffix:  # matplotlib would add it; say where the file really is
                out = out.with_suffix(".png")
            figure.savefig(out, dpi=120)
        finally:
            plt.close(figure)
        return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _toml_table(values: Mapping[str, Any]) -> str:
    items = [
        f"{k} = {_toml(v)}"
        for k, v in values.items()
        if v is not None
        and not (isinstance(v, float) and not math.isfinite(v))
        and isinstance(v, bool | int | float | str)
    ]
    return "{ " + ", ".join(items) + " }" if items else "{}"


def same_adversary(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """The identity reduction: B is A (for an assumption stated on the theorem's own game)."""
    return adversary


def point_seed(seed: int, index: int) -> int:
    """The seed of the sweep's ``index``-th budget: independent streams, reproducible."""
    return seeds.derive(seed, b"sweep-point", index)


def budget_target(game: Game, adversary: Any, budget: str) -> str:
    """Whose parameter ``budget`` is: ``"game"`` (tried first) or ``"adversary"``."""
    game_params, adversary_params = parameters(type(game)), parameters(type(adversary))
    if budget in game_params:
        return "game"
    if budget in adversary_params:
        return "adversary"
    raise InvalidArgument(
        f"budget={budget!r} is neither a parameter of game {name_of(game)} "
        f"({', '.join(game_params) or 'none'}) nor of adversary {describe_adversary(adversary)[0]} "
        f"({', '.join(adversary_params) or 'none'})"
    )


def _check_values(values: Any, fitted: bool) -> list[Any]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InvalidArgument(f"values={values!r} must be a non-empty list of budgets")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(float(v)):
            raise InvalidArgument(f"values: {v!r} is not a number")
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InvalidArgument(f"values={list(values)!r} must be strictly increasing")
    if fitted and values[0] <= 0:
        raise InvalidArgument(
            f"values={list(values)!r} must be positive to fit a curve in log budget"
        )
    return list(values)


def sweep(
    game: Game,
    adversary: Callable[..., Any],
    *,
    budget: str,
    values: Sequence[Any],
    trials: int,
    seed: int,
    level: float = 0.95,
    method: str = "clopper-pearson",
    fit: str | None = None,
    extrapolate: float | None = None,
    simultaneous: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    **engine: Any,
) -> Sweep:
    """Estimate the advantage at each budget value, and fit a curve to it if asked.

    Args:
        budget: the name of a game parameter, else of an adversary parameter.
        values: the budgets, strictly increasing (positive when fitting).
        trials, seed, level, method: per budget, as for :func:`games.estimate`; the budget
            ``i`` is played with seed :func:`point_seed` ``(seed, i)``.
        fit: None or one of :data:`MODELS`.
        extrapolate: a budget at which to read the fitted curve and its band.
        simultaneous: Bonferroni-correct the per-budget intervals (default: when fitting).
        progress: called as ``progress(done, total)`` over all trials.
        engine: further options for :func:`games.estimate` (backend, batched, ...).
    """
    if not isinstance(budget, str) or not budget:
        raise InvalidArgument(f"budget={budget!r} must be a parameter name")
    check_run(trials, seed, level, method)
    if fit is not None and fit not in MODELS:
        raise InvalidArgument(f"fit={fit!r} must be one of: {', '.join(MODELS)}")
    values = _check_values(values, fit is not None)
    if fit is not None and len(values) < len(_PARAMETERS[fit]):
        k = len(_PARAMETERS[fit])
        raise InvalidArgument(
            f"fit={fit!r} has {k} parameters but values has {len(values)} point"
            f"{'s' if len(values) != 1 else ''}; give at least {k} budgets"
        )
    if extrapolate is not None:
        if fit is None:
            raise InvalidArgument("extrapolate needs a fitted curve: give fit=MODEL")
        if (
            isinstance(extrapolate, bool)
            or not isinstance(extrapolate, Real)
            or not extrapolate > 0
        ):
            raise InvalidArgument(f"extrapolate={extrapolate!r} must be a positive number")
    target = budget_target(game, adversary, budget)
    if simultaneous is None:
        simultaneous = fit is not None
    k = len(values)
    point_level = 1 - (1 - level) / k if simultaneous and k > 1 else level
    correction = f"bonferroni over {k} budgets" if simultaneous and k > 1 else "none (pointwise)"
    points = []
    for i, value in enumerate(values):
        g = attrs.evolve(game, **{budget: value}) if target == "game" else game  # type: ignore[misc]
        a = attrs.evolve(adversary, **{budget: value}) if target == "adversary" else adversary  # type: ignore[misc]
        step = None
        if progress is not None:
            step = lambda done, _total, i=i: progress(i * trials + done, k * trials)  # noqa: E731
        s = point_seed(seed, i)
        result = estimate(
            g, a, trials=trials, seed=s, level=point_level, method=method, progress=step, **engine
        )
        points.append(SweepPoint(value=value, seed=s, estimate=result))
    first = points[0].estimate
    shape = game.shape
    fitted = None
    extrapolation = None
    if fit is not None:
        fitted = fit_curve(
            fit,
            [float(v) for v in values],
            [p.estimate.wins for p in points],
            [p.estimate.trials for p in points],
            shape=shape,
            baseline=float(game.baseline),
            level=level,
            budget=budget,
        )
        if extrapolate is not None:
            low, high = fitted.advantage_band(extrapolate)
            extrapolation = (
                float(extrapolate),
                float(fitted.advantage(extrapolate)[0]),
                float(low[0]),
                float(high[0]),
            )
    adversary_name, adversary_params = describe_adversary(adversary)
    return Sweep(
        game=first.game,
        params={k_: v for k_, v in game.describe().items()},
        adversary=adversary_name,
        adversary_params=adversary_params,
        shape=shape,
        baseline=float(game.baseline),
        budget=budget,
        target=target,
        points=tuple(points),
        trials=trials,
        seed=seed,
        level=level,
        point_level=point_level,
        method=first.method,
        correction=correction,
        fit=fitted,
        extrapolation=extrapolation,
    )
