"""Best-of-N scaling laws: both models fitted and compared, their claims as proof
expressions, and the best-of-n-scaling proof's two verdicts on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from lm_cases import needs_lm

import proofs
from adversaries.jailbreak import Gcg
from adversaries.jailbreak.best_of_n import BestOfN
from games.lm.jailbreak import Jailbreak
from games.lm.scaling import MODELS, asr, fit_scaling, scaling_sweep
from oracles import InvalidArgument
from proofs.expressions import compile_expression, parse_expression

BUDGETS = np.array([1, 2, 4, 8, 16, 32, 64])
TRUTH = {"beta-binomial": (np.log(0.4), np.log(3.0)), "hughes": (np.log(2.5), 0.4)}


def test_the_beta_model_is_the_mean_failure_over_beta_distributed_tries():
    alpha, beta = 0.4, 3.0
    p = np.random.default_rng(0).beta(alpha, beta, 200_000)
    for n in (1, 8, 64):
        assert asr("beta-binomial", np.log([alpha, beta]), [n])[0] == pytest.approx(
            1 - np.mean((1 - p) ** n), abs=3e-3
        )


@pytest.mark.parametrize("model", MODELS)
def test_each_model_fits_its_own_points_and_its_band_covers_the_truth(model):
    trials = np.full(BUDGETS.size, 400)
    wins = np.random.default_rng(1).binomial(trials, asr(model, TRUTH[model], BUDGETS))
    fits = {m: fit_scaling(m, BUDGETS, wins, trials) for m in MODELS}
    fit = fits[model]
    low, high = fit.band([4, 64, 1024])
    truth = asr(model, TRUTH[model], [4, 64, 1024])
    assert np.all(low <= truth) and np.all(truth <= high)
    assert fit.fit_pvalue > 0.01
    assert fit.loglik >= max(f.loglik for f in fits.values()) - 2


@pytest.mark.parametrize("model", MODELS)
def test_the_claim_is_a_proof_expression_at_the_band_top(model):
    trials = np.full(BUDGETS.size, 60)
    wins = np.random.default_rng(2).binomial(trials, asr(model, TRUTH[model], BUDGETS))
    fit = fit_scaling(model, BUDGETS, wins, trials)
    value = compile_expression(
        parse_expression(fit.claim("queries", 1024), {"queries": sympy.Symbol("queries")})
    )
    high = fit.band([1024])[1][0]
    point = fit.highest(1024)
    for n in (1, 30, 1024, 10**6):
        curve = asr(model, point, [n])[0]
        # An upper bound on the region's highest curve, tight where Stirling's error (the
        # beta form's) is small: at large budgets.
        assert curve - 1e-9 <= value({"queries": n}) <= curve + (1e-3 if n >= 30 else 0.05)
    assert value({"queries": 1024}) >= high - 1e-9


def test_too_few_points_are_refused():
    with pytest.raises(InvalidArgument, match="at least 2"):
        fit_scaling("hughes", [4], [1], [10])


# -- the proof's verdicts on the tiny model: fitted on tries 1..6, checked at 8 --------------


GAME = Jailbreak(max_new_tokens=24)
ATTACK = BestOfN(sigma=0.01)  # about 8% a try on the tiny model: success grows with N


@pytest.fixture(scope="module")
def law(tiny, tmp_path_factory):
    scaling = scaling_sweep(
        GAME,
        ATTACK,
        budget="queries",
        values=[1, 2, 3, 4, 6],
        trials=24,
        seed=0,
        behaviours=("secret-leak",),
    )
    path = tmp_path_factory.mktemp("scaling") / "best-of-n-small.toml"
    path.write_text(scaling.proof("secret-leak", at=8, name="small"))
    return scaling, proofs.load(str(path))


@needs_lm
def test_the_attack_it_was_fitted_on_is_consistent_at_more_tries(law):
    scaling, proof = law
    assert set(scaling.fits["secret-leak"]) == set(MODELS)
    assert proofs.check_symbolic(proof).status == "proven"
    report = proofs.check_empirical(proof, ATTACK, trials=32, seed=1)
    assert report.verdicts == ("consistent",), report.reasons


@needs_lm
def test_a_stronger_attack_breaks_the_law(law):
    # GCG's suffix (white box) leaks on nearly every try: far above the law at 8.
    _, proof = law
    report = proofs.check_empirical(proof, Gcg(), trials=32, seed=1)
    assert report.verdicts == ("assumption:small",), report.reasons


def test_the_catalogue_proof_states_a_fitted_law_at_1024():
    proof = proofs.load("best-of-n-scaling")
    assert proofs.check_symbolic(proof).status == "proven"
    (assumption,) = proof.assumptions
    assert assumption.game == proof.theorem.game == "jailbreak"
    assert proof.theorem.params["queries"] == 1024
    claims = [assumption.claim_value({"queries": n}) for n in (1, 64, 1024)]
    assert 0 < claims[0] < claims[1] < claims[2] <= 1
