"""`advantage tour`: every row agrees with theory, check rows included, at one family level."""

from __future__ import annotations

import importlib.util
import json

import pytest

from advantage import tour
from advantage.cli import main

TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # The privacy rows train tiny models: a second OpenMP thread only adds contention.
    if not TORCH:
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tour_agrees_with_theory(capsys):
    assert main(["tour", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["disagreements"] == 0 and len(data["rows"]) == len(tour.ROWS)
    assert data["level"] == pytest.approx(1 - (1 - tour.FAMILY_LEVEL) / len(tour.ROWS))
    checks = [row for row in data["rows"] if row["kind"] == "check"]
    expected = [
        (row.proof, sorted(v.strip() for v in row.expect.split(",")))
        for row in tour.ROWS
        if isinstance(row, tour.CheckRow)
        and (row.needs is None or importlib.util.find_spec(row.needs))
    ]
    assert ("ctr-prf", ["algorithm"]) in expected and ("ctr-prf", ["assumption:prf"]) in expected
    if TORCH:
        assert ("dp-sgd", ["algorithm"]) in expected
    assert [(row["proof"], sorted(row["verdicts"])) for row in checks] == expected
    # A check row gets one share of the family and splits it over its own intervals.
    assert all(row["level"] == pytest.approx(data["level"]) for row in checks)
    assert all(
        row["interval_level"] == pytest.approx(1 - (1 - data["level"]) / row["intervals_count"])
        for row in checks
    )
    games = {row["game"] for row in data["rows"] if row["kind"] == "estimate"}
    assert {"otp", "ind-cpa", "prf", "collision", "euf-cma"} <= games
    if TORCH:
        assert "membership" in games


def test_rows_that_need_torch_are_skipped_with_a_hint_without_it(capsys, monkeypatch):
    real = importlib.util.find_spec

    def without_torch(name, *args, **kwargs):
        return None if name == "torch" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_torch)
    rows = [row for row in tour.ROWS if row.needs == "torch"]
    assert {type(row) for row in rows} == {tour.Row, tour.CheckRow}
    monkeypatch.setattr(tour, "ROWS", rows)
    assert main(["tour", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["rows"]) == len(rows) and data["disagreements"] == 0
    assert all(row["kind"] == "skipped" for row in data["rows"])
    assert all("needs torch: pip install -e '.[ml]'" in row["skipped"] for row in data["rows"])


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
