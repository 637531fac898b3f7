"""`advantage tour`: every row agrees with theory, check rows included, at one family level;
its rows are data with budgets; it reads well at 80 columns and is never silent."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys

import attrs
import pytest
from rich.console import Console

from advantage import tour
from advantage.cli import main
from advantage.tour import playing, table
from oracles import InvalidArgument

TORCH = importlib.util.find_spec("torch") is not None

CHEAP = [
    tour.play("otp", "guess", "0", "a guess learns nothing", trials=200, domain="crypto"),
    tour.check("ctr-prf", "guess", "algorithm", trials=200, domain="crypto"),
    tour.play("otp key_reuse=true", "two-time-pad", "1", trials=200, domain="otp"),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def test_tour_agrees_with_theory(capsys):
    assert main(["tour", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    played = tour.playing.select(tour.ROWS)
    assert data["disagreements"] == 0 and len(data["rows"]) == len(played) < len(tour.ROWS)
    assert data["level"] == pytest.approx(1 - (1 - tour.FAMILY_LEVEL) / len(tour.ROWS))
    assert data["family_level"] == pytest.approx(1 - len(played) * (1 - data["level"]))
    checks = [row for row in data["rows"] if row["kind"] == "check"]
    expected = [
        (row.proof, sorted(v.strip() for v in row.expect.split(",")))
        for row in played
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
    # Every row names its domain and budget, and how long it took.
    assert all(row["domain"] in tour.DOMAINS and row["budget"] > 0 for row in data["rows"])
    assert all(row["elapsed"] >= 0 for row in data["rows"] if row["kind"] != "skipped")


def test_rows_are_terse_data_in_one_block_per_domain():
    assert [row for rows in tour.DOMAINS.values() for row in rows] == tour.ROWS
    for name, rows in tour.DOMAINS.items():
        assert {row.domain for row in rows} == {name}
    row = tour.play("otp key_reuse=true n=8", "guess", "0")
    assert (row.game, dict(row.params), row.subject) == (
        "otp",
        {"key_reuse": True, "n": 8},
        "otp key_reuse=true n=8",
    )
    with pytest.raises(InvalidArgument, match="'n' must look like key=value"):
        tour.play("otp n", "guess", "0")


def test_the_default_rows_keep_within_the_target():
    default = tour.playing.select(tour.ROWS)
    assert sum(row.budget for row in default) <= tour.TARGET
    assert all(row.budget > 0 for row in tour.ROWS)
    # The slower demonstrations wait for --full; every domain keeps rows in the default tour.
    assert any(row.full for row in tour.ROWS)
    assert {row.domain for row in default} == set(tour.DOMAINS)


def test_only_full_and_list(capsys):
    assert main(["tour", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["rows"]
    assert len(listed) == len(tour.playing.select(tour.ROWS))
    assert main(["tour", "--list", "--full", "--only", "crypto", "--only", "representations"]) == 0
    out = capsys.readouterr().out
    assert "crypto" in out and "representations" in out and "privacy" not in out
    assert "check ctr-prf scheme=ctr-nonce-reuse · nonce-reuse:" in out and "--full" in out
    assert main(["tour", "--list", "--json", "--full", "--only", "representations"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {row["domain"] for row in rows} == {"representations"} and any(r["full"] for r in rows)
    assert main(["tour", "--only", "cryptography"]) == 2
    assert "--only='cryptography' must be one of: crypto, privacy" in capsys.readouterr().err


def test_rows_that_need_torch_are_skipped_with_a_hint_without_it(capsys, monkeypatch):
    real = importlib.util.find_spec

    def without_torch(name, *args, **kwargs):
        return None if name == "torch" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_torch)
    rows = [row for row in tour.ROWS if row.needs == "torch"]
    assert {type(row) for row in rows} == {tour.Row, tour.CheckRow}
    monkeypatch.setattr(tour, "ROWS", rows)
    assert main(["tour", "--json", "--full"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["rows"]) == len(rows) and data["disagreements"] == 0
    assert all(row["kind"] == "skipped" for row in data["rows"])
    assert all("needs torch: pip install -e '.[ml]'" in row["skipped"] for row in data["rows"])


def test_rows_on_a_model_not_trained_here_are_skipped_with_the_command_that_trains_it():
    """A row says which model it plays on; the tour trains nothing behind the user's back."""
    rows = [row for row in tour.ROWS if row.model == "tiny:0"]
    assert rows and all(row.needs == "transformers" for row in rows)
    untrained = attrs.evolve(rows[0], model="tiny:987654")
    outcome = playing.play_row(untrained, seed=0, level=0.95)
    if importlib.util.find_spec("transformers") is None:
        assert "pip install -e '.[lm]'" in outcome.shown
    else:
        assert outcome.ok is None and outcome.record["kind"] == "skipped"
        assert "advantage lm train --seed 987654" in outcome.shown


def test_human_tour_names_the_correction(capsys, monkeypatch):
    monkeypatch.setattr(tour, "ROWS", CHEAP[:2])
    assert main(["tour"]) == 1  # guess is consistent, not blamed: the row disagrees
    out = " ".join(capsys.readouterr().out.split())
    assert "Bonferroni over 2 rows" in out and "1 row(s) disagree with theory" in out


def test_a_piped_tour_reports_progress_except_with_json(capsys, monkeypatch):
    monkeypatch.setattr(tour, "ROWS", [CHEAP[0], CHEAP[2]])
    assert main(["tour"]) == 0
    err = capsys.readouterr().err
    assert "[1/2] otp · guess: agrees" in err and "[2/2]" in err
    # With --json a pipe stays clean (as for run, check, sweep, certify and audit): stderr
    # sent into the same file (2>&1) must leave one JSON object.
    assert main(["tour", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert len(json.loads(captured.out + captured.err)["rows"]) == 2


def test_the_help_reads_as_written(capsys):
    with pytest.raises(SystemExit):
        main(["tour", "--help"])
    out = capsys.readouterr().out
    assert "%%" not in out and "95%" in out and "--only DOMAIN" in out


def _tokens(outcome: playing.Outcome) -> list[str]:
    row = outcome.row
    cells = [row.subject, tour.rows.spelled(row.adversary, row.adversary_params), outcome.shown]
    return " ".join([*cells, row.expect, row.why]).split()


def _rendered(outcomes: list[playing.Outcome], width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    console.print(table.render(outcomes, level=0.999, catalogue=len(outcomes), width=width))
    return out.getvalue()


def _shown(row) -> str:
    if isinstance(row, tour.CheckRow):
        return f"{row.expect}: |Adv_gradient_search(B)| ≥ 0.433 > claim 0.1; hop 2 gap ≥ 0.138"
    return "+0.255 [+0.224, +0.288]"


@pytest.mark.parametrize("width", [80, 100, 160])
def test_no_cell_breaks_inside_a_token_at_any_width(width):
    """Every row of the catalogue, with a long measurement, laid out at ``width``."""
    outcomes = [
        playing.Outcome(row=row, shown=_shown(row), ok=True, elapsed=12.5, record={})
        for row in tour.ROWS
    ]
    text = _rendered(outcomes, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for outcome in outcomes:
        for token in _tokens(outcome):
            assert any(token in line for line in lines), (width, token)
    if width != 100:  # stacked at 80 columns, one table at 160
        assert ("┃ game" in text) is (width == 160)


@pytest.mark.parametrize("length", [60, 69, 70, 71, 80])
def test_a_stacked_heading_never_runs_into_its_status(length):
    from rich.text import Text

    from advantage.layout import Stacked, stacked

    row = Stacked(heading=Text("a" * length), status=Text("yes  2.0 s"), details=[])
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(stacked([row]))
    line = next(line for line in out.getvalue().splitlines() if "yes" in line)
    assert re.fullmatch(r"a+ +yes  2\.0 s", line.rstrip()), line


def test_the_tour_at_80_columns_piped(tmp_path):
    """The tour as a user pipes it at 80 columns: whole tokens on stdout, progress on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    done = subprocess.run(
        [sys.executable, "-m", "advantage", "tour", "--only", "crypto"],
        env={**env, "COLUMNS": "80"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for row in tour.playing.select(tour.ROWS, only=["crypto"]):
        for token in f"{row.subject} {row.adversary} {row.expect} {row.why}".split():
            assert any(token in line for line in lines), token
    assert "key_reuse=true" in done.stdout and "assumption:prf:" in done.stdout
    # Piped: one line a row on stderr, so the run is never silent.
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == len(tour.playing.select(tour.ROWS, only=["crypto"]))
    assert progress[0].startswith(f"[1/{len(progress)}] otp · guess: agrees")


def test_birthday_formula():
    assert tour.birthday(1, 16) == 0
    assert tour.birthday(2, 1) == pytest.approx(0.5)
    assert tour.birthday(300, 16) == pytest.approx(0.4961, abs=1e-4)
    assert tour.birthday(2**16 + 1, 16) == 1


def test_rows_that_expect_a_large_advantage_play_enough_trials_to_show_it():
    # At the tour's per-row level even a perfect record needs some trials before its
    # interval's lower end clears the row's claim ("1": above 0.9); a row with fewer can
    # never agree, whatever the game does.
    from advantage.tour.catalogue import ROWS
    from advantage.tour.playing import level
    from advantage.tour.rows import Row
    from games.registry import GAMES

    alpha = 1 - level(len(ROWS))
    short = []
    for row in ROWS:
        if not isinstance(row, Row) or not (row.expect == "1" or row.expect.startswith(">")):
            continue
        claim = 0.9 if row.expect == "1" else float(row.expect[1:])
        shape = GAMES.get(row.game).shape
        if shape == "real-vs-ideal":  # half the trials a world, Bonferroni over the two
            best = 2 * (alpha / 4) ** (2 / row.trials) - 1
        else:  # every trial won: Clopper-Pearson's lower end
            best = (alpha / 2) ** (1 / row.trials)
            best = 2 * best - 1 if shape == "hidden-bit" else best
        if best <= claim:
            short.append((row.subject, row.adversary, row.trials, round(best, 3)))
    assert not short, short
