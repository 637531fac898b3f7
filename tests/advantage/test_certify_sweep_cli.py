"""`advantage certify`, `advantage sweep`, `advantage run` with several adversaries, `plan`'s certify figure."""

from __future__ import annotations

import json
import math
import re

import pytest

import proofs
from advantage import common
from advantage.cli import main

CERTIFY_GUESS = ("certify", "otp", "--adversary", "guess")
SWEEP = ("sweep", "collision", "--adversary", "birthday", "--budget")
# best-of-n cannot follow the birthday curve: the goodness-of-fit test rejects it.
POOR_FIT = (*SWEEP[:-1], "--budget", "queries=4,8,16,32,64,128", "--fit", "best-of-n")
POOR_FIT += ("-p", "n=12", "--trials", "400", "--seed", "0")


def test_certify_decides_both_ways(cli):
    above = cli.json("certify", "otp", "-p", "key_reuse=true", "--adversary", "two-time-pad",
                     "--eps", "0.1")  # fmt: skip
    assert above["decision"] == "above" and above["ci_low"] > 0.1 and above["trials"] < 100
    below = cli.json(*CERTIFY_GUESS, "--eps", "0.2", "--alpha", "0.01", "--seed", "3")
    assert below["decision"] == "below" and below["ci_high"] <= 0.2 and below["alpha"] == 0.01
    keys = {"trials", "wins", "played", "eps", "alpha", "seed", "method", "win_low", "win_high"}
    assert keys <= set(below)


def test_certify_takes_the_adversarys_own_parameters_as_run_does(cli):
    argv = ("certify", "collision", "-p", "n=10", "--eps", "0.2", "--seed", "1", "--adversary")
    inline = cli.json(*argv, "birthday:q=40")
    flagged = cli.json(*argv, "birthday", "-a", "q=40")
    assert inline["adversary_params"] == {"q": 40} == flagged["adversary_params"]
    assert (inline["trials"], inline["wins"]) == (flagged["trials"], flagged["wins"])


def test_certify_undecided_at_max_trials_matches_run(cli):
    cert = cli.json(*CERTIFY_GUESS, "--eps", "0.01", "--max-trials", "300", "--seed", "5")
    run = cli.json("run", "otp", "--adversary", "guess", "--trials", "300", "--seed", "5")
    assert cert["decision"] == "undecided" and (cert["trials"], cert["wins"]) == (300, run["wins"])


def test_certify_human_output(cli):
    out = cli.out("certify", "collision", "-p", "n=10", "--adversary", "birthday", "-a", "q=40",
                  "--eps", "0.2")  # fmt: skip
    assert "decision above: advantage > 0.2" in out and "anytime-valid at 95%" in out
    assert "beta-mixture confidence sequence" in out and "birthday (q=40)" in out


def test_certify_explains_trials_played_past_the_decision(cli):
    data = cli.json(*CERTIFY_GUESS, "--eps", "0.1", "--seed", "0")
    assert data["played"] > data["trials"]  # a whole wave of the batched path
    out = cli.out(*CERTIFY_GUESS, "--eps", "0.1", "--seed", "0")
    assert f"trials {data['trials']:,}, seed 0" in out
    assert (
        f"played {data['played']:,}: trials run in waves and a wave is played to its end, but "
        f"the decision is read trial by trial, so it rests on the first {data['trials']:,} alone"
    ) in out


def test_plan_reports_certify_stopping_by_simulation(cli):
    data = cli.json("plan", "--eps", "0.1", "--sims", "100", "--seed", "2")
    cert = data["certify"]
    assert data["trials"] > 100 and 0 < cert["median"] <= cert["quantile_90"]
    assert cert["sims"] == 100 and cert["seed"] == 2 and cert["advantage"] == 0.0
    assert cert["how"] == "median (90th percentile) by simulation of 100 runs (seed 2)"
    out = cli.out("plan", "--eps", "0.1", "--sims", "100")
    assert re.search(
        r"stops after [\d,]+ trials, median \([\d,]+ 90th percentile\) by simulation of 100 runs",
        out,
    )


def test_run_with_several_adversaries_json(cli):
    data = cli.json("run", "otp", "-p", "key_reuse=true", "--adversary", "guess", "--adversary",
                    "two-time-pad", "--trials", "400")  # fmt: skip
    assert [a["label"] for a in data["adversaries"]] == ["guess", "two-time-pad"]
    assert data["best"]["adversary"] == "two-time-pad"
    assert data["best"]["correction"] == "bonferroni over 2 adversaries"
    assert data["union"] is None and data["adversaries"][0]["trials"] == 400


def test_run_with_several_adversaries_table_and_union(cli, monkeypatch):
    from advantage import common

    monkeypatch.setattr(common.console, "width", 200)  # rows on one line each
    argv = ["run", "collision", "-p", "n=10", "-p", "queries=32", "--adversary", "birthday:q=8",
            "--adversary", "birthday", "--trials", "300"]  # fmt: skip
    out = cli.out(*argv)
    assert "birthday(q=8)" in out and "birthday(q=None)" in out and "best: birthday(q=None)" in out
    assert "bonferroni over 2 adversaries" in out and "any of 2 wins" in out
    assert "per-trial union" in out
    data = cli.json(*argv, "--correction", "held-out")
    assert data["union"]["trials"] == 300 and data["best"]["correction"].startswith("held-out")


@pytest.mark.parametrize("width", [80, 60])
def test_run_with_several_adversaries_cuts_nothing(width, cli, capsys, monkeypatch):
    monkeypatch.setattr(common.console, "width", width)
    argv = ["run", "collision", "-p", "n=12", "--adversary", "birthday:q=16", "--adversary",
            "birthday", "--correction", "held-out", "--trials", "300", "--seed", "1"]  # fmt: skip
    data = cli.json(*argv)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= width and "…" not in out
    # Every word of every label, method and correction is shown whole.
    best, union = data["best"], data["union"]
    labels = [a["label"] for a in data["adversaries"]]
    words = {*labels, best["adversary"], best["method"], *best["correction"].split()}
    words |= {*union["method"].split(), "per-trial", "union"}
    for word in words:
        assert word.strip("()") in out, word


def test_short_cells_stay_whole_while_prose_wraps(cli, capsys, monkeypatch):
    # The method column could take every spare cell, wrapping each interval in two.
    monkeypatch.setattr(common.console, "width", 100)
    argv = ["run", "otp", "-p", "key_reuse=true", "--adversary", "two-time-pad",
            "--adversary", "guess", "--trials", "200", "--seed", "1"]  # fmt: skip
    data = cli.json(*argv)
    assert main(argv) == 0
    out = capsys.readouterr().out
    for row in (*data["adversaries"], data["best"]):
        assert f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]" in out


def test_sweep_json_plot_and_assumption(cli, tmp_path):
    plot, toml = tmp_path / "curve.png", tmp_path / "birthday.toml"
    # Below q = 32 the birthday curve 1 - exp(-q²/2N) is close to a power law; a fixed seed,
    # since the goodness-of-fit test may reject any draw at its level.
    data = cli.json(*SWEEP, "queries=4,8,16,32", "-p", "n=12", "--trials", "300", "--seed", "0",
                    "--fit", "power-law", "--extrapolate", "128", "--plot", str(plot),
                    "--assumption", str(toml))  # fmt: skip
    assert data["budget"] == "queries" and data["target"] == "game" and len(data["points"]) == 4
    assert data["correction"] == "bonferroni over 4 budgets" and data["fit"]["model"] == "power-law"
    assert data["extrapolation"]["value"] == 128.0 and data["plot"] == str(plot)
    assert plot.stat().st_size > 1000
    proof = proofs.loads(
        '[theorem]\ngame = "collision"\nbound = "adv_birthday_queries_scaling"\n'
        '[domain]\nqueries = { type = "integer", low = 1, high = 4096 }\n' + toml.read_text()
    )
    assert proof.assumptions[0].kind == "behavioural"
    assert "WARNING" not in toml.read_text()


def test_sweep_refuses_an_assumption_from_a_rejected_fit_unless_forced(cli, tmp_path):
    toml = tmp_path / "poor.toml"
    err = cli.fails(*POOR_FIT, "--assumption", str(toml), match="goodness-of-fit test rejects")
    assert "give --force to write it with a comment" in err and not toml.exists()
    data = cli.json(*POOR_FIT, "--assumption", str(toml), "--force")
    assert data["fit"]["fit_pvalue"] < 0.05 and data["assumption"] == str(toml)
    text = toml.read_text()
    assert text.startswith("# WARNING: the goodness-of-fit test rejects this best-of-n fit")
    assumption = proofs.loads(
        '[theorem]\ngame = "collision"\nbound = "adv_birthday_queries_scaling"\n'
        '[domain]\nqueries = { type = "integer", low = 1, high = 4096 }\n' + text
    ).assumptions[0]
    assert assumption.kind == "behavioural"  # the comment keeps the file a proof's part


def test_sweep_human_output_over_an_adversary_parameter(cli):
    out = cli.out(*SWEEP, "q=4,16,64", "-p", "n=12", "-p", "queries=64", "--trials", "200",
                  "--fit", "logistic-in-log-budget")  # fmt: skip
    assert "bonferroni over 3 budgets" in out and "fit: logistic-in-log-budget" in out
    assert "simultaneous over budgets" in out and "largest advantage" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*CERTIFY_GUESS, "--eps", "1.5"], r"eps=1.5 must be in \(0, 1\)"),
        ([*CERTIFY_GUESS, "--eps", "0", "--alpha", "0.1"], r"eps=0.0 must be in \(0, 1\)"),
        ([*CERTIFY_GUESS, "--eps", "0.1", "--alpha", "1"], r"alpha=1.0 must be in \(0, 1\)"),
        ([*CERTIFY_GUESS, "--eps", "0.1", "--max-trials", "0"], "max_trials=0 must be"),
        ([*CERTIFY_GUESS[:3], "guess:value", "--eps", "0.1"], "must look like key=value"),
        ([*SWEEP, "queries=8,4"], "must be strictly increasing"),
        ([*SWEEP, "queries="], "the budget list is empty"),
        ([*SWEEP, "queries"], "must look like name=v1,v2"),
        ([*SWEEP, "rounds=1,2"], "neither a parameter of game"),
        ([*SWEEP, "queries=8", "--fit", "power-law"], "has 2 parameters but values has 1 point"),
        ([*SWEEP, "queries=8,x"], "queries='x' must be an integer"),
        ([*SWEEP, "queries=8,16", "--assumption", "a.toml"], "--assumption writes a fitted curve"),
        ([*SWEEP, "queries=8,16", "--extrapolate", "64"], "extrapolate needs a fitted curve"),
        # A fixed value of the swept parameter was dropped without a word.
        (
            [*SWEEP, "queries=8,16", "-p", "queries=64"],
            "--budget queries sweeps queries; drop -p queries=64",
        ),
        (
            ["sweep", "collision:queries=64", "--adversary", "birthday", "--budget", "queries=8"],
            "--budget queries sweeps queries; drop -p queries=64",
        ),
        (
            [*SWEEP[:3], "birthday:q=5", "--budget", "q=8,16"],
            "--budget q sweeps q; drop q=5 from --adversary birthday:q=5",
        ),
        ([*SWEEP, "q=8,16", "-a", "q=5"], "--budget q sweeps q; drop -a q=5"),
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
def test_bad_input_exit_2(cli, argv, message):
    cli.fails(*argv, match=message)


def test_unknown_fit_model_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*SWEEP, "queries=8,16", "--fit", "cubic"])
    assert exit_.value.code == 2 and "invalid choice: 'cubic'" in capsys.readouterr().err


def _strict(text: str) -> object:
    """``text`` decoded as JSON proper: Python's NaN and Infinity are refused, as JSON.parse does."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_fit_with_no_spare_points_writes_null_for_its_p_value(capsys, tmp_path):
    # One budget and a one-parameter model: nothing is left to test the fit's goodness.
    argv = [*SWEEP, "queries=4", "-p", "n=8", "--fit", "best-of-n", "--trials", "200", "--json"]
    assert main([*argv, "--seed", "0"]) == 0
    out = capsys.readouterr().out
    data = _strict(out)
    assert isinstance(data, dict) and data["fit"]["fit_pvalue"] is None
    # The report reads the null back as "nothing to test the fit".
    path = tmp_path / "sweep.json"
    path.write_text(out)
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0
    assert "no spare points to test the fit" in (tmp_path / "r.html").read_text()


def test_json_output_writes_non_finite_numbers_as_null(capsys):
    common.print_json({"tightness": math.nan, "radius": [math.inf, -math.inf, 0.5], "n": 2})
    data = _strict(capsys.readouterr().out)
    assert data["tightness"] is None and data["radius"] == [None, None, 0.5]
    assert data["n"] == 2
