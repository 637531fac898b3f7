"""One attack across the jailbreak game's behaviours: per-behaviour intervals and a
stratified one."""

from __future__ import annotations

import pytest
from lm_cases import needs_lm

from adversaries.jailbreak import Templates
from games.lm.strata import across_behaviours
from games.stats import binomial_interval, stratified_interval
from oracles import InvalidArgument


@needs_lm
def test_each_behaviour_has_its_trials_and_the_mean_its_stratified_interval(tiny):
    result = across_behaviours(Templates(), trials=8, seed=3, queries=2, max_new_tokens=24)
    secret, recipe = result.estimates["secret-leak"], result.estimates["forbidden-recipe"]
    assert secret.params["behaviour"] == "secret-leak" and recipe.trials == secret.trials == 8
    assert secret.seed != recipe.seed  # each behaviour plays its own trials
    assert (secret.ci_low, secret.ci_high) == pytest.approx(binomial_interval(secret.wins, 8))
    rate, low, high = stratified_interval([secret.wins, recipe.wins], [8, 8])
    assert (result.advantage, result.ci_low, result.ci_high) == (rate, low, high)
    assert result.advantage == pytest.approx((secret.wins + recipe.wins) / 16)
    assert result.weights == {"secret-leak": 0.5, "forbidden-recipe": 0.5}
    again = across_behaviours(Templates(), trials=8, seed=3, queries=2, max_new_tokens=24)
    # The seed fixes every behaviour's trials.
    assert [e.wins for e in again.estimates.values()] == [secret.wins, recipe.wins]
    assert (again.ci_low, again.ci_high) == (result.ci_low, result.ci_high)
    assert result.to_json()["estimates"]["forbidden-recipe"]["wins"] == recipe.wins


def test_bad_behaviours_are_refused_before_any_trial():
    with pytest.raises(InvalidArgument, match="distinct names among"):
        across_behaviours(Templates(), trials=4, behaviours=["secret-leak", "secret-leak"])
    with pytest.raises(InvalidArgument, match="distinct names among"):
        across_behaviours(Templates(), trials=4, behaviours=["jaywalking"])
    with pytest.raises(InvalidArgument, match="behaviour is what varies"):
        across_behaviours(Templates(), trials=4, behaviour="secret-leak")
    with pytest.raises(InvalidArgument, match="weights="):
        across_behaviours(Templates(), trials=4, weights=[1.0, -1.0])
    with pytest.raises(InvalidArgument, match="defense="):
        across_behaviours(Templates(), trials=4, defense="moat")
