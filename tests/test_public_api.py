"""Public names keep working: every name a package exported, and the module paths users name.

The lists are the packages' ``__all__`` as they stood before the house was reorganised,
plus the names added since; a name may move to a better home, but it stays importable here.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "games": """ADVERSARIES BACKENDS GAMES IDEAL REAL Adversary BatchAdversary Certificate
        Challenge ChunkFailed Ensemble Estimate Game HiddenBit InvalidAnswer InvalidArgument
        RealIdeal Search Sweep Tally TrialFailed TrialRecord UnknownName answer_bit certify
        estimate estimate_best integer number param plan register replay stats sweep
        RunOptions TrialTimeout""",
    "oracles": """BudgetExceeded InvalidArgument Oracle Oracles RandomFunction RandomPermutation
        AdvantageError OracleError Account open_oracle checks""",
    "adversaries": "ADVERSARIES Adversary BatchAdversary Constant Guess register",
    "proofs": """FUNCTIONS Assumption AssumptionCheck Decision Domain EmpiricalReport Expression
        Finding Hop HopCheck Proof ProofError Resource SymbolicReport Theorem catalogue
        check_empirical check_symbolic decide explain get_quantity load loads
        parse_expression quantities quantity""",
    "games.stats": """binomial_interval binomial_bound advantage_interval difference_interval
        plan Plan METHODS TWO_SAMPLE_METHODS""",
    "games.engine": "Estimate Tally TrialRecord estimate replay estimate_from play plain",
    "games.sweeps": "same_adversary",
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_is_importable(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in PUBLIC[module].split() if not hasattr(loaded, name)]
    assert not missing, f"{module} lost {missing}"


@pytest.mark.parametrize("module", ["games", "oracles", "adversaries", "proofs", "games.stats"])
def test_all_lists_only_what_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    assert [name for name in loaded.__all__ if not hasattr(loaded, name)] == []


def test_the_top_level_functions_are_the_engines() -> None:
    import games
    from games.engine import certify, ensemble, runs, sweep

    assert games.estimate is runs.estimate and games.replay is runs.replay
    assert games.certify is certify.certify and games.estimate_best is ensemble.estimate_best
    assert games.sweep is sweep.sweep
