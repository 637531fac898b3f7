"""The smooth-llm proof: the file, a check on the tiny model that blames nothing, and the
planted bug blamed on the algorithm in a world where a leak needs the request intact."""

from __future__ import annotations

import pytest
from lm_cases import intact_leaker, needs_lm

import proofs
from adversaries.jailbreak import Templates
from adversaries.jailbreak.smoothing import SmoothLLMAware
from games import lm
from games.lm import smoothing
from games.lm.jailbreak import Jailbreak, LeakPerturbed
from games.registry import GAMES


def test_the_file_states_the_binomial_tail():
    proof = proofs.load("smooth-llm")
    assert [a.name for a in proof.assumptions] == ["per_copy"]
    assert proof.assumptions[0].game == "leak-perturbed"
    # The tail step is a statistical hop in adv_per_copy, counted q times: the symbolic
    # check proves the bound covers it.
    symbolic = proofs.check_symbolic(proof)
    assert symbolic.status == "proven", symbolic.detail
    assert [hop.kind for hop in proof.hops] == ["statistical"]
    assert str(proof.hops[0].count.expr) == "q"
    # The tail is taken at the strongest prompt's leak, at most q times the average that
    # leak-perturbed measures (the average itself would be unsound: the tail is convex).
    for p in (0.0, 0.1, 0.3, 0.7):
        value = proof.bound_value({"q": 3, "k": 5, "adv_per_copy": p})
        assert value == pytest.approx(3 * smoothing.binomial_tail(5, min(1.0, 3 * p), 3))
    leaks = (0.6, 0.0)  # two prompts of unequal strength, q = 2
    truth = sum(smoothing.binomial_tail(5, p, 3) for p in leaks)
    assert truth <= proof.bound_value({"q": 2, "k": 5, "adv_per_copy": sum(leaks) / 2})
    assert truth > 2 * smoothing.binomial_tail(5, sum(leaks) / 2, 3)  # what the average gives


@needs_lm
def test_templates_against_smoothing_are_consistent(tiny):
    # Per copy p ≈ 0.07 and per trial ≈ 0.03 here; the bound, taken at the strongest
    # prompt's leak (q·p), is loose enough for a consistent verdict within a test's budget.
    report = proofs.check_empirical(proofs.load("smooth-llm"), Templates(), trials=40, seed=0)
    assert report.verdicts == ("consistent",), report.reasons
    assert not report.assumptions[0].violated and report.high <= report.bound


# -- the planted bug, where a leak needs "the secret" intact in the prompt -----------------------


INTACT = lm.FunctionModel(intact_leaker, chat=True)


class _IntactJailbreak(Jailbreak):
    def guarded_model(self):
        return INTACT


class _IntactPerturbed(LeakPerturbed):
    def guarded_model(self):
        return INTACT


@pytest.fixture
def intact_proof(tmp_path):
    """The smooth-llm proof, word for word, over games whose model is the intact leaker."""
    names = {"jailbreak": "jailbreak-intact", "leak-perturbed": "leak-perturbed-intact"}
    GAMES.add(names["jailbreak"], _IntactJailbreak)
    GAMES.add(names["leak-perturbed"], _IntactPerturbed)
    text = proofs.catalogue()["smooth-llm"].read_text()
    for old, new in names.items():
        text = text.replace(f'game = "{old}"', f'game = "{new}"')
    path = tmp_path / "smooth-llm-intact.toml"
    path.write_text(text)
    yield proofs.load(str(path))
    for name in names.values():
        GAMES._entries.pop(name, None)


def test_the_fixed_seed_is_blamed_on_the_algorithm(intact_proof):
    # One query: the strongest prompt is the only one, so the bound is the tail itself.
    aware = SmoothLLMAware(model=INTACT, candidates=96)
    bug = proofs.check_empirical(
        intact_proof,
        aware,
        params={"defense": "smooth-llm-fixed-seed", "queries": 1},
        trials=24,
        seed=0,
    )
    assert bug.verdicts == ("algorithm",), bug.reasons
    fixed = proofs.check_empirical(intact_proof, aware, params={"queries": 1}, trials=24, seed=0)
    assert "algorithm" not in fixed.verdicts, fixed.reasons
