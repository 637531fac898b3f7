"""`advantage tour`: every row agrees with theory, check rows included, at one family level."""

from __future__ import annotations

import json

import pytest

from advantage import tour
from advantage.cli import main


def test_tour_agrees_with_theory(capsys):
    assert main(["tour", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["disagreements"] == 0 and len(data["rows"]) == len(tour.ROWS)
    assert data["level"] == pytest.approx(1 - (1 - tour.FAMILY_LEVEL) / len(tour.ROWS))
    checks = [row for row in data["rows"] if row["kind"] == "check"]
    assert [row["verdicts"] for row in checks] == [
        ["consistent"],
        ["algorithm"],
        ["assumption:prf"],
    ]
    # A check row gets one share of the family and splits it over its own intervals.
    assert all(row["level"] == pytest.approx(data["level"]) for row in checks)
    assert all(
        row["interval_level"] == pytest.approx(1 - (1 - data["level"]) / 2) for row in checks
    )
    games = {row["game"] for row in data["rows"] if row["kind"] == "estimate"}
    assert {"otp", "ind-cpa", "prf", "collision", "euf-cma"} <= games


def test_human_tour_names_the_correction(capsys, monkeypatch):
    rows = [
        tour.Row(game="otp", adversary="guess", expect="0", trials=200),
        tour.CheckRow(proof="ctr-prf", adversary="guess", expect="algorithm", trials=200),
    ]
    monkeypatch.setattr(tour, "ROWS", rows)
    assert main(["tour"]) == 1  # guess is consistent, not blamed: the row disagrees
    out = " ".join(capsys.readouterr().out.split())
    assert "Bonferroni over 2 rows" in out and "1 row(s) disagree with theory" in out


def test_birthday_formula():
    assert tour.birthday(1, 16) == 0
    assert tour.birthday(2, 1) == pytest.approx(0.5)
    assert tour.birthday(300, 16) == pytest.approx(0.4961, abs=1e-4)
    assert tour.birthday(2**16 + 1, 16) == 1
