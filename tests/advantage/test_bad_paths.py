"""Bad paths, huge numbers and resumes that cannot be honoured: one line, exit status 2, and
before any trial is played."""

from __future__ import annotations

import json
import re
import shlex
import time

import pytest

from advantage.cli import main


def _error(capsys, *argv: str) -> str:
    started = time.monotonic()
    assert main(list(argv)) == 2
    assert time.monotonic() - started < 30  # refused up front, not after the work
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "Traceback" not in err, err
    return " ".join(err.split())


SWEEP = "sweep collision --adversary birthday --budget queries=2,4"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("show /", "/ is a directory, not a run log"),
        ("show /nonexistent/run.jsonl", "no run log at /nonexistent/run.jsonl"),
        ("run otp --adversary guess --log /nonexistent/x", "no directory /nonexistent"),
        ("run otp --adversary guess --log ''", "log='' must be a file path"),
        ("run otp --adversary guess --log {tmp} --resume", "is a directory"),
        ("run otp --adversary guess --resume", "resume=True needs the log"),
        (
            "run otp --adversary guess --trials 99999999999999999999999",
            "must be at most 2\\*\\*53",
        ),
        ("certify otp --adversary guess --eps 1e-300", "eps=1e-300 is below 1e-06"),
        (
            f"{SWEEP} --trials 50000 --plot /nonexistent/curve",
            "--plot /nonexistent/curve: no directory /nonexistent",
        ),
        (
            f"{SWEEP} --fit power-law --trials 50000 --assumption /nonexistent/a.toml",
            "--assumption /nonexistent/a.toml: no directory /nonexistent",
        ),
        (f"{SWEEP} --plot /", "--plot /: is a directory"),
    ],
)
def test_refused_in_one_line_before_any_work(capsys, tmp_path, command, message) -> None:
    argv = shlex.split(command.replace("{tmp}", str(tmp_path)))
    assert re.search(message, _error(capsys, *argv))


def test_a_plot_named_without_a_suffix_is_written_and_named_as_png(capsys, tmp_path) -> None:
    where = tmp_path / "curve"
    status = main(
        ["sweep", "collision", "-p", "n=10", "--adversary", "birthday", "--budget", "queries=4,8",
         "--trials", "200", "--seed", "1", "--plot", str(where), "--json"]
    )  # fmt: skip
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plot"] == str(where) + ".png" and (tmp_path / "curve.png").exists()


def test_plan_with_a_tiny_eps_answers_at_once(capsys) -> None:
    started = time.monotonic()
    assert main(["plan", "--eps", "1e-9", "--json"]) == 0
    assert time.monotonic() - started < 30
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "normal-approximation" and data["trials"] > 10**18
    assert data["certify"]["wald"] > 10**18 and "Wald" in data["certify"]["how"]


def test_resuming_a_log_says_when_it_extends_the_run(capsys, tmp_path) -> None:
    log = str(tmp_path / "run.jsonl")
    base = ["run", "otp", "--adversary", "guess", "--seed", "3", "--log", log, "--no-batched"]
    assert main([*base, "--trials", "300", "--json"]) == 0
    capsys.readouterr()
    assert main([*base, "--trials", "600", "--resume", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trials"] == 600
    assert main(["show", log, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"] == 600
    assert "records a run of 600 trials" in _error(capsys, *base, "--trials", "100", "--resume")
