import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import games
from adversaries import Guess
from games import InvalidArgument
from games.engine import runlog
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


def _cut(log, keep_chunks, torn=b""):
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: 1 + keep_chunks]) + torn)


# A write cut short: a clean line end, half a line, half a line whose last byte is half a
# UTF-8 character, half a line with a carriage return (read as bytes, never translated).
TORN = [b"", b'{"kind": "chunk", "ranges": [[5', b'{"kind": "chunk", "ranges": [[5\xc3', b'{"k\r']


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("torn", TORN)
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


@pytest.mark.parametrize(
    ("logged", "resumed", "message"),
    [
        ({}, {"isolate": True}, "isolate: log has False, run has True"),
        (
            {"trial_timeout": 5.0},
            {"trial_timeout": None},
            "trial_timeout: log has 5.0, run has None",
        ),
        ({}, {"trial_timeout": 2}, "trial_timeout: log has None, run has 2.0"),
        ({}, {"level": 0.99}, r"level=0.99: its run reports at level=0.95; resume with --level"),
        ({}, {"method": "wilson"}, "method='wilson': its run reports at method='clopper-pearson'"),
    ],
)
def test_resume_refuses_other_rules_or_another_report(tmp_path, logged, resumed, message):
    # An in-process adversary may read what an isolated one cannot, and a timeout turns slow
    # trials into losses: trials played under other rules are not the same run.
    log = tmp_path / "run.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=log, **logged)
    before = log.read_bytes()
    with pytest.raises(InvalidArgument, match=message):
        games.estimate(
            OneTimePad(), Guess(), trials=20, seed=1, log=log, resume=True, **logged | resumed
        )
    assert log.read_bytes() == before
    spec, _ = runlog.read(log)
    assert spec["isolate"] is False and spec["trial_timeout"] == logged.get("trial_timeout")


def test_a_log_from_before_the_rules_were_recorded_resumes_with_the_defaults(tmp_path):
    log = _log(tmp_path)
    records = _records(log)
    for key in ("isolate", "trial_timeout"):
        del records[0][key]
    _forge(log, records[:3])
    with pytest.raises(InvalidArgument, match="isolate: log has False, run has True"):
        games.estimate(
            OneTimePad(), Guess(), trials=400, seed=1, chunk_size=100, log=log, resume=True,
            isolate=True,
        )  # fmt: skip
    assert _resume(log, 400).trials == 400


@pytest.mark.parametrize("keep", [1, 5, 100])
def test_a_log_whose_spec_line_was_cut_short_is_started_afresh(tmp_path, keep):
    # The run died while writing its first line: no trial was logged, so nothing is lost by
    # starting afresh, and every message says the same thing.
    whole = tmp_path / "whole.jsonl"
    result = games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=whole)
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(whole.read_bytes()[:keep])
    with pytest.raises(InvalidArgument, match="holds no run yet: its run stopped while writing"):
        runlog.read(torn)
    with pytest.raises(InvalidArgument, match="holds no run yet; drop --resume"):
        games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=torn, resume=True)
    again = games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=torn)
    assert (again.wins, again.trials) == (result.wins, result.trials)
    first = [text.splitlines()[0] for text in (torn.read_text(), whole.read_text())]
    assert first[0] == first[1] and len(torn.read_text().splitlines()) == 2


@pytest.mark.parametrize("text", ['{"a": 1}', "notes", '{"kind": "spec"}\n'])
def test_a_file_that_holds_something_else_is_never_overwritten(tmp_path, text):
    other = tmp_path / "other.json"
    other.write_text(text)
    message = "already holds a run" if text.endswith("\n") else "is not a run log.*delete"
    with pytest.raises(InvalidArgument, match=message):
        games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log=other)
    assert other.read_text() == text


def test_resume_without_a_seed_takes_the_logged_runs_seed(tmp_path):
    # The only seed that can continue a run is its own: one drawn afresh would be refused.
    log = tmp_path / "run.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=300, seed=7, chunk_size=100, log=log)
    resumed = games.estimate(
        OneTimePad(), Guess(), trials=600, chunk_size=100, log=log, resume=True
    )
    whole = games.estimate(OneTimePad(), Guess(), trials=600, seed=7, chunk_size=100)
    assert resumed.seed == 7 and (resumed.trials, resumed.wins) == (whole.trials, whole.wins)
    with pytest.raises(InvalidArgument, match="seed: log has 7, run has 8"):
        games.estimate(OneTimePad(), Guess(), trials=600, seed=8, log=log, resume=True)
    with pytest.raises(InvalidArgument, match="holds no run yet; drop --resume"):
        games.estimate(OneTimePad(), Guess(), trials=6, log=tmp_path / "new.jsonl", resume=True)


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
    with pytest.raises(InvalidArgument, match="line 3: the log was edited here"):
        runlog.read(twice)


# -- a log is checked on read -------------------------------------------------------------


def _log(tmp_path, **kwargs):
    log = tmp_path / "run.jsonl"
    arguments = {"trials": 400, "seed": 1, "chunk_size": 100, "batched": False} | kwargs
    games.estimate(
        kwargs.pop("game", OneTimePad()),
        Guess(),
        log=log,
        **{k: v for k, v in arguments.items() if k != "game"},
    )
    return log


def _resume(log, trials):
    """Resume the run :func:`_log` wrote, asking for ``trials`` trials."""
    return games.estimate(
        OneTimePad(), Guess(), trials=trials, seed=1, chunk_size=100, batched=False, log=log,
        resume=True,
    )  # fmt: skip


def _records(log):
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for record in records:
        record.pop("chain")
    return records


def _forge(log, records):
    """Rewrite a log with a freshly computed chain, as a forger would: the counts are then
    the only thing left to catch an impossible edit."""
    previous, lines = runlog._GENESIS, []
    for record in records:
        text, previous = runlog._line(previous, record)
        lines.append(text)
    log.write_text("".join(lines))


@pytest.mark.parametrize(
    ("line", "edit"),
    [
        (1, lambda text: text.replace('"shape": "hidden-bit"', '"shape": "search"')),
        (1, lambda text: text.replace('"baseline": 0.5', '"baseline": 0.25')),
        (3, lambda text: text.replace('"wins": ', '"wins": 1', 1)),
        (2, lambda text: text.replace("[[0, 100]]", "[[0, 1000]]")),
    ],
)
def test_an_edited_line_is_named(tmp_path, line, edit):
    log = _log(tmp_path)
    lines = log.read_text().splitlines(keepends=True)
    lines[line - 1] = edit(lines[line - 1])
    log.write_text("".join(lines))
    with pytest.raises(runlog.RunLogError, match=f"line {line}: the log was edited here"):
        runlog.read(log)
    with pytest.raises(runlog.RunLogError, match=f"line {line}: the log was edited here"):
        _resume(log, 400)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(wins=r["trials"] + 1), "wins=101 exceeds trials=100"),
        (lambda r: r.update(trials=150), "trials=150 is not its 100 trials"),
        (lambda r: r.update(wins=-1), "wins=-1 is not a non-negative integer"),
        (lambda r: r.update(ranges=[[100, 0]]), "range 100-0 is empty, out of order"),
        (lambda r: r.update(ranges=[[300, 500]]), "beyond the run's 400 trials"),
        (lambda r: r.update(errors={"exception": -2}), "is not a non-negative integer"),
        (lambda r: r.update(errors={"cosmic-ray": 1}), "unknown error kinds"),
        (lambda r: r.update(real=[50, 10], ideal=[50, 10]), "a hidden-bit game has no worlds"),
        (lambda r: r.update(seconds=-1.0), "seconds is not a non-negative number"),
    ],
)
def test_impossible_counts_are_refused_even_with_a_good_chain(tmp_path, change, message):
    log = _log(tmp_path)
    records = _records(log)
    change(records[1])
    _forge(log, records)
    with pytest.raises(runlog.RunLogError, match=f"line 2: impossible chunk: .*{message}"):
        runlog.read(log)


def test_a_forged_real_vs_ideal_chunk_must_add_up(tmp_path):
    from games.crypto.games import PRFSecurity

    log = tmp_path / "prf.jsonl"
    games.estimate(PRFSecurity(n=8, queries=2), Guess(), trials=100, seed=1, log=log)
    records = _records(log)
    records[1]["wins"] = records[1]["trials"]
    _forge(log, records)
    with pytest.raises(runlog.RunLogError, match="do not add up"):
        runlog.read(log)


def test_resume_refuses_to_double_count_reversed_or_shrunk_runs(tmp_path):
    log = _log(tmp_path)
    records = _records(log)
    records[2]["ranges"] = records[1]["ranges"]  # the same trials twice
    _forge(log, records)
    with pytest.raises(runlog.RunLogError, match="line 3: trials 0-99 are logged twice"):
        _resume(log, 400)


def test_two_runs_cannot_write_one_log(tmp_path):
    log = _log(tmp_path)
    first = runlog.RunLog.open(log, runlog.read(log)[0], resume=True)
    try:
        with pytest.raises(runlog.RunLogError, match="in use by another run"):
            _resume(log, 400)
    finally:
        first.close()
    again = _resume(log, 400)
    assert again.trials == 400


def test_extending_a_run_is_recorded_and_reproducible(tmp_path):
    log = _log(tmp_path, trials=300)
    longer = _resume(log, 900)
    fresh = games.estimate(OneTimePad(), Guess(), trials=900, seed=1, batched=False)
    assert longer.wins == fresh.wins
    spec, total = runlog.read(log)
    assert spec["trials"] == 900 and total.trials == 900
    assert json.loads(log.read_text().splitlines()[4])["kind"] == "extend"
    with pytest.raises(
        runlog.RunLogError, match="records a run of 900 trials; resume with at least"
    ):
        _resume(log, 500)


def test_a_batched_run_is_extended_only_from_whole_batches(tmp_path):
    log = tmp_path / "batched.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=1000, seed=1, chunk_size=256, log=log)
    with pytest.raises(runlog.RunLogError, match="its batches of 256 trials would not be those"):
        games.estimate(
            OneTimePad(), Guess(), trials=2000, seed=1, chunk_size=256, log=log, resume=True
        )
    whole = tmp_path / "whole.jsonl"
    games.estimate(OneTimePad(), Guess(), trials=1024, seed=1, chunk_size=256, log=whole)
    longer = games.estimate(
        OneTimePad(), Guess(), trials=2048, seed=1, chunk_size=256, log=whole, resume=True
    )
    assert (
        longer.wins
        == games.estimate(OneTimePad(), Guess(), trials=2048, seed=1, chunk_size=256).wins
    )


@pytest.mark.parametrize(
    ("log", "resume", "message"),
    [
        ("", False, "log='' must be a file path"),
        ("/nonexistent-dir/x.jsonl", False, "no directory /nonexistent-dir"),
        ("{tmp}", True, "is a directory"),
        ("{tmp}/missing.jsonl", True, "holds no run yet; drop --resume"),
    ],
)
def test_bad_log_paths_are_refused_before_any_trial(tmp_path, log, resume, message):
    with pytest.raises(runlog.RunLogError, match=message):
        games.estimate(
            OneTimePad(), Guess(), trials=10, seed=1, log=log.format(tmp=tmp_path), resume=resume
        )


def test_resume_without_a_log_is_refused():
    with pytest.raises(InvalidArgument, match="resume=True needs the log of the run to resume"):
        games.estimate(OneTimePad(), Guess(), trials=10, seed=1, resume=True)


def test_a_full_disk_or_a_read_only_log_is_one_clean_error(tmp_path):
    import os

    if os.path.exists("/dev/full"):
        with pytest.raises(runlog.RunLogError, match="cannot use the run log /dev/full"):
            games.estimate(OneTimePad(), Guess(), trials=10, seed=1, log="/dev/full")
    log = _log(tmp_path)
    log.chmod(0o444)
    if os.access(log, os.W_OK):  # root writes anyway: nothing to test here
        return
    with pytest.raises(runlog.RunLogError, match="Permission denied"):
        _resume(log, 400)


# -- fuzz: the reader meets only clean errors ----------------------------------------------


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000))
def test_random_bytes_meet_a_clean_error(tmp_path, data):
    log = tmp_path / "fuzz.jsonl"
    log.write_bytes(data)
    with contextlib.suppress(runlog.RunLogError):
        runlog.read(log)


@settings(
    max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(_json, min_size=1, max_size=5), chained=st.booleans())
def test_random_json_lines_meet_a_clean_error(tmp_path, records, chained):
    log = tmp_path / "fuzz.jsonl"
    if chained and all(isinstance(r, dict) for r in records):
        _forge(log, records)
    else:
        log.write_text("".join(json.dumps(r) + "\n" for r in records))
    with contextlib.suppress(runlog.RunLogError):
        runlog.read(log)


@pytest.fixture(scope="module")
def real_records(tmp_path_factory):
    return _records(
        _log(tmp_path_factory.mktemp("real"), game=games.GAMES.get("prf")(n=8, queries=2))
    )


@settings(
    max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=st.integers(0, 4), key=st.text(max_size=12), value=_json, drop=st.booleans())
def test_a_forged_field_of_a_real_log_meets_a_clean_error(
    tmp_path, real_records, line, key, value, drop
):
    records = json.loads(json.dumps(real_records))
    record = records[min(line, len(records) - 1)]
    keys = sorted(record)
    target = keys[hash(key) % len(keys)] if keys else key
    if drop:
        record.pop(target, None)
    else:
        record[target] = value
    log = tmp_path / "forged.jsonl"
    _forge(log, records)
    with contextlib.suppress(runlog.RunLogError):
        runlog.read(log)


def test_parameters_are_recorded_without_addresses_so_a_log_resumes_in_another_process():
    from games.engine.records import plain

    class Opaque:
        pass

    assert plain(json.dumps) == "json:dumps"  # a function by name, as in an entry point
    assert plain(Opaque) == f"{__name__}:{Opaque.__qualname__}"
    assert "0x" not in plain({"policy": [Opaque()]})["policy"][0]
    assert plain(Opaque()) == plain(Opaque())
