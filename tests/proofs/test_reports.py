"""The reports both checkers return: their JSON records and their text."""

from __future__ import annotations

import json
import pathlib

import proofs
from advantage.check import symbolic_json
from proofs import check_empirical, check_symbolic
from proofs.reports import HopCheck

DATA = pathlib.Path(__file__).parent / "data"

REPORT_KEYS = {
    "proof",
    "verdict",
    "verdicts",
    "reasons",
    "adversary",
    "adversary_params",
    "params",
    "overrides",
    "resources",
    "trials",
    "seed",
    "level",
    "interval_level",
    "intervals_count",
    "correction",
    "method",
    "bound",
    "intervals",
    "hops",
    "trials_needed",
    "blamed_hops",
}
INTERVAL_KEYS = {
    "what",
    "role",
    "name",
    "game",
    "params",
    "adversary",
    "estimate",
    "ci_low",
    "ci_high",
    "level",
    "method",
    "trials",
    "threshold",
    "threshold_text",
    "violated",
}
SYMBOLIC_KEYS = {
    "status",
    "method",
    "claimed",
    "chain",
    "difference",
    "equal",
    "detail",
    "counterexample",
    "samples",
    "findings",
}


def test_empirical_json_has_every_key():
    report = check_empirical(proofs.load("ctr-prf"), "guess", trials=100, seed=0)
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) >= REPORT_KEYS
    assert set(data["bound"]) == {"text", "value", "at_estimates", "max_advantage"}
    assert [row["role"] for row in data["intervals"]] == ["theorem", "assumption"]
    for row in data["intervals"]:
        assert set(row) >= INTERVAL_KEYS
    assert data["intervals"][1]["reduction"] == "proofs.crypto.reductions:prf_from_ctr"
    assert len(data["hops"]) == 3 and not any(hop["measured"] for hop in data["hops"])
    assert data["correction"] == "bonferroni" and data["intervals_count"] == 2
    assert "consistent" in str(report) or "inconclusive" in str(report)


def test_symbolic_json_is_plain_and_names_the_uncovered_hops():
    report = check_symbolic(proofs.load(DATA / "ctr-prf-broken.toml"))
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == SYMBOLIC_KEYS and data["status"] == "refuted"
    assert data["findings"] and all(set(f) == {"hops", "term", "message"} for f in data["findings"])
    assert set(data["counterexample"]) >= {"claimed", "chain"}
    assert symbolic_json(report) == report.to_json()  # the command's old name for it
    proven = check_symbolic(proofs.load("ctr-prf")).to_json()
    assert proven["counterexample"] is None and proven["findings"] == []


def test_a_hop_reads_the_same_as_text_and_as_json():
    unmeasured = HopCheck(
        index=2, source="G1", target="G2", by="perfect", allowance=0.0, measured=False, reason="r"
    )
    assert str(unmeasured) == "hop 2 (G1 → G2) [perfect] allows 0: not measured (r)"
    assert unmeasured.to_json()["gap"] is None
    measured = HopCheck(
        index=1,
        source="G0",
        target="G1",
        by="statistical q / 2**n",
        allowance=0.01,
        measured=True,
        gap=0.5,
        gap_low=0.4,
        gap_high=0.6,
        violated=True,
    )
    assert str(measured).endswith("gap 0.5000 [0.4000, 0.6000] allows 0.01  VIOLATED")
    assert measured.to_json() == {
        "index": 1,
        "from": "G0",
        "to": "G1",
        "by": "statistical q / 2**n",
        "allowance": 0.01,
        "measured": True,
        "reason": "",
        "gap": 0.5,
        "gap_low": 0.4,
        "gap_high": 0.6,
        "violated": True,
    }
