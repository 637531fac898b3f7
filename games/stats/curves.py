"""Success against budget: fitted curves with a simultaneous confidence band.

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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from scipy import special

from games.stats.shapes import shape_of
from oracles import InvalidArgument, checks

__all__ = [
    "CURVES",
    "CURVE_PARAMETERS",
    "CurveFit",
    "binomial_loglik",
    "fit_curve",
    "goodness_of_fit",
]

CURVES = ("best-of-n", "power-law", "logistic-in-log-budget")
CURVE_PARAMETERS = {
    "best-of-n": ("p",),
    "power-law": ("a", "b"),
    "logistic-in-log-budget": ("a", "b"),
}
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


def binomial_loglik(p: np.ndarray, wins: np.ndarray, trials: np.ndarray) -> float:
    """The log-likelihood of win counts at win probabilities ``p`` (kept off 0 and 1)."""
    p = np.clip(p, _EDGE, 1 - _EDGE)
    return float(np.sum(special.xlogy(wins, p) + special.xlog1py(trials - wins, -p)))


def goodness_of_fit(
    wins: np.ndarray, trials: np.ndarray, loglik: float, parameters: int
) -> tuple[float, float]:
    """``(deviance, p-value)`` of a fit with ``loglik`` against one free win rate per point
    (χ² with points − parameters degrees of freedom; nan when there are none)."""
    from scipy.stats import chi2  # imported on first use: see games.stats

    rates = np.clip(wins / np.maximum(trials, 1), 0, 1)
    saturated = float(np.sum(special.xlogy(wins, rates) + special.xlog1py(trials - wins, -rates)))
    deviance = max(2 * (saturated - loglik), 0.0)
    dof = np.size(wins) - parameters
    return deviance, float(chi2.sf(deviance, dof)) if dof > 0 else math.nan


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
    return binomial_loglik(p_zero + (1 - p_zero) * s, wins, trials)


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
class CurveFit:
    """A fitted curve of success against budget, with a simultaneous confidence band.

    Attributes:
        model: one of :data:`CURVES`.
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


def _check_counts(wins: np.ndarray, trials: np.ndarray) -> None:
    for name, counts in (("wins", wins), ("trials", trials)):
        # Not whole numbers only: a fit to expected counts (trials × a rate) is a use.
        bad = np.flatnonzero(~(np.isfinite(counts) & (counts >= 0)))
        if bad.size:
            i = int(bad[0])
            raise InvalidArgument(f"{name}[{i}]={counts[i]:g} must be a finite number ≥ 0")
    over = np.flatnonzero(wins > trials)
    if over.size:
        i = int(over[0])
        raise InvalidArgument(f"wins[{i}]={wins[i]:g} must be at most trials[{i}]={trials[i]:g}")


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
) -> CurveFit:
    """Fit ``model`` to win counts at each budget by maximum likelihood, with its band.

    Args:
        model: one of :data:`CURVES`.
        budgets: positive budgets, one per point.
        wins, trials: the win count and trials at each budget.
        shape: the game's shape; ``baseline``: a search game's baseline (zero success).
        level: the band's confidence level.
        budget: the budget's name, for the claim expression.
    """
    checks.choice("fit", model, CURVES)
    checks.open_unit("level", level)
    names = CURVE_PARAMETERS[model]
    n_arr = _budgets_array(budgets)
    w = np.asarray(wins, float)
    t = np.asarray(trials, float)
    if not (n_arr.size == w.size == t.size):
        raise InvalidArgument("budgets, wins and trials must have the same length")
    _check_counts(w, t)
    if n_arr.size < len(names):
        raise InvalidArgument(
            f"fit={model!r} has {len(names)} parameters ({', '.join(names)}) but the sweep has "
            f"{n_arr.size} point{'s' if n_arr.size != 1 else ''}; give at least {len(names)} budgets"
        )
    kind = shape_of(shape)
    p_zero = kind.p_zero(baseline)
    scale = kind.max_advantage(p_zero)
    x, offset = _design(model, n_arr)

    def nll(theta: np.ndarray) -> float:
        return -_loglik(model, theta, x, offset, w, t, p_zero)

    theta = _maximise(nll, model, x, offset, w, t, p_zero)
    top = -nll(theta)
    theta_low, theta_high, covariance, radius = _region(nll, theta, top, level)
    residual, pvalue = goodness_of_fit(w, t, top, len(names))
    return CurveFit(
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
        fit_pvalue=pvalue,
        level=level,
        p_zero=p_zero,
        scale=scale,
    )


def _maximise(
    nll: Callable[[np.ndarray], float],
    model: str,
    x: np.ndarray,
    offset: np.ndarray,
    w: np.ndarray,
    t: np.ndarray,
    p_zero: float,
) -> np.ndarray:
    """The maximum-likelihood parameters: Nelder–Mead from a weighted least-squares start on
    the linearised empirical success rates, then polished by BFGS."""
    from scipy.optimize import minimize

    rate = np.where(t > 0, w / np.maximum(t, 1), 0.5)
    s_emp = np.clip(
        (rate - p_zero) / (1 - p_zero), 0.5 / np.maximum(t, 1), 1 - 0.5 / np.maximum(t, 1)
    )
    y = _link(model, s_emp) - offset
    start = np.linalg.lstsq(x * np.sqrt(t)[:, None], y * np.sqrt(t), rcond=None)[0]
    best = minimize(
        nll,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
    )
    polished = minimize(nll, best.x, method="BFGS")
    return polished.x if polished.fun <= best.fun else best.x


Region = tuple[
    "tuple[float, ...] | None",
    "tuple[float, ...] | None",
    "tuple[tuple[float, ...], ...] | None",
    "float | None",
]


def _region(
    nll: Callable[[np.ndarray], float], theta: np.ndarray, top: float, level: float
) -> Region:
    """The likelihood-ratio region: ``(theta_low, theta_high, None, None)`` for one
    parameter, ``(None, None, covariance, radius)`` (an enclosing ellipse) for two."""
    from scipy.stats import chi2

    critical = float(chi2.ppf(level, theta.size))

    def excess(direction: np.ndarray) -> Callable[[float], float]:
        return lambda r: 2 * (top + nll(theta + r * direction)) - critical

    if theta.size == 1:
        ends = [_ray_root(excess(np.array([sign])), 1.0) for sign in (-1.0, 1.0)]
        return (float(theta[0] - ends[0]),), (float(theta[0] + ends[1]),), None, None
    covariance = _inverse(_hessian(nll, theta))
    chol = np.linalg.cholesky(covariance)
    radii = []
    for angle in np.linspace(0, 2 * np.pi, _RAYS, endpoint=False):
        direction = chol @ np.array([math.cos(angle), math.sin(angle)])
        radii.append(_ray_root(excess(direction), math.sqrt(critical)))
    rows = tuple(tuple(float(v) for v in row) for row in covariance)
    return None, None, rows, float(max(radii) * _WIDEN)


def _inverse(hessian: np.ndarray) -> np.ndarray:
    """The covariance from the observed information, made positive definite if need be."""
    sym = (hessian + hessian.T) / 2
    values, vectors = np.linalg.eigh(sym)
    floor = max(float(np.max(np.abs(values))) * 1e-9, 1e-12)
    values = np.maximum(values, floor)
    return (vectors / values) @ vectors.T


def _ray_root(excess: Callable[[float], float], guess: float, limit: float = 1e4) -> float:
    """The first r > 0 where ``excess(r)`` (negative at 0) turns positive; inf if none by ``limit``."""
    from scipy.optimize import brentq

    low, high = 0.0, guess
    while excess(high) < 0:
        low, high = high, 2 * high
        if high > limit:
            return math.inf
    return float(brentq(excess, low, high, xtol=1e-10))


# -- sweeping ----------------------------------------------------------------------------
