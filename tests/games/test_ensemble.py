"""games.estimate_best: several adversaries on the same trials, the union and the corrected max."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import pytest

import games
from adversaries.crypto import Birthday
from games.engine.ensemble import Ensemble, estimate_best
from games.otp import OneTimePad
from games.synthetic import Coin, Draw, Hint, Lottery, Worlds, lottery_win_rate
from oracles import InvalidArgument

GUESS = games.ADVERSARIES.get("guess")
TWO_TIME_PAD = games.ADVERSARIES.get("two-time-pad")
Collision = games.GAMES.get("collision")


@attrs.frozen
class NoisyHint:
    """Answers the hint, flipped with probability ``flip`` (its own noise, per adversary)."""

    flip: float = 0.0
    salt: int = 0

    def __call__(self, oracles, rng):
        return int(oracles["hint"]()) ^ int(rng.random() < self.flip)

    def batch(self, oracles, rng, size):
        noise = np.random.default_rng([self.salt, *rng.integers(0, 2**32, 2)]).random(size)
        return np.asarray(oracles["hint"]()) ^ (noise < self.flip)


@attrs.frozen
class Raises:
    def __call__(self, oracles, rng):
        raise RuntimeError("broken attack")

    def batch(self, oracles, rng, size):
        raise RuntimeError("broken attack")


@attrs.frozen
class Greedy:
    """Draws one more time than its budget allows (and loses its copy of the trial)."""

    def __call__(self, oracles, rng):
        for _ in range(oracles["draw"].budget + 1):
            oracles["draw"]()
        return 0

    def batch(self, oracles, rng, size):
        for _ in range(oracles["draw"].budget + 1):
            oracles["draw"]()
        return np.zeros(size)


@pytest.mark.parametrize("batched", [True, False])
def test_every_adversary_plays_the_trials_of_its_own_run(batched):
    game = Collision(n=10, queries=32)
    adversaries = [Birthday(q=8), Birthday(q=16), Birthday()]
    result = estimate_best(game, adversaries, trials=300, seed=4, batched=batched)
    assert isinstance(result, Ensemble) and result.labels == (
        "birthday(q=8)",
        "birthday(q=16)",
        "birthday(q=None)",
    )
    for adversary, got in zip(adversaries, result.adversaries, strict=True):
        alone = games.estimate(
            game, adversary, trials=300, seed=4, batched=batched, level=1 - 0.05 / 3
        )
        assert (got.wins, got.ci_low, got.ci_high, got.level) == (
            alone.wins,
            alone.ci_low,
            alone.ci_high,
            alone.level,
        )


@pytest.mark.parametrize("batched", [True, False])
def test_union_of_one_adversary_is_that_adversary(batched):
    game = Collision(n=10, queries=24)
    result = estimate_best(game, [Birthday()], trials=400, seed=1, batched=batched)
    alone = games.estimate(game, Birthday(), trials=400, seed=1, batched=batched)
    assert result.union is not None and result.union.wins == alone.wins
    assert result.best.correction == "none needed (one adversary)"
    assert (result.best.ci_low, result.best.ci_high) == (alone.ci_low, alone.ci_high)


@pytest.mark.parametrize("batched", [True, False])
def test_union_counts_a_trial_won_by_any_adversary(batched):
    # Draw(k) sees the first k draws of the same copy of the trial: the union is Draw(3)
    game = Lottery(p=0.1, queries=3)
    result = estimate_best(
        game, [Draw(queries=1), Draw(queries=2), Draw()], trials=2000, seed=0, batched=batched
    )
    wins = [e.wins for e in result.adversaries]
    assert wins == sorted(wins) and result.union.wins == wins[-1]
    expected = lottery_win_rate(0.1, 3)
    assert abs(result.union.win_rate - expected) < 4 * math.sqrt(expected * (1 - expected) / 2000)
    assert "per-trial union" in result.union.method and result.union.adversary.startswith("any of")
    assert result.worst_case is result.union


@pytest.mark.parametrize("batched", [True, False])
def test_a_failing_adversary_loses_only_its_own_copy(batched):
    game = Lottery(p=0.2, queries=2)
    result = estimate_best(game, [Raises(), Greedy(), Draw()], trials=500, seed=3, batched=batched)
    alone = games.estimate(game, Draw(), trials=500, seed=3, batched=batched)
    assert result.adversaries[0].errors == {"exception": 500}
    assert result.adversaries[1].errors == {"budget": 500}
    assert result.union.wins == alone.wins and result.union.error_count == 0


def test_union_beats_each_adversary_on_disjoint_luck():
    # two birthday attacks with different query points find different collisions
    game = Collision(n=10, queries=24)

    @attrs.frozen
    class Shifted:
        inner: Any

        def __call__(self, oracles, rng):
            rng.random()  # another stream of points
            return self.inner(oracles, rng)

    result = estimate_best(
        game, [Birthday(), Shifted(Birthday())], trials=600, seed=0, batched=False
    )
    a, b = (e.wins for e in result.adversaries)
    assert result.union.wins >= max(a, b) and result.union.wins < a + b


def test_bit_games_get_the_corrected_max_and_no_union():
    result = estimate_best(
        OneTimePad(key_reuse=True), [GUESS(), TWO_TIME_PAD()], trials=800, seed=0, level=0.9
    )
    assert result.union is None and result.worst_case is result.best
    assert (
        result.best.adversary == "two-time-pad"
        and result.best.correction == "bonferroni over 2 adversaries"
    )
    assert all(e.level == pytest.approx(0.95) for e in result.adversaries)
    assert result.best.ci_low == max(e.ci_low for e in result.adversaries)
    assert result.best.ci_high == max(e.ci_high for e in result.adversaries)
    data = result.to_json()
    assert {"adversaries", "best", "union", "correction"} <= set(data) and len(
        data["adversaries"]
    ) == 2
    assert data["adversaries"][1]["label"] == "two-time-pad" and data["best"]["level"] == 0.9


def test_bonferroni_max_keeps_its_level_where_the_uncorrected_max_does_not():
    """k adversaries with the same true advantage a: the largest lower bound overshoots a
    with probability ≤ (1 − level)/2 when corrected; uncorrected it is about k times that."""
    truth, k, level, runs, flip = 0.3, 5, 0.8, 200, 0.35
    game = Coin(advantage=truth)
    # each adversary has its own noise and the same advantage
    adversaries = [NoisyHint(flip=flip, salt=j) for j in range(k)]
    each = truth * (1 - 2 * flip)
    corrected = uncorrected = 0
    for seed in range(runs):
        result = estimate_best(game, adversaries, trials=200, seed=seed, level=level)
        corrected += result.best.ci_low > each
        plain = [
            games.stats.advantage_interval("hidden-bit", e.wins, e.trials, level)[0]
            for e in result.adversaries
        ]
        uncorrected += max(plain) > each
    tail = (1 - level) / 2
    error = 3 * math.sqrt(tail * (1 - tail) / runs)
    assert corrected / runs <= tail + error
    assert uncorrected / runs > tail + error  # the correction is needed


@pytest.mark.parametrize("correction", ["bonferroni", "held-out"])
def test_a_selection_where_no_adversary_has_an_advantage_takes_the_first(correction):
    # Two real-vs-ideal trials to choose on: often one world gets none, so no estimate has
    # an advantage; the choice falls to the first adversary rather than failing.
    for seed in range(4):
        result = estimate_best(
            Worlds(), [Hint(), Hint()], trials=2, seed=seed, correction=correction
        )
        chosen = [e.advantage for e in result.adversaries]
        if all(math.isnan(a) for a in chosen):
            assert result.best.index == 0
            break
    else:
        pytest.fail("no seed gave a selection without an advantage")


def test_held_out_split_chooses_on_the_first_half_and_estimates_on_the_second():
    game = Coin(advantage=0.4)
    adversaries = [NoisyHint(flip=0.4, salt=0), Hint(), NoisyHint(flip=0.2, salt=1)]
    result = estimate_best(
        game, adversaries, trials=1000, seed=2, correction="held-out", batched=False
    )
    assert [e.trials for e in result.adversaries] == [500, 500, 500]
    assert all(e.level == 0.95 for e in result.adversaries)
    assert result.best.adversary == "Hint" and result.best.trials == 500
    assert result.best.correction == "held-out: chosen on trials 0-499, estimated on trials 500-999"
    full = games.estimate(game, Hint(), trials=1000, seed=2, batched=False)
    # the evaluation split is trials 500-999 of the same seed
    second = round((result.best.advantage + 1) / 2 * 500)
    assert result.adversaries[1].wins + second == full.wins


def test_real_vs_ideal_adversaries():
    game = Worlds(p_real=0.8, p_ideal=0.3)
    result = estimate_best(game, [Hint(), GUESS()], trials=600, seed=0)
    assert result.best.adversary == "Hint" and result.union is None
    assert result.best.ci_low < 0.5 < result.best.ci_high
    assert result.adversaries[0].method == "bonferroni-clopper-pearson"


@pytest.mark.parametrize(
    ("adversaries", "kwargs", "message"),
    [
        ([], {}, "must be a non-empty list of adversaries"),
        (
            [Hint()],
            {"correction": "holm"},
            "correction='holm' must be one of: bonferroni, held-out",
        ),
        ([Hint()], {"correction": "held-out", "trials": 1}, "trials=1 must be at least 2"),
        ([Hint()], {"trials": 0}, "trials=0 must be a positive integer"),
        ([Hint()], {"level": 1.0}, r"level=1.0 must be in \(0, 1\)"),
    ],
)
def test_bad_arguments(adversaries, kwargs, message):
    kwargs = {"trials": 10, "seed": 0, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        estimate_best(Coin(), adversaries, **kwargs)
