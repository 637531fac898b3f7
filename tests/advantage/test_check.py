"""`advantage check` and `advantage explain`: verdicts, exit codes, JSON and bad input."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from advantage.cli import main

DATA = pathlib.Path(__file__).parent.parent / "proofs" / "data"
CTR = pathlib.Path(__file__).parent.parent.parent / "proofs" / "crypto" / "ctr-prf.toml"
# The planted bug: CTR that reuses its nonce, against the adversary that sees it.
PLANTED = ["ctr-prf", "--adversary", "nonce-reuse", "-p", "scheme=ctr-nonce-reuse"]


def check_json(capsys, *argv, status=0):
    assert main(["check", *argv, "--json"]) == status
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def test_three_verdicts_and_their_exit_codes(capsys):
    sound = check_json(capsys, "ctr-prf", "--adversary", "guess", "--trials", "500")
    assert sound["verdicts"] == ["consistent"] and sound["proof"] == "ctr-prf"
    planted = check_json(capsys, *PLANTED, "--trials", "500", status=1)
    assert planted["verdicts"] == ["algorithm"] and planted["params"]["scheme"] == "ctr-nonce-reuse"
    theorem = planted["intervals"][0]
    assert theorem["violated"] and theorem["ci_low"] > planted["bound"]["value"]
    broken = check_json(
        capsys,
        "ctr-prf",
        "--adversary",
        "linear-prf",
        "-p",
        "prf=toy-linear",
        "-p",
        "queries=24",
        "--trials",
        "500",
        status=1,
    )
    assert broken["verdicts"] == ["assumption:prf"]
    assert (
        broken["intervals"][1]["violated"]
        and broken["intervals"][1]["params"]["prf"] == "toy-linear"
    )


def test_json_names_the_family_level_and_the_trials(capsys):
    data = check_json(
        capsys,
        "ctr-prf",
        "--adversary",
        "ecb-repeat",
        "--trials",
        "200",
        "--seed",
        "3",
        "--level",
        "0.9",
    )
    assert data["level"] == 0.9 and data["interval_level"] == pytest.approx(0.95)
    assert data["intervals_count"] == 2 and data["correction"] == "bonferroni"
    assert data["trials"] == 200 and data["seed"] == 3
    assert all(
        row["trials"] == 200 and row["level"] == data["interval_level"] for row in data["intervals"]
    )
    assert isinstance(data["bound"]["value"], float)


def test_inconclusive_suggests_trials(capsys):
    few = [*PLANTED, "--trials", "20", "--seed", "0"]
    data = check_json(capsys, *few)
    assert data["verdicts"] == ["inconclusive"] and data["trials_needed"] > 20
    assert main(["check", *few]) == 0
    out = capsys.readouterr().out
    assert f"--trials {data['trials_needed']}" in out


def test_human_output_has_the_table_the_verdict_and_the_correction(capsys):
    status = main(["check", *PLANTED, "--trials", "300"])
    out = " ".join(capsys.readouterr().out.split())
    assert status == 1
    for text in (
        "Adv_ind-cpa(A)",
        "Adv_prf(B_prf)",
        "claim / bound",
        "violated?",
        "not measured",
        "verdict: algorithm",
        "Family level 95%: Bonferroni over 2 intervals, each at 97.5%",
    ):
        assert text in out, text


def test_symbolic_alone_and_with_the_empirical_check(capsys):
    data = check_json(capsys, "ctr-prf", "--symbolic")
    assert data == {
        "proof": "ctr-prf",
        "symbolic": data["symbolic"],
        "command": data["command"],
        "version": data["version"],
    }
    assert data["symbolic"]["status"] == "proven"
    refuted = check_json(capsys, str(DATA / "ctr-prf-broken.toml"), "--symbolic", status=1)
    assert refuted["symbolic"]["status"] == "refuted" and refuted["symbolic"]["findings"]
    both = check_json(capsys, "ctr-prf", "--symbolic", "--adversary", "guess", "--trials", "100")
    assert both["symbolic"]["status"] == "proven" and "verdicts" in both
    assert main(["check", "ctr-prf", "--symbolic"]) == 0
    assert "symbolic check of ctr-prf: proven" in capsys.readouterr().out


def test_measured_hop_is_blamed_on_the_command_line(capsys):
    data = check_json(
        capsys,
        str(DATA / "switching-perfect.toml"),
        "--adversary",
        "prp-prf-switch",
        "--trials",
        "300",
        status=1,
    )
    assert data["verdicts"] == ["algorithm"] and data["blamed_hops"] == [1]
    assert [row["role"] for row in data["intervals"]] == ["theorem", "assumption", "hop-game"]


@pytest.mark.parametrize(
    ("fmt", "start", "bound"),
    [
        ("text", "Theorem ctr-prf: CTR mode", "bound: Adv(A) ≤ 2*adv_prf + m*q**2 / 2**n"),
        ("markdown", "# Proof `ctr-prf`", "2*adv_prf + m*q**2 / 2**n"),
        (
            "latex",
            "\\paragraph{Proof \\texttt{ctr-prf}",
            "\\mathrm{Adv}(A) \\le 2 \\mathrm{Adv}^{\\mathrm{prf}}",
        ),
    ],
)
def test_explain_formats(capsys, fmt, start, bound):
    assert main(["explain", "ctr-prf", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(start) and bound in out and out.endswith("\n")


def _write(tmp_path, text, name="bad.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[theorem]", "[theorem"), "not valid TOML"),
        (
            lambda t: t.replace('"proofs.crypto.reductions:prf_from_ctr"', '"os:system"'),
            r"reduction 'os:system' is not in a module a proof file may name",
        ),
        (
            lambda t: t.replace(
                '"proofs.crypto.reductions:prf_from_ctr"', '"proofs.crypto.nowhere:f"'
            ),
            "cannot import 'proofs.crypto.nowhere'",
        ),
        (
            lambda t: t.replace('game = "prf"', 'game = "prff"'),
            r"assumptions\[1\]\.game: unknown game 'prff'",
        ),
        (
            lambda t: t.replace('by = "assumption prf"', 'by = "assumption prg"', 1),
            "hop cites unknown assumption 'prg'",
        ),
        (
            lambda t: t.replace('bound = "2*adv_prf', 'bound = "__import__(1)+2*adv_prf'),
            "__import__",
        ),
    ],
)
def test_bad_proof_files_exit_2(tmp_path, capsys, edit, message):
    path = _write(tmp_path, edit(CTR.read_text()))
    assert main(["check", path, "--adversary", "guess", "--trials", "10"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_reduction_that_raises_exits_2_naming_it(tmp_path, capsys, user_imports):
    (tmp_path / "check_cli_helpers.py").write_text(
        "def broken(adversary, params):\n    raise KeyError('nonce')\n"
    )
    text = CTR.read_text().replace(
        '"proofs.crypto.reductions:prf_from_ctr"', '"check_cli_helpers:broken"'
    )
    path = _write(tmp_path, text)
    helpers = str(tmp_path / "check_cli_helpers.py")
    argv = ["check", path, "--adversary", "guess", "--trials", "10", "--import", helpers]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "reduction 'check_cli_helpers:broken' raised KeyError" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "ctr-prff", "--adversary", "guess"],
            "unknown proof 'ctr-prff'; did you mean ctr-prf",
        ),
        (["check", "ctr-prf"], "give --adversary ADV for the empirical check, --symbolic"),
        (["check", "ctr-prff"], "unknown proof 'ctr-prff'; did you mean ctr-prf"),  # name first
        (["check", "ctr-prf", "--symbolic", "-p", "n=8"], "give --adversary too"),
        (["check", "ctr-prf", "--adversary", "gues"], "unknown adversary 'gues'"),
        (["check", "ctr-prf", "--adversary", "two-time-pad"], "written for otp, not 'ind-cpa'"),
        (["check", "ctr-prf", "--adversary", "guess", "-p", "schem=ecb"], "did you mean scheme"),
        (
            ["check", "ctr-prf", "--adversary", "guess", "-p", "n"],
            "-p 'n' must look like key=value",
        ),
        (
            ["check", "ctr-prf", "--adversary", "guess", "--trials", "0"],
            "trials=0 must be a positive integer",
        ),
        (
            ["check", "ctr-prf", "--adversary", "guess", "--level", "2"],
            r"level=2.0 must be in \(0, 1\)",
        ),
        (["check", "/nonexistent/proof.toml", "--symbolic"], "no such file"),
        (["explain", "nope"], "unknown proof 'nope'"),
    ],
)
def test_bad_input_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err


def test_explain_refuses_an_unknown_format(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "ctr-prf", "--format", "pdf"])
    assert exit_.value.code == 2 and "invalid choice: 'pdf'" in capsys.readouterr().err


# Every crypto proof, with an adversary its theorem's game takes: A and the reduction's B
# each play in their own process.
ISOLATED = [
    ("ctr-prf", "ecb-repeat"),
    ("prf-mac", "guess"),
    ("luby-rackoff", "prp-prf-switch"),
    ("prp-prf-switching", "prp-prf-switch"),
    ("hybrid-lr", "ecb-repeat"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("proof", "adversary"), ISOLATED)
def test_every_crypto_proof_checks_with_isolate(capsys, proof, adversary):
    argv = [proof, "--adversary", adversary, "--trials", "3", "--seed", "0", "--isolate"]
    status = main(["check", *argv, "--json"])
    captured = capsys.readouterr()
    assert status in (0, 1), captured.err
    report = json.loads(captured.out)
    assert [row["trials"] for row in report["intervals"]] == [3] * len(report["intervals"])


def test_a_b_that_cannot_be_isolated_is_named(tmp_path, capsys, user_imports):
    (tmp_path / "isolate_cli_helpers.py").write_text(
        "import attrs\n\n"
        "@attrs.frozen\n"
        "class Unsendable:\n"
        "    adversary: object\n"
        "    hook: object\n"
        "    def __call__(self, oracles, rng):\n"
        "        return 0\n\n"
        "def unsendable(adversary, params):\n"
        "    return Unsendable(adversary, lambda: 0)\n"
    )
    text = CTR.read_text().replace(
        '"proofs.crypto.reductions:prf_from_ctr"', '"isolate_cli_helpers:unsendable"'
    )
    path = _write(tmp_path, text)
    helpers = str(tmp_path / "isolate_cli_helpers.py")
    argv = ["check", path, "--adversary", "guess", "--trials", "2", "--isolate"]
    assert main([*argv, "--import", helpers]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "reduction 'isolate_cli_helpers:unsendable': its adversary B cannot play" in err
    assert "the adversary isolate_cli_helpers.Unsendable cannot be sent" in err
    assert err.count("\n") <= 1 and "Traceback" not in err
