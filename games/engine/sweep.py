"""Advantage against budget: a sweep over one parameter, a fitted curve, and its band.

:func:`sweep` estimates the advantage at each value of a budget (a game parameter such as
``queries``, or an adversary parameter such as birthday's ``q``: the game is tried first),
each value with its own seed derived from the sweep's, so the points are independent.

The curves fitted to the points are :mod:`games.stats.curves`'s.

Per-budget intervals are corrected by Bonferroni across the budgets when a curve is fitted
or the largest advantage is read off (``simultaneous``); the record says which.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from games.base import Game
from games.engine import seeds
from games.engine.backends import session
from games.engine.records import Estimate, Played, describe_adversary, plain
from games.engine.runs import check_run, estimate
from games.engine.seeds import fresh_seed
from games.registry import name_of, parameters
from games.stats.curves import CURVE_PARAMETERS, CURVES, CurveFit, fit_curve
from games.stats.intervals import percent
from oracles import InvalidArgument, checks

# The curves' names before they moved to games.stats.curves (assumption files name this module).
MODELS, Fit = CURVES, CurveFit

__all__ = [
    "MODELS",
    "behavioural_assumption",
    "budget_target",
    "Fit",
    "Sweep",
    "SweepPoint",
    "fit_curve",
    "point_seed",
    "same_adversary",
    "sweep",
    "toml_table",
    "toml_value",
]


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
class Sweep(Played):
    """The advantage at each budget, and optionally a fitted curve and an extrapolation.

    Attributes:
        baseline: the game's baseline at every budget; NaN where the budget changes it
            (each point's estimate holds its own).
        budget: the parameter swept; ``target`` says whose it is (``game`` or ``adversary``).
        points: one :class:`SweepPoint` per value, in order.
        level: the family-wise level; each point's interval is at ``point_level``.
        correction: ``"bonferroni over K budgets"`` or ``"none (pointwise)"``.
        fit: the fitted curve, if one was asked for.
        extrapolation: ``(value, advantage, low, high)`` from the fit, if asked for.
    """

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
    fit: CurveFit | None = None
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
        self, *, name: str | None = None, reduction: str = "games.engine.sweep:same_adversary"
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
            f"the upper {percent(fit.level)} band of a {fit.model} fit ({fitted}) to "
            f"{len(self.points)} budgets from {plain(self.values[0])} to {plain(self.values[-1])}, "
            f"{self.trials} trials each, seed {self.seed}"
        )
        header = (
            f"# Behavioural assumption fitted by `advantage sweep` ({fit.method}).\n"
            f"# A proof citing it declares the resource `{self.budget}` in its [domain]"
            + (
                f"; {self.budget} is the adversary's parameter, not the game's."
                if self.target == "adversary"
                else "."
            )
        )
        return behavioural_assumption(
            header,
            name=label,
            game=self.game,
            params=params,
            claim=fit.claim(self.budget),
            reduction=reduction,
            resource=self.budget if self.target == "game" else None,
            description=described,
        )

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
                    label=f"{percent(self.fit.level)} band",
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


def toml_value(value: Any) -> str:
    """A value as TOML: booleans, numbers (nan and inf too), strings, lists, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = (f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    # TOML's basic strings take JSON's escapes; DEL is the one control JSON leaves raw.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def behavioural_assumption(
    header: str,
    *,
    name: str,
    game: str,
    params: Mapping[str, Any],
    claim: str,
    reduction: str,
    resource: str | None,
    description: str,
) -> str:
    """A fitted curve's ``[[assumptions]]`` entry in the proofs format, after the comment
    ``header``; ``resource`` is the game parameter the claim is a function of (None when the
    budget is the adversary's)."""
    lines = [
        header,
        "[[assumptions]]",
        f"name = {toml_value(name)}",
        f"game = {toml_value(game)}",
        f"params = {toml_table(params)}",
        'kind = "behavioural"',
        f"claim = {toml_value(claim)}",
        f"reduction = {toml_value(reduction)}",
    ]
    if resource is not None:
        lines.append(f"resources = {{ {resource} = {toml_value(resource)} }}")
    lines.append(f"description = {toml_value(description)}")
    return "\n".join(lines) + "\n"


def toml_table(values: Mapping[str, Any]) -> str:
    """The plain values of ``values`` as a TOML inline table (None and non-finite left out)."""
    items = [
        f"{k} = {toml_value(v)}"
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


def _check_sweep(budget: Any, values: Any, fit: str | None, extrapolate: Any) -> list[Any]:
    """The budget values, once the sweep's arguments are known to fit together."""
    if not isinstance(budget, str) or not budget:
        raise InvalidArgument(f"budget={budget!r} must be a parameter name")
    if fit is not None:
        checks.choice("fit", fit, CURVES)
    values = _check_values(values, fit is not None)
    if fit is not None and len(values) < len(CURVE_PARAMETERS[fit]):
        k = len(CURVE_PARAMETERS[fit])
        raise InvalidArgument(
            f"fit={fit!r} has {k} parameters but values has {len(values)} point"
            f"{'s' if len(values) != 1 else ''}; give at least {k} budgets"
        )
    if extrapolate is not None:
        if fit is None:
            raise InvalidArgument("extrapolate needs a fitted curve: give fit=MODEL")
        checks.number("extrapolate", extrapolate, 0, open_low=True)
    return values


def _fit(
    fit: str, points: list[SweepPoint], game: Game, level: float, budget: str, extrapolate: Any
) -> tuple[CurveFit, tuple[float, float, float, float] | None]:
    """The fitted curve, and its reading (value, centre, low, high) at ``extrapolate``."""
    fitted = fit_curve(
        fit,
        [float(p.value) for p in points],
        [p.estimate.wins for p in points],
        [p.estimate.trials for p in points],
        shape=game.shape,
        baseline=points[0].estimate.baseline,
        level=level,
        budget=budget,
    )
    if extrapolate is None:
        return fitted, None
    low, high = fitted.advantage_band(extrapolate)
    centre = float(fitted.advantage(extrapolate)[0])
    return fitted, (float(extrapolate), centre, float(low[0]), float(high[0]))


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


def _evolved(
    game: Game, adversary: Any, target: str, budget: str, values: list[Any], fit: str | None
) -> tuple[list[tuple[Game, Any]], set[float]]:
    """The (game, adversary) of each budget, and the game's baselines among them."""
    pairs = [
        (
            attrs.evolve(game, **{budget: value}) if target == "game" else game,  # type: ignore[misc]
            attrs.evolve(adversary, **{budget: value}) if target == "adversary" else adversary,  # type: ignore[misc]
        )
        for value in values
    ]
    baselines = {float(g.baseline) for g, _ in pairs}
    if fit is not None and len(baselines) > 1:
        # One curve has one baseline: fitted to points with others, it reads what none of
        # them measured.
        raise InvalidArgument(
            f"the game's baseline changes with {budget} (from {min(baselines):.3g} to "
            f"{max(baselines):.3g}): a curve fits a budget that leaves it fixed; sweep without "
            "fit to see each point against its own"
        )
    return pairs, baselines


def sweep(
    game: Game,
    adversary: Callable[..., Any],
    *,
    budget: str,
    values: Sequence[Any],
    trials: int,
    seed: int | None = None,
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
            ``i`` is played with seed :func:`point_seed` ``(seed, i)`` (None draws a seed).
        fit: None or one of :data:`games.stats.curves.CURVES`.
        extrapolate: a budget at which to read the fitted curve and its band.
        simultaneous: Bonferroni-correct the per-budget intervals (default: when fitting).
        progress: called as ``progress(done, total)`` over all trials.
        engine: further options for :func:`games.estimate` (backend, batched, ...).
    """
    seed = fresh_seed() if seed is None else seed
    check_run(trials, seed, level, method)
    values = _check_sweep(budget, values, fit, extrapolate)
    target = budget_target(game, adversary, budget)
    if simultaneous is None:
        simultaneous = fit is not None
    k = len(values)
    point_level = 1 - (1 - level) / k if simultaneous and k > 1 else level
    correction = f"bonferroni over {k} budgets" if simultaneous and k > 1 else "none (pointwise)"
    pairs, baselines = _evolved(game, adversary, target, budget, values, fit)
    points = []
    with session():  # the backend's workers start once for every budget
        for i, (value, (g, a)) in enumerate(zip(values, pairs, strict=True)):
            step = None
            if progress is not None:
                step = lambda done, _total, i=i: progress(i * trials + done, k * trials)  # noqa: E731
            s = point_seed(seed, i)
            result = estimate(g, a, trials=trials, seed=s, level=point_level, method=method,
                              progress=step, **engine)  # fmt: skip
            points.append(SweepPoint(value=value, seed=s, estimate=result))
    first = points[0].estimate
    shape = game.shape
    fitted = extrapolation = None
    if fit is not None:
        fitted, extrapolation = _fit(fit, points, game, level, budget, extrapolate)
    adversary_name, adversary_params = describe_adversary(adversary)
    return Sweep(
        game=first.game,
        params={k_: v for k_, v in game.describe().items()},
        adversary=adversary_name,
        adversary_params=adversary_params,
        shape=shape,
        baseline=baselines.pop() if len(baselines) == 1 else math.nan,
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
