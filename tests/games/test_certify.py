"""games.certify: anytime-valid decisions through the engine, on the engine's own trials."""

from __future__ import annotations

import math

import numpy as np
import pytest

import games
from adversaries.crypto import Birthday
from games.engine import Chunks, play_chunk
from games.engine.certify import Certificate, certify
from games.otp import OneTimePad
from games.stats.sequential import certifier
from games.synthetic import Coin, Draw, Hint, Lottery, Worlds
from oracles import InvalidArgument

GUESS = games.ADVERSARIES.get("guess")
TWO_TIME_PAD = games.ADVERSARIES.get("two-time-pad")


def wrong_rate(game, adversary, *, eps, alpha, runs, wrong, max_trials=4096):
    decisions = np.array(
        [
            certify(
                game,
                adversary,
                eps=eps,
                alpha=alpha,
                max_trials=max_trials,
                seed=seed,
                chunk_size=256,
            ).decision
            for seed in range(runs)
        ]
    )
    return float(np.mean(decisions == wrong)), decisions


def slack(alpha: float, runs: int) -> float:
    return 3 * math.sqrt(alpha * (1 - alpha) / runs)


# -- validity: the chance of a wrong decision is at most alpha ----------------------------


@pytest.mark.parametrize(
    ("make", "eps", "truth", "wrong"),
    [
        # hidden bit: exactly at eps (inside, so "above" is wrong), and just outside it
        (lambda a: (Coin(advantage=a), Hint()), 0.2, 0.2, "above"),
        (lambda a: (Coin(advantage=a), Hint()), 0.2, 0.23, "below"),
        # search with Pr[win] known (baseline 2^-40, negligible)
        (lambda a: (Lottery(p=a, n=40), Draw()), 0.2, 0.2, "above"),
        (lambda a: (Lottery(p=a, n=40), Draw()), 0.2, 0.215, "below"),
    ],
)
def test_wrong_decisions_at_most_alpha_near_the_boundary(make, eps, truth, wrong):
    alpha, runs = 0.1, 200
    game, adversary = make(truth)
    rate, decisions = wrong_rate(game, adversary, eps=eps, alpha=alpha, runs=runs, wrong=wrong)
    assert rate <= alpha + slack(alpha, runs), (rate, decisions)
    # not vacuous: a good share of the runs decide within max_trials
    assert np.mean(decisions != "undecided") >= 0.15


def test_real_vs_ideal_random_worlds_keep_the_guarantee():
    # each trial's world is a coin flip: win rate (0.9 + 0.3)/2 = 0.6, advantage exactly eps = 0.2
    alpha, runs = 0.1, 150
    rate, _ = wrong_rate(
        Worlds(p_real=0.9, p_ideal=0.7), Hint(), eps=0.2, alpha=alpha, runs=runs, wrong="above"
    )
    assert rate <= alpha + slack(alpha, runs)
    result = certify(Worlds(p_real=0.95, p_ideal=0.2), Hint(), eps=0.2, seed=0)
    assert result.decision == "above" and result.ci_low > 0.2


def test_decides_right_far_from_the_boundary():
    for seed in range(3):
        assert certify(Coin(advantage=0.0), Hint(), eps=0.2, seed=seed).decision == "below"
        assert certify(Coin(advantage=0.6), Hint(), eps=0.2, seed=seed).decision == "above"


# -- the engine's trials --------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False])
def test_undecided_run_plays_the_trials_of_estimate(batched):
    game, adversary = OneTimePad(), GUESS()
    result = certify(
        game, adversary, eps=0.01, max_trials=700, seed=5, batched=batched, chunk_size=128
    )
    reference = games.estimate(game, adversary, trials=700, seed=5, batched=batched, chunk_size=128)
    assert result.decision == "undecided"
    assert (result.trials, result.wins, result.played) == (700, reference.wins, 700)
    # the interval is still reported, and contains the estimate
    assert result.ci_low <= reference.advantage <= result.ci_high


@pytest.mark.parametrize("batched", [True, False])
def test_stops_at_the_first_crossing_of_the_thresholds(batched):
    game, adversary = Coin(advantage=0.1), Hint()
    cert = certifier(0.05, alpha=0.05)
    for seed in range(3):
        result = certify(game, adversary, eps=0.05, seed=seed, batched=batched, chunk_size=256)
        horizon = result.played
        outcomes = np.concatenate(
            [
                Chunks(game, adversary, seed, batched, collect="outcomes")(
                    a, min(a + 256, horizon)
                )[1]
                for a in range(0, horizon, 256)
            ]
        )
        wins = np.cumsum(outcomes == 1)
        most_below, least_above = cert.boundaries(horizon)
        hit = np.flatnonzero((wins <= most_below) | (wins >= least_above))
        assert result.decided and result.trials == hit[0] + 1
        assert result.wins == wins[hit[0]]
        assert result.decision == ("below" if wins[hit[0]] <= most_below[hit[0]] else "above")


def test_outcomes_agree_with_play_chunk_tallies():
    game = games.GAMES.get("collision")(n=10, queries=24)
    for batched in (True, False):
        tally, outcomes = Chunks(game, Birthday(), 3, batched, collect="outcomes")(0, 200)
        reference = play_chunk(game, Birthday(), 3, 0, 200, batched)
        assert tally.wins == reference.wins == int((outcomes == 1).sum())
        assert tally.trials == reference.trials == outcomes.size


def test_interval_is_consistent_with_the_decision():
    for game, adversary, eps in [
        (OneTimePad(key_reuse=True), TWO_TIME_PAD(), 0.1),
        (OneTimePad(), GUESS(), 0.2),
        (games.GAMES.get("collision")(n=12), Birthday(), 0.3),
        (games.GAMES.get("prf")(prf="toy-linear"), games.ADVERSARIES.get("linear-prf")(), 0.5),
    ]:
        result = certify(game, adversary, eps=eps, seed=1)
        assert isinstance(result, Certificate) and result.decided
        if result.decision == "below":
            assert result.win_high <= result.p_eps and result.ci_high <= eps + 1e-12
        else:
            assert result.win_low > result.p_eps and result.ci_low > eps - 1e-12
        assert result.ci_low <= result.advantage <= result.ci_high
        assert result.played >= result.trials
        assert set(result.to_json()) >= {
            "decision",
            "trials",
            "wins",
            "ci_low",
            "ci_high",
            "eps",
            "alpha",
            "seed",
            "method",
        }
        assert (
            f"eps = {eps:g}" in str(result)
            or f"≤ {eps:g}" in str(result)
            or f"> {eps:g}" in str(result)
        )


def test_search_boundary_is_baseline_plus_eps():
    game = Lottery(p=0.0, n=3)  # baseline 1/8
    result = certify(game, Draw(), eps=0.2, seed=0)
    assert result.p_eps == pytest.approx(0.125 + 0.2)
    assert result.decision == "below"  # wins only by the 1/8 guess


def test_progress_sees_the_interval_shrink():
    seen: list[Certificate] = []
    certify(Coin(advantage=0.0), Hint(), eps=0.05, seed=0, batched=False, progress=seen.append)
    trials = [c.trials for c in seen]
    widths = [c.ci_high - c.ci_low for c in seen]
    assert len(seen) >= 3 and trials == sorted(trials) and widths[-1] < widths[0]


def test_process_backend_gives_the_same_certificate():
    game, adversary = Coin(advantage=0.1), Hint()
    serial = certify(game, adversary, eps=0.05, seed=2, batched=False, max_trials=3000)
    pooled = certify(
        game,
        adversary,
        eps=0.05,
        seed=2,
        batched=False,
        max_trials=3000,
        backend="process",
        workers=2,
    )
    assert (pooled.decision, pooled.trials, pooled.wins) == (
        serial.decision,
        serial.trials,
        serial.wins,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps": 0.0}, r"eps=0.0 must be in \(0, 1\)"),
        ({"eps": 1.5}, r"eps=1.5 must be in \(0, 1\)"),
        ({"eps": 0.1, "alpha": 0.0}, r"alpha=0.0 must be in \(0, 1\)"),
        ({"eps": 0.1, "alpha": 1}, r"alpha=1 must be in \(0, 1\)"),
        ({"eps": 0.1, "max_trials": 0}, "max_trials=0 must be a positive integer"),
        ({"eps": 0.1, "seed": -1}, "seed=-1 must be a non-negative integer"),
        ({"eps": 0.1, "chunk_size": 0}, "chunk_size=0 must be a positive integer"),
        ({"eps": 0.1, "batched": True, "isolate": True}, "isolate=True plays trial by trial"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        certify(OneTimePad(), GUESS(), **kwargs)


def test_search_eps_must_leave_room_above_the_baseline():
    with pytest.raises(InvalidArgument, match="must be less than 1 - baseline"):
        certify(Lottery(n=1), Draw(), eps=0.6, seed=0)


@pytest.mark.parametrize(
    "game, adversary, eps",
    [
        (Coin(advantage=0.0), Hint(), 0.1),
        (Worlds(p_real=0.95, p_ideal=0.2), Hint(), 0.2),
        (Lottery(p=0.0, n=3), Draw(), 0.2),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_the_sequence_is_the_confidence_sequence_up_to_the_stopping_trial(
    game, adversary, eps, batched
):
    result = certify(game, adversary, eps=eps, seed=2, batched=batched, chunk_size=256)
    trials = [n for n, _, _ in result.sequence]
    assert trials == sorted(set(trials)) and 10 < len(trials) <= 110
    assert result.sequence[-1] == (result.trials, result.ci_low, result.ci_high)
    # Each point is the sequence's interval at the wins the trials up to it gave.
    horizon = trials[-1]
    outcomes = np.concatenate(
        [
            # whole chunks: on the batched path a chunk's draws depend on its bounds
            Chunks(game, adversary, 2, batched, collect="outcomes")(a, a + 256)[1]
            for a in range(0, horizon, 256)
        ]
    )
    wins = np.cumsum(outcomes == 1)
    cert = certifier(
        eps,
        alpha=0.05,
        shape=game.shape if game.shape == "search" else "hidden-bit",
        baseline=game.baseline if game.shape == "search" else None,
    )
    for n, low, high in result.sequence[:: max(1, len(trials) // 8)]:
        win_low, win_high = cert.bounds(int(wins[n - 1]), n)
        scale = (
            (win_low - game.baseline, win_high - game.baseline)
            if game.shape == "search"
            else (2 * win_low - 1, 2 * win_high - 1)
        )
        assert (low, high) == pytest.approx(scale)
    assert result.to_json()["sequence"] == [list(point) for point in result.sequence]
