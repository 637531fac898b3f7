import json
import subprocess

import pytest

from advantage.cli import main

JSON_KEYS = {
    "game",
    "adversary",
    "params",
    "adversary_params",
    "trials",
    "wins",
    "win_rate",
    "advantage",
    "ci_low",
    "ci_high",
    "level",
    "method",
    "seed",
    "seconds",
    "queries",
    "errors",
}


def run_json(capsys, *argv):
    assert main(list(argv) + ["--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def test_run_json_has_every_key_and_matches_theory(capsys):
    data = run_json(
        capsys,
        "run",
        "otp",
        "-p",
        "key_reuse=true",
        "--adversary",
        "two-time-pad",
        "--trials",
        "2000",
        "--seed",
        "1",
    )
    assert set(data) >= JSON_KEYS
    assert data["params"]["key_reuse"] is True and data["trials"] == 2000 and data["ci_low"] > 0.95
    fresh = run_json(
        capsys, "run", "otp", "--adversary", "two-time-pad", "--trials", "2000", "--seed", "1"
    )
    assert fresh["ci_low"] <= 0 <= fresh["ci_high"]


def test_run_human_output_names_level_and_method(capsys):
    assert (
        main(["run", "otp", "--adversary", "guess", "--trials", "200", "--method", "wilson"]) == 0
    )
    out = capsys.readouterr().out
    assert "advantage" in out and "95% wilson" in out and "200" in out


def test_adversary_parameters_and_level(capsys):
    data = run_json(
        capsys,
        "run",
        "otp",
        "--adversary",
        "constant",
        "-a",
        "value=1",
        "--trials",
        "100",
        "--level",
        "0.9",
    )
    assert data["adversary_params"] == {"value": 1} and data["level"] == 0.9


def test_errors_are_counted_and_first_traceback_shown(capsys):
    assert main(["run", "otp", "--adversary", "constant", "-a", "value=7", "--trials", "50"]) == 0
    captured = capsys.readouterr()
    assert "invalid-answer: 50" in captured.out and "is not a bit" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "otpp", "--adversary", "guess"], "unknown game 'otpp'; did you mean otp?"),
        (["run", "otp", "--adversary", "gues"], "unknown adversary 'gues'; did you mean guess?"),
        (["run", "otp", "-p", "key_reus=1", "--adversary", "guess"], "did you mean key_reuse?"),
        (
            ["run", "otp", "-p", "key_reuse=maybe", "--adversary", "guess"],
            "key_reuse='maybe' must be true or false",
        ),
        (["run", "otp", "-p", "n=abc", "--adversary", "guess"], "n='abc' must be an integer"),
        (["run", "otp", "-p", "n", "--adversary", "guess"], "-p 'n' must look like key=value"),
        (
            ["run", "otp", "--adversary", "guess", "--trials", "0"],
            "trials=0 must be a positive integer",
        ),
        (
            ["run", "otp", "--adversary", "guess", "--level", "1.5"],
            r"level=1.5 must be in \(0, 1\)",
        ),
        (
            ["run", "otp", "--adversary", "guess", "--workers", "0", "--backend", "process"],
            "workers=0",
        ),
        (["plan", "--eps", "1.5"], "eps=1.5"),
        (["show", "/nonexistent/run.jsonl"], "no run log at"),
        (["list", "games", "nope"], "unknown game 'nope'"),
    ],
)
def test_bad_input_exit_2_with_message(capsys, argv, message):
    import re

    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err


def test_adversary_for_another_game_is_refused(capsys):
    from adversaries import register

    @register("only-for-prf", games=("prf",))
    class OnlyPrf:
        def __call__(self, oracles, rng):
            return 0

    assert main(["run", "otp", "--adversary", "only-for-prf"]) == 2
    assert "written for prf, not 'otp'" in capsys.readouterr().err


def test_log_resume_and_show(tmp_path, capsys):
    log = str(tmp_path / "run.jsonl")
    first = run_json(capsys, "run", "otp", "--adversary", "guess", "--trials", "500", "--log", log)
    assert main(["run", "otp", "--adversary", "guess", "--trials", "500", "--log", log]) == 2
    assert "--resume" in capsys.readouterr().err
    shown = run_json(capsys, "show", log)
    assert (shown["wins"], shown["trials"], shown["ci_low"]) == (
        first["wins"],
        500,
        first["ci_low"],
    )
    mismatch = main(
        [
            "run",
            "otp",
            "--adversary",
            "guess",
            "--trials",
            "500",
            "--seed",
            "4",
            "--log",
            log,
            "--resume",
        ]
    )
    assert mismatch == 2 and "records a different run" in capsys.readouterr().err


def test_plan(capsys):
    data = run_json(capsys, "plan", "--eps", "0.1")
    assert data["trials"] > 100 and data["eps"] == 0.1
    assert run_json(capsys, "plan", "--eps", "0.05")["trials"] > data["trials"]


def test_list_names_and_descriptions(capsys):
    data = run_json(capsys, "list")
    games = {row["name"]: row["summary"] for row in data["games"]}
    adversaries = {row["name"]: row for row in data["adversaries"]}
    assert "otp" in games and games["otp"].startswith("One-time pad")
    assert adversaries["two-time-pad"]["games"] == "otp" and adversaries["guess"]["games"] == "any"
    detail = run_json(capsys, "list", "games", "otp")
    assert set(detail["parameters"]) == {"n", "key_reuse", "queries"}


def test_every_command_has_help(capsys):
    from advantage.cli import parser

    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0 and f"usage: advantage {name}" in out and len(out) > 200, name


def test_console_script_exit_status():
    out = subprocess.run(
        ["advantage", "run", "nope", "--adversary", "guess"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and "unknown game" in out.stderr
