import math
import subprocess
import sys

import attrs
import numpy as np
import pytest

import games
from adversaries import Constant, Guess
from adversaries.otp import TwoTimePad
from games import Challenge, InvalidArgument
from games.otp import OneTimePad

# -- small games defined here, one per shape ------------------------------------------------


@attrs.frozen(kw_only=True)
class Coin(games.RealIdeal):
    """Real world: a coin with bias p; ideal: a fair coin. One flip per query."""

    p: float = 0.75

    def setup(self, world, rng):
        bias = self.p if world == games.REAL else 0.5
        return Challenge(oracles={"flip": lambda: int(rng.random() < bias)}, budgets={"flip": 1})


@attrs.frozen(kw_only=True)
class SayHeads:
    def __call__(self, oracles, rng):
        return oracles["flip"]()


@attrs.frozen(kw_only=True)
class GuessNumber(games.Search):
    """Find a secret t-bit number with one query that says whether it is even."""

    t: int = 4

    @property
    def baseline(self):
        return 2.0**-self.t

    def setup(self, rng):
        secret = int(rng.integers(2**self.t))
        return Challenge(oracles={"parity": lambda: secret % 2}, secret=secret)

    def finalize(self, challenge, answer):
        return answer == challenge.secret


@attrs.frozen(kw_only=True)
class UseParity:
    def __call__(self, oracles, rng):
        parity = oracles["parity"]()
        return 2 * int(rng.integers(2**3)) + parity


@attrs.frozen(kw_only=True)
class Flaky(games.HiddenBit):
    """A game whose challenger fails on every third trial's key."""

    def setup(self, b, rng):
        if rng.integers(3) == 0:
            raise games.TrialFailed("the challenger's training diverged")
        return Challenge(public={"b": b})


@attrs.frozen(kw_only=True)
class ReadPublic:
    def __call__(self, oracles, rng):
        return oracles.public["b"]


# -- the three shapes -----------------------------------------------------------------------


def test_otp_matches_theory():
    reuse = games.estimate(
        OneTimePad(key_reuse=True), TwoTimePad(), trials=2000, seed=1, batched=False
    )
    assert reuse.ci_low > 0.95 and reuse.advantage == 1.0
    fresh = games.estimate(OneTimePad(), TwoTimePad(), trials=2000, seed=1, batched=False)
    assert fresh.ci_low <= 0 <= fresh.ci_high
    for key_reuse in (False, True):
        guess = games.estimate(OneTimePad(key_reuse=key_reuse), Guess(), trials=2000, seed=2)
        assert guess.ci_low <= 0 <= guess.ci_high


def test_real_vs_ideal_draws_worlds_and_uses_two_sample_interval():
    result = games.estimate(Coin(p=0.75), SayHeads(), trials=4000, seed=3)
    (rn, r1), (i_n, i1) = result.worlds["real"], result.worlds["ideal"]
    # Each world is a fair coin of the challenger's: about half each, never exactly by design.
    assert rn + i_n == 4000 and abs(rn - 2000) < 4 * math.sqrt(1000)
    assert result.advantage == pytest.approx(r1 / rn - i1 / i_n)
    assert result.ci_low <= 0.25 <= result.ci_high
    assert result.method == "bonferroni-clopper-pearson"
    assert result.win_rate == pytest.approx((r1 + i_n - i1) / 4000)
    wilson = games.estimate(Coin(p=0.75), SayHeads(), trials=4000, seed=3, method="wilson")
    assert wilson.method == "newcombe" and wilson.advantage == result.advantage


def test_search_advantage_is_over_baseline():
    result = games.estimate(GuessNumber(t=4), UseParity(), trials=4000, seed=1)
    assert result.baseline == 1 / 16
    assert result.ci_low <= 1 / 8 - 1 / 16 <= result.ci_high
    assert result.advantage == pytest.approx(result.win_rate - 1 / 16)


# -- reproducibility ------------------------------------------------------------------------


def test_same_seed_same_result_any_chunking():
    runs = [
        games.estimate(OneTimePad(), Guess(), trials=999, seed=9, batched=False, chunk_size=size)
        for size in (1, 7, 256, 5000)
    ]
    assert len({r.wins for r in runs}) == 1
    other = games.estimate(OneTimePad(), Guess(), trials=999, seed=10, batched=False)
    assert other.wins != runs[0].wins or other.seed != runs[0].seed


def test_replay_reproduces_each_trial():
    game, adversary = OneTimePad(), Guess()
    wins = sum(games.replay(game, adversary, seed=5, trial=i).win for i in range(200))
    assert wins == games.estimate(game, adversary, trials=200, seed=5, batched=False).wins
    record = games.replay(OneTimePad(key_reuse=True), TwoTimePad(), seed=5, trial=7)
    (q1, a1), (q2, a2) = record.transcripts["encrypt"]
    assert q1 == (0, 0) and q2 == (0, 1) and (a1 ^ a2) == record.hidden
    assert record.win and record.error is None


def test_batched_and_per_trial_paths_agree():
    for key_reuse in (False, True):
        game = OneTimePad(key_reuse=key_reuse)
        one = games.estimate(game, TwoTimePad(), trials=4000, seed=11, batched=False)
        many = games.estimate(game, TwoTimePad(), trials=4000, seed=11)
        assert many.path == "batch" and one.path == "trial"
        # Two estimates of the same advantage: their intervals must overlap.
        assert max(one.ci_low, many.ci_low) <= min(one.ci_high, many.ci_high)
        assert one.queries["encrypt"] == many.queries["encrypt"] == 8000


def test_batched_requires_both_sides():
    @attrs.frozen
    class NoBatch:
        def __call__(self, oracles, rng):
            return 0

    with pytest.raises(InvalidArgument, match="the adversary has no batched path"):
        games.estimate(OneTimePad(), NoBatch(), trials=10, seed=0, batched=True)
    assert games.estimate(OneTimePad(), NoBatch(), trials=10, seed=0).path == "trial"


# -- failures are counted, never dropped ---------------------------------------------------


@attrs.frozen
class Raises:
    def __call__(self, oracles, rng):
        if rng.random() < 0.5:
            raise ZeroDivisionError("the attack broke")
        return 0


@pytest.mark.parametrize(
    ("adversary", "kind"),
    [
        (Constant(value=None), "invalid-answer"),
        (Constant(value=math.nan), "invalid-answer"),
        (Constant(value=2), "invalid-answer"),
        (Raises(), "exception"),
    ],
)
def test_adversary_failures_lose_the_trial_and_are_reported(adversary, kind):
    result = games.estimate(OneTimePad(), adversary, trials=300, seed=1, batched=False)
    assert result.errors[kind] > 0 and result.trials == 300
    assert "trial" in result.first_error
    if kind == "exception":
        assert "ZeroDivisionError: the attack broke" in result.first_error
    else:
        assert result.wins == 0


@attrs.frozen
class Greedy:
    swallow: bool = False

    def __call__(self, oracles, rng):
        for _ in range(3):
            try:
                oracles["encrypt"](0, 1)
            except oracles.BudgetExceeded:
                if not self.swallow:
                    raise
        return 1


@pytest.mark.parametrize("swallow", [False, True])
def test_over_budget_loses_even_when_caught(swallow):
    result = games.estimate(OneTimePad(queries=2), Greedy(swallow=swallow), trials=100, seed=0)
    assert result.errors == {"budget": 100} and result.wins == 0
    assert result.queries["encrypt"] == 200


def test_challenger_failures_are_left_out_and_reported():
    result = games.estimate(Flaky(), ReadPublic(), trials=300, seed=2)
    failed = result.errors["game-failed"]
    assert 50 < failed < 150 and result.trials == 300 - failed and result.wins == result.trials
    assert "diverged" in result.first_error and "seed 2" in result.first_error


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "trials=0 must be a positive integer"),
        ({"trials": -3}, "trials=-3 must be a positive integer"),
        ({"trials": 2.5}, "trials=2.5 must be a positive integer"),
        ({"seed": -1}, "seed=-1 must be a non-negative integer"),
        ({"level": 1.5}, r"level=1.5 must be in \(0, 1\)"),
        ({"level": 0}, r"level=0 must be in \(0, 1\)"),
        ({"method": "wald"}, "method='wald' must be one of: clopper-pearson, wilson, hoeffding"),
        ({"chunk_size": 0}, "chunk_size=0 must be a positive integer"),
        ({"backend": "threads"}, "backend='threads' must be one of: serial, process, ray"),
        ({"workers": 0}, "workers=0 must be a positive integer"),
        ({"workers": 3}, "workers=3 is for backend='process' or 'ray' only: drop it"),
        ({"address": "auto"}, "address is for backend='ray' only"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"trials": 10, "seed": 0} | kwargs
    with pytest.raises(InvalidArgument, match=message):
        games.estimate(OneTimePad(), Guess(), **arguments)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n": 0}, r"n=0 must be an integer in \[1, 64\]"),
        ({"queries": 0}, "queries=0 must be a positive integer"),
    ],
)
def test_bad_game_parameters(params, message):
    with pytest.raises(InvalidArgument, match=message):
        OneTimePad(**params)


def test_core_packages_do_not_import_torch():
    code = "import sys, games, oracles, adversaries, proofs, advantage.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_estimate_record_is_frozen_and_serialisable():
    result = games.estimate(OneTimePad(), Guess(), trials=50, seed=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.wins = 3
    data = result.to_json()
    for key in (
        "game",
        "adversary",
        "params",
        "adversary_params",
        "trials",
        "wins",
        "win_rate",
        "advantage",
        "ci_low",
        "ci_high",
        "level",
        "method",
        "seed",
        "seconds",
        "queries",
        "errors",
    ):
        assert key in data
    assert data["game"] == "otp" and data["adversary"] == "guess" and data["params"]["n"] == 16
    assert np.isfinite(data["advantage"])


@attrs.frozen(kw_only=True)
class CanaryGame(games.HiddenBit):
    """The challenger 'trains' only when the canary arrives; a canary of 13 makes it fail."""

    def setup(self, b, rng):
        def canary(x):
            if x == 13:
                raise games.TrialFailed("training on the canary diverged")
            return b

        return Challenge(oracles={"canary": canary}, budgets={"canary": 1})

    def setup_batch(self, b, rng):
        failed = np.zeros(len(b), bool)

        def canary(x):
            failed[:] = x == 13
            return b

        return Challenge(oracles={"canary": canary}, budgets={"canary": 1}, failed=failed)


@attrs.frozen(kw_only=True)
class SendsCanary:
    def __call__(self, oracles, rng):
        return oracles["canary"](13 if rng.random() < 0.25 else 1)

    def batch(self, oracles, rng, size):
        return oracles["canary"](np.where(rng.random(size) < 0.25, 13, 1))


@attrs.frozen(kw_only=True)
class FakesFailure:
    """Raises TrialFailed itself to drop the trials it would lose: must count as its own failure."""

    def __call__(self, oracles, rng):
        raise games.TrialFailed("not my fault")


@pytest.mark.parametrize("batched", [False, True])
def test_failures_while_answering_are_the_adversarys_losses(batched):
    result = games.estimate(CanaryGame(), SendsCanary(), trials=2000, seed=3, batched=batched)
    failed = result.errors["oracle-failed"]
    assert 400 < failed < 600 and result.trials == 2000 and result.wins == 2000 - failed
    assert "game-failed" not in result.errors
    assert "an oracle failed" in result.first_error or "diverged" in result.first_error


@attrs.frozen(kw_only=True)
class CatchesFailure:
    """:class:`SendsCanary`, catching the challenger's failure and answering anyway."""

    def __call__(self, oracles, rng):
        try:
            return oracles["canary"](13 if rng.random() < 0.25 else 1)
        except games.TrialFailed:
            return 1


def test_a_challenger_failure_counts_whether_or_not_the_adversary_catches_it():
    raised = games.estimate(CanaryGame(), SendsCanary(), trials=400, seed=5, batched=False)
    caught = games.estimate(CanaryGame(), CatchesFailure(), trials=400, seed=5, batched=False)
    assert caught.errors == raised.errors and raised.errors["oracle-failed"] > 50
    assert (caught.trials, caught.wins) == (raised.trials, raised.wins)
    assert "the adversary caught its error" in caught.first_error


def test_an_adversary_cannot_fake_a_challenger_failure():
    result = games.estimate(CanaryGame(), FakesFailure(), trials=100, seed=0)
    assert result.errors == {"exception": 100} and result.trials == 100


def test_adversary_resources_are_reported():
    @attrs.frozen
    class Shadowed:
        def __call__(self, oracles, rng):
            return 0

        def resources(self, game):
            return {"shadow_models": 8}

    result = games.estimate(OneTimePad(), Shadowed(), trials=10, seed=0)
    assert result.resources == {"shadow_models": 8} and result.to_json()["resources"] == {
        "shadow_models": 8
    }
