"""The canonical-output-filter proof on the tiny model: encodings within T are consistent with
it."""

from __future__ import annotations

from lm_cases import needs_lm

import proofs
from adversaries.jailbreak import Encoding


def check(trials, **params):
    return proofs.check_empirical(
        proofs.load("canonical-output-filter"), Encoding(), params=params, trials=trials, seed=0
    )


def test_the_file_adds_up():
    proof = proofs.load("canonical-output-filter")
    assert proofs.check_symbolic(proof).status == "proven"
    assert [a.name for a in proof.assumptions] == ["within_class"]
    assert proof.assumptions[0].game == "leak-outside-class"


@needs_lm
def test_encodings_within_the_class_are_consistent(tiny):
    report = check(8, queries=8)
    assert report.verdicts == ("consistent",), report
    assert not report.assumptions[0].violated
