import json

import pytest

import games
from adversaries import Guess
from games import InvalidArgument, runlog
from games.otp import OneTimePad


def test_log_has_spec_then_chunks_and_show_recomputes(tmp_path):
    log = tmp_path / "run.jsonl"
    result = games.estimate(
        OneTimePad(), Guess(), trials=1000, seed=3, chunk_size=100, log=log, batched=False
    )
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["kind"] == "spec" and lines[0]["game"] == "otp" and lines[0]["seed"] == 3
    assert {"advantage", "numpy", "python"} <= set(lines[0]["versions"])
    assert [line["kind"] for line in lines[1:]] == ["chunk"] * 10
    spec, total = runlog.read(log)
    again = games.engine.estimate_from(spec, total)
    assert (again.wins, again.trials, again.ci_low, again.ci_high) == (
        result.wins,
        result.trials,
        result.ci_low,
        result.ci_high,
    )


def _cut(log, keep_chunks, torn=""):
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[: 1 + keep_chunks]) + torn)


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("torn", ["", '{"kind": "chunk", "ranges": [[5'])
def test_resume_plays_exactly_the_missing_trials(tmp_path, batched, torn):
    log = tmp_path / "run.jsonl"
    game, adversary = OneTimePad(), Guess()
    whole = games.estimate(game, adversary, trials=5000, seed=8, chunk_size=500, batched=batched)
    games.estimate(game, adversary, trials=5000, seed=8, chunk_size=500, log=log, batched=batched)
    _cut(log, 4, torn)
    resumed = games.estimate(
        game, adversary, trials=5000, seed=8, chunk_size=500, log=log, resume=True, batched=batched
    )
    assert (resumed.trials, resumed.wins) == (whole.trials, whole.wins)
    ranges = sorted(
        tuple(r) for line in log.read_text().splitlines()[1:] for r in json.loads(line)["ranges"]
    )
    assert sum(b - a for a, b in ranges) == 5000 and all(
        a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False)
    )


def test_resume_can_extend_a_finished_run(tmp_path):
    log = tmp_path / "run.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=300, seed=1, log=log, batched=False)
    longer = games.estimate(
        OneTimePad(), Guess(), trials=900, seed=1, log=log, resume=True, batched=False
    )
    assert (
        longer.wins == games.estimate(OneTimePad(), Guess(), trials=900, seed=1, batched=False).wins
    )


def test_existing_log_is_never_overwritten(tmp_path):
    log = tmp_path / "run.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=log)
    before = log.read_text()
    with pytest.raises(InvalidArgument, match="already holds a run: pass --resume"):
        games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=log)
    assert log.read_text() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [({"seed": 2}, "seed: log has 1, run has 2"), ({"game": OneTimePad(n=8)}, "params: log has")],
)
def test_resume_refuses_another_run(tmp_path, change, message):
    log = tmp_path / "run.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=log)
    kwargs = {"trials": 10, "seed": 1} | {k: v for k, v in change.items() if k != "game"}
    with pytest.raises(InvalidArgument, match=message):
        games.estimate(change.get("game", OneTimePad()), Guess(), log=log, resume=True, **kwargs)


def test_not_a_log(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n")
    with pytest.raises(InvalidArgument, match="is not a run log"):
        runlog.read(bad)
    with pytest.raises(InvalidArgument, match="no run log at"):
        runlog.read(tmp_path / "missing.jsonl")
    twice = tmp_path / "twice.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=20, seed=1, chunk_size=10, log=twice)
    lines = twice.read_text().splitlines()
    twice.write_text("\n".join([lines[0], lines[1], lines[1], lines[2]]) + "\n")
    with pytest.raises(InvalidArgument, match="logged twice"):
        runlog.read(twice)
