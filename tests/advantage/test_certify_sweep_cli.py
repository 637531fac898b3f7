"""`advantage certify`, `advantage sweep`, `advantage run` with several adversaries, `plan`'s certify figure."""

from __future__ import annotations

import json
import re

import pytest

import proofs
from advantage.cli import main


def run_json(capsys, *argv):
    assert main(list(argv) + ["--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def test_certify_decides_both_ways(capsys):
    above = run_json(
        capsys,
        "certify",
        "otp",
        "-p",
        "key_reuse=true",
        "--adversary",
        "two-time-pad",
        "--eps",
        "0.1",
    )
    assert above["decision"] == "above" and above["ci_low"] > 0.1 and above["trials"] < 100
    below = run_json(
        capsys,
        "certify",
        "otp",
        "--adversary",
        "guess",
        "--eps",
        "0.2",
        "--alpha",
        "0.01",
        "--seed",
        "3",
    )
    assert below["decision"] == "below" and below["ci_high"] <= 0.2 and below["alpha"] == 0.01
    assert {
        "trials",
        "wins",
        "played",
        "eps",
        "alpha",
        "seed",
        "method",
        "win_low",
        "win_high",
    } <= set(below)


def test_certify_undecided_at_max_trials_matches_run(capsys):
    cert = run_json(
        capsys, "certify", "otp", "--adversary", "guess", "--eps", "0.01", "--max-trials", "300",
        "--seed", "5",
    )  # fmt: skip
    run = run_json(capsys, "run", "otp", "--adversary", "guess", "--trials", "300", "--seed", "5")
    assert cert["decision"] == "undecided" and (cert["trials"], cert["wins"]) == (300, run["wins"])


def test_certify_human_output(capsys):
    assert (
        main(
            [
                "certify",
                "collision",
                "-p",
                "n=10",
                "--adversary",
                "birthday",
                "-a",
                "q=40",
                "--eps",
                "0.2",
            ]
        )
        == 0
    )
    out = " ".join(capsys.readouterr().out.split())
    assert "decision above: advantage > 0.2" in out and "anytime-valid at 95%" in out
    assert "beta-mixture confidence sequence" in out and "birthday (q=40)" in out


def test_plan_reports_certify_stopping_by_simulation(capsys):
    data = run_json(capsys, "plan", "--eps", "0.1", "--sims", "100", "--seed", "2")
    cert = data["certify"]
    assert data["trials"] > 100 and 0 < cert["median"] <= cert["quantile_90"]
    assert cert["sims"] == 100 and cert["seed"] == 2 and cert["advantage"] == 0.0
    assert cert["how"] == "median (90th percentile) by simulation of 100 runs (seed 2)"
    assert main(["plan", "--eps", "0.1", "--sims", "100"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert re.search(
        r"stops after [\d,]+ trials, median \([\d,]+ 90th percentile\) by simulation of 100 runs",
        out,
    )


def test_run_with_several_adversaries_json(capsys):
    data = run_json(
        capsys,
        "run",
        "otp",
        "-p",
        "key_reuse=true",
        "--adversary",
        "guess",
        "--adversary",
        "two-time-pad",
        "--trials",
        "400",
    )
    assert [a["label"] for a in data["adversaries"]] == ["guess", "two-time-pad"]
    assert (
        data["best"]["adversary"] == "two-time-pad"
        and data["best"]["correction"] == "bonferroni over 2 adversaries"
    )
    assert data["union"] is None and data["adversaries"][0]["trials"] == 400


def test_run_with_several_adversaries_table_and_union(capsys, monkeypatch):
    from advantage import common

    monkeypatch.setattr(common.console, "width", 200)  # rows on one line each
    argv = [
        "run",
        "collision",
        "-p",
        "n=10",
        "-p",
        "queries=32",
        "--adversary",
        "birthday:q=8",
        "--adversary",
        "birthday",
        "--trials",
        "300",
    ]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "birthday(q=8)" in out and "birthday(q=None)" in out and "best: birthday(q=None)" in out
    assert (
        "bonferroni over 2 adversaries" in out
        and "any of 2 wins" in out
        and "per-trial union" in out
    )
    data = run_json(capsys, *argv, "--correction", "held-out")
    assert data["union"]["trials"] == 300 and data["best"]["correction"].startswith("held-out")


def test_sweep_json_plot_and_assumption(capsys, tmp_path):
    plot, toml = tmp_path / "curve.png", tmp_path / "birthday.toml"
    data = run_json(
        capsys,
        "sweep",
        "collision",
        "-p",
        "n=12",
        "--adversary",
        "birthday",
        "--budget",
        "queries=4,8,16,32,64",
        "--trials",
        "300",
        "--fit",
        "power-law",
        "--extrapolate",
        "128",
        "--plot",
        str(plot),
        "--assumption",
        str(toml),
    )
    assert data["budget"] == "queries" and data["target"] == "game" and len(data["points"]) == 5
    assert data["correction"] == "bonferroni over 5 budgets" and data["fit"]["model"] == "power-law"
    assert (
        data["extrapolation"]["value"] == 128.0
        and data["plot"] == str(plot)
        and plot.stat().st_size > 1000
    )
    proof = proofs.loads(
        '[theorem]\ngame = "collision"\nbound = "adv_birthday_queries_scaling"\n'
        '[domain]\nqueries = { type = "integer", low = 1, high = 4096 }\n' + toml.read_text()
    )
    assert proof.assumptions[0].kind == "behavioural"


def test_sweep_human_output_over_an_adversary_parameter(capsys):
    assert (
        main(
            [
                "sweep",
                "collision",
                "-p",
                "n=12",
                "-p",
                "queries=64",
                "--adversary",
                "birthday",
                "--budget",
                "q=4,16,64",
                "--trials",
                "200",
                "--fit",
                "logistic-in-log-budget",
            ]
        )
        == 0
    )
    out = " ".join(capsys.readouterr().out.split())
    assert "bonferroni over 3 budgets" in out and "fit: logistic-in-log-budget" in out
    assert "simultaneous over budgets" in out and "largest advantage" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["certify", "otp", "--adversary", "guess", "--eps", "1.5"],
            r"eps=1.5 must be in \(0, 1\)",
        ),
        (
            ["certify", "otp", "--adversary", "guess", "--eps", "0", "--alpha", "0.1"],
            r"eps=0.0 must be in \(0, 1\)",
        ),
        (
            ["certify", "otp", "--adversary", "guess", "--eps", "0.1", "--alpha", "1"],
            r"alpha=1.0 must be in \(0, 1\)",
        ),
        (
            ["certify", "otp", "--adversary", "guess", "--eps", "0.1", "--max-trials", "0"],
            "max_trials=0 must be",
        ),
        (
            ["sweep", "collision", "--adversary", "birthday", "--budget", "queries=8,4"],
            "must be strictly increasing",
        ),
        (
            ["sweep", "collision", "--adversary", "birthday", "--budget", "queries="],
            "the budget list is empty",
        ),
        (
            ["sweep", "collision", "--adversary", "birthday", "--budget", "queries"],
            "must look like name=v1,v2",
        ),
        (
            ["sweep", "collision", "--adversary", "birthday", "--budget", "rounds=1,2"],
            "neither a parameter of game",
        ),
        (
            [
                "sweep",
                "collision",
                "--adversary",
                "birthday",
                "--budget",
                "queries=8",
                "--fit",
                "power-law",
            ],
            "has 2 parameters but values has 1 point",
        ),
        (
            ["sweep", "collision", "--adversary", "birthday", "--budget", "queries=8,x"],
            "queries='x' must be an integer",
        ),
        (
            [
                "sweep",
                "collision",
                "--adversary",
                "birthday",
                "--budget",
                "queries=8,16",
                "--assumption",
                "a.toml",
            ],
            "--assumption writes a fitted curve",
        ),
        (
            [
                "sweep",
                "collision",
                "--adversary",
                "birthday",
                "--budget",
                "queries=8,16",
                "--extrapolate",
                "64",
            ],
            "extrapolate needs a fitted curve",
        ),
        (
            [
                "run",
                "otp",
                "--adversary",
                "guess",
                "--adversary",
                "two-time-pad",
                "--log",
                "x.jsonl",
            ],
            "--log and --resume record one adversary's run",
        ),
        (
            ["run", "otp", "--adversary", "guess", "--adversary", "two-time-pad", "-a", "zzz=1"],
            "-a zzz: no adversary given has this parameter",
        ),
        (
            ["run", "otp", "--adversary", "guess:value", "--adversary", "two-time-pad"],
            "must look like key=value",
        ),
    ],
)
def test_bad_input_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err


def test_unknown_fit_model_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "sweep",
                "collision",
                "--adversary",
                "birthday",
                "--budget",
                "queries=8,16",
                "--fit",
                "cubic",
            ]
        )
    assert exit_.value.code == 2 and "invalid choice: 'cubic'" in capsys.readouterr().err
