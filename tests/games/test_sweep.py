"""games.sweep and fit_curve: advantage against budget, fitted curves, bands, assumptions."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

import games
import proofs
from adversaries.crypto import Birthday
from games.engine.sweep import MODELS, Sweep, fit_curve, point_seed, sweep
from games.otp import OneTimePad
from games.synthetic import Coin, Draw, Hint, Lottery, lottery_win_rate
from oracles import InvalidArgument

Collision = games.GAMES.get("collision")


def birthday_rate(q: int, n: int = 16) -> float:
    return 1 - math.exp(-q * (q - 1) / 2 ** (n + 1))


def test_budget_is_a_game_parameter_first_then_an_adversary_parameter():
    by_game = sweep(
        Collision(n=12), Birthday(), budget="queries", values=[8, 32], trials=200, seed=0
    )
    assert by_game.target == "game" and [p.estimate.params["queries"] for p in by_game.points] == [
        8,
        32,
    ]
    by_adversary = sweep(
        Collision(n=12, queries=64), Birthday(), budget="q", values=[8, 32], trials=200, seed=0
    )
    assert by_adversary.target == "adversary"
    assert [p.estimate.adversary_params["q"] for p in by_adversary.points] == [8, 32]
    assert by_adversary.points[0].estimate.win_rate < by_adversary.points[1].estimate.win_rate


def test_points_are_independent_and_reproducible():
    a = sweep(
        Collision(n=12), Birthday(), budget="queries", values=[16, 32, 64], trials=300, seed=7
    )
    b = sweep(
        Collision(n=12), Birthday(), budget="queries", values=[16, 32, 64], trials=300, seed=7
    )
    assert [p.estimate.wins for p in a.points] == [p.estimate.wins for p in b.points]
    seeds = [p.seed for p in a.points]
    assert seeds == [point_seed(7, i) for i in range(3)] and len(set(seeds)) == 3
    assert a.correction == "none (pointwise)" and a.point_level == 0.95


def test_birthday_follows_its_curve_and_the_power_law_finds_exponent_two():
    values = [8, 16, 32, 64, 128]
    result = sweep(
        Collision(n=16),
        Birthday(),
        budget="queries",
        values=values,
        trials=2000,
        seed=0,
        fit="power-law",
        extrapolate=256,
    )
    assert result.correction == "bonferroni over 5 budgets"
    assert result.point_level == pytest.approx(1 - 0.05 / 5)
    for point in result.points:  # each Bonferroni interval holds the theoretical value
        assert point.estimate.ci_low <= birthday_rate(point.value) <= point.estimate.ci_high + 1e-12
    fit = result.fit
    # The exponent's simultaneous interval (the band's ellipse projected on b) holds 2.
    half = fit.radius * np.sqrt(fit.covariance[1][1])
    assert fit.params["b"] - half <= 2 <= fit.params["b"] + half and half < 0.5
    # The truth, 1 − exp(−q(q−1)/2^17), is not quite a power law, so the band is held to the
    # power law nearest to it: the fit to the expected win counts.
    truth = np.array([birthday_rate(q) for q in values])
    nearest = fit_curve("power-law", values, 2000 * truth, [2000] * 5, shape="search", baseline=0)
    low, high = fit.advantage_band(values)
    closest = nearest.advantage(values)
    assert np.all(low <= closest) and np.all(closest <= high)
    value, centre, e_low, e_high = result.extrapolation
    assert value == 256 and e_low <= centre <= e_high
    assert e_high >= birthday_rate(256)  # q²/2^17 overestimates 1 − exp(−q(q−1)/2^17)


@pytest.mark.parametrize("model", MODELS)
def test_band_covers_the_true_curve_when_the_model_is_right(model):
    """Coverage of the simultaneous band at the budgets and at an extrapolated one."""
    budgets = np.array([1.0, 2, 4, 8, 16, 32])
    trials = np.full(budgets.size, 400)
    if model == "best-of-n":
        curve = lambda n: -np.expm1(n * np.log1p(-0.01))  # noqa: E731
    elif model == "power-law":
        curve = lambda n: np.minimum(1, 0.01 * n**0.8)  # noqa: E731
    else:
        curve = lambda n: special.expit(-4 + 1.1 * np.log(n))  # noqa: E731
    rng = np.random.default_rng(1)
    where = np.append(budgets, 128.0)
    runs, level, covered = 60, 0.9, 0
    for _ in range(runs):
        wins = rng.binomial(trials, curve(budgets))
        fit = fit_curve(model, budgets, wins, trials, shape="search", baseline=0.0, level=level)
        low, high = fit.band(where)
        covered += bool(np.all((low <= curve(where) + 1e-12) & (curve(where) <= high + 1e-12)))
    assert covered / runs >= level - 3 * math.sqrt(level * (1 - level) / runs)


def test_best_of_n_recovers_the_lottery():
    result = sweep(
        Lottery(p=0.02),
        Draw(),
        budget="queries",
        values=[1, 2, 4, 8, 16, 32],
        trials=1500,
        seed=3,
        fit="best-of-n",
        extrapolate=200,
    )
    fit = result.fit
    low_p = -math.expm1(-math.exp(fit.theta_low[0]))
    high_p = -math.expm1(-math.exp(fit.theta_high[0]))
    assert low_p <= 0.02 <= high_p and low_p < fit.params["p"] < high_p
    _, _, e_low, e_high = result.extrapolation
    assert e_low <= lottery_win_rate(0.02, 200) <= e_high
    assert fit.fit_pvalue > 0.01


def test_hidden_bit_sweeps_map_success_to_advantage():
    fit = fit_curve(
        "logistic-in-log-budget",
        [1, 10, 100],
        [600, 800, 990],
        [1000, 1000, 1000],
        shape="hidden-bit",
    )
    assert fit.p_zero == 0.5 and fit.scale == 1.0
    # success s maps to win rate 1/2 + s/2: the fitted win rates sit near the data
    rates = 0.5 + 0.5 * fit.success([1, 10, 100])
    assert np.allclose(rates, [0.6, 0.8, 0.99], atol=0.06)


def test_the_assumption_parses_as_a_proof_file_and_states_the_band(tmp_path):
    result = sweep(
        Collision(n=16),
        Birthday(),
        budget="queries",
        values=[8, 16, 32, 64, 128],
        trials=1000,
        seed=0,
        fit="logistic-in-log-budget",
    )
    snippet = result.assumption()
    proof = proofs.loads(
        '[theorem]\ngame = "collision"\nparams = { n = 16 }\nbound = "adv_birthday_queries_scaling"\n\n'
        '[domain]\nqueries = { type = "integer", low = 1, high = 1024, param = "queries" }\n\n'
        + snippet
        + '\n[[hops]]\nfrom = "G0"\nto = "G1"\nby = "assumption birthday_queries_scaling"\n'
    )
    (assumption,) = proof.assumptions
    assert assumption.kind == "behavioural" and assumption.game == "collision"
    assert (
        dict(assumption.params) == {"n": 16}
        and assumption.reduction == "games.engine.sweep:same_adversary"
    )
    for q in (8, 100, 1024):
        assert assumption.claim.value({"queries": q}) == pytest.approx(
            result.fit.advantage_band(q)[1][0], rel=1e-9
        )
    reduction = assumption.resolve_reduction()
    assert reduction(Birthday(), {}) == Birthday()
    # Files written before the sweep moved name games.sweeps, which still resolves.
    header = (
        '[theorem]\ngame = "collision"\nparams = { n = 16 }\nbound = "adv_birthday_queries_scaling"\n\n'
        '[domain]\nqueries = { type = "integer", low = 1, high = 1024, param = "queries" }\n\n'
    )
    older = proofs.loads(
        header
        + snippet.replace("games.engine.sweep:", "games.sweeps:")
        + '\n[[hops]]\nfrom = "G0"\nto = "G1"\nby = "assumption birthday_queries_scaling"\n'
    )
    assert older.assumptions[0].resolve_reduction()(Birthday(), {}) == Birthday()


@pytest.mark.parametrize("model", MODELS)
def test_every_model_writes_a_claim_in_the_grammar(model):
    fit = fit_curve(
        model,
        [1, 2, 4, 8],
        [5, 9, 20, 41],
        [200, 200, 200, 200],
        shape="search",
        baseline=0.001,
        budget="steps",
    )
    expr = proofs.parse_expression(fit.claim(), {"steps": __import__("sympy").Symbol("steps")})
    for steps in (1, 16, 1000):
        value = float(expr.subs("steps", steps))
        band = fit.advantage_band(steps)[1][0]
        if model == "power-law" and band >= fit.scale:  # clipped at 1 in the band only
            assert value >= band
        else:
            assert value == pytest.approx(band, rel=1e-9)


def test_an_adversary_budget_assumption_says_whose_parameter_it_is():
    result = sweep(
        Collision(n=12, queries=64),
        Birthday(),
        budget="q",
        values=[4, 8, 16, 32],
        trials=300,
        seed=0,
        fit="power-law",
    )
    text = result.assumption(name="birthday_q")
    assert (
        'name = "birthday_q"' in text
        and "adversary's parameter" in text
        and "resources" not in text
    )


def test_plot_draws_a_png_and_matplotlib_loads_only_then(tmp_path):
    result = sweep(
        Lottery(p=0.05),
        Draw(),
        budget="queries",
        values=[1, 4, 16],
        trials=200,
        seed=0,
        fit="best-of-n",
        extrapolate=64,
    )
    out = result.plot(tmp_path / "curve.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code = "import games, games.sweeps, sys; assert 'matplotlib' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_to_json_reports_correction_fit_and_largest():
    result = sweep(
        OneTimePad(key_reuse=True),
        games.ADVERSARIES.get("two-time-pad")(),
        budget="n",
        values=[4, 8, 16],
        trials=100,
        seed=0,
        simultaneous=True,
    )
    data = result.to_json()
    assert isinstance(result, Sweep) and data["correction"] == "bonferroni over 3 budgets"
    assert data["largest"]["advantage"] == 1.0 and data["fit"] is None and len(data["points"]) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "must be a non-empty list of budgets"),
        ({"values": [4, 2]}, r"values=\[4, 2\] must be strictly increasing"),
        ({"values": [2, 2]}, "must be strictly increasing"),
        ({"values": [1, "x"]}, "'x' is not a number"),
        ({"values": [0, 2], "fit": "best-of-n"}, "must be positive to fit"),
        (
            {"values": [2], "fit": "power-law"},
            "fit='power-law' has 2 parameters but values has 1 point",
        ),
        ({"values": [2, 4], "fit": "cubic"}, "fit='cubic' must be one of: best-of-n, power-law"),
        ({"values": [2, 4], "extrapolate": 8}, "extrapolate needs a fitted curve"),
        (
            {"values": [2, 4], "fit": "best-of-n", "extrapolate": -1},
            "extrapolate=-1 must be a number in \\(0, inf\\)",
        ),
        (
            {"budget": "rounds", "values": [2, 4]},
            "budget='rounds' is neither a parameter of game Lottery",
        ),
        ({"values": [2, 4], "trials": 0}, "trials=0 must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"budget": "queries", "trials": 10, "seed": 0, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        sweep(Lottery(), Draw(), **kwargs)


def test_a_fit_over_a_budget_that_moves_the_baseline_is_refused():
    # The curve took the unswept game's baseline, 2^-3: at n=1 it read +0.88 where every
    # point measured about 0.
    with pytest.raises(InvalidArgument, match="the game's baseline changes with n"):
        sweep(Lottery(p=0.0, n=3), Draw(), budget="n", values=[1, 2, 3], trials=10, seed=1,
              fit="power-law")  # fmt: skip
    plain = sweep(Lottery(p=0.0, n=3), Draw(), budget="n", values=[1, 2], trials=10, seed=1)
    assert math.isnan(plain.baseline)
    assert [p.estimate.baseline for p in plain.points] == [0.5, 0.25]


def test_fit_curve_bad_arguments():
    with pytest.raises(InvalidArgument, match="fit='spline' must be one of"):
        fit_curve("spline", [1, 2], [1, 2], [10, 10], shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match="has 2 parameters"):
        fit_curve("power-law", [1], [1], [10], shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match="must be positive numbers"):
        fit_curve("best-of-n", [0, 1], [1, 2], [10, 10], shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match=r"wins\[1\]=12 must be at most trials\[1\]=10"):
        fit_curve("best-of-n", [1, 2], [1, 12], [10, 10], shape="search", baseline=0.0)
    for wins, trials, bad in (([-1, 2], [10, 10], "wins"), ([1, np.nan], [10, 10], "wins")):
        with pytest.raises(InvalidArgument, match=rf"{bad}\[\d\]=.* must be a finite number ≥ 0"):
            fit_curve("best-of-n", [1, 2], wins, trials, shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match=r"trials\[0\]=-5 must be a finite number ≥ 0"):
        fit_curve("best-of-n", [1, 2], [1, 2], [-5, 10], shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match="same length"):
        fit_curve("best-of-n", [1, 2], [1], [10, 10], shape="search", baseline=0.0)
    with pytest.raises(InvalidArgument, match="baseline=None must be given"):
        fit_curve("best-of-n", [1, 2], [1, 2], [10, 10], shape="search")
    with pytest.raises(InvalidArgument, match="an assumption needs a fitted curve"):
        sweep(Coin(), Hint(), budget="advantage", values=[0.1, 0.2], trials=10, seed=0).assumption()
