"""`advantage audit`: the advantage, TPR at low FPR and an ε lower bound next to the claim."""

from __future__ import annotations

import json
import re

import pytest

torch = pytest.importorskip("torch")


from advantage import audit  # noqa: E402
from advantage.cli import main, parser  # noqa: E402
from games.privacy.membership import dp_advantage_bound  # noqa: E402

DP = ["-p", "target=adversary", "-p", "training_size=64", "-p", "epochs=2"]
DP += ["-p", "batch_size=16", "-p", "noise_multiplier=3"]
CANARY = ["--adversary", "gradient-canary", "-a", "calibration=128"]


pytestmark = pytest.mark.usefixtures("one_thread")


def run_json(capsys, *args: str) -> tuple[int, dict]:
    status = main(["audit", "membership", *args, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_the_missing_clipping_is_refuted_twice(capsys):
    status, data = run_json(
        capsys, *DP, "-p", "trainer=dp-sgd-noclip", *CANARY, "--trials", "600", "--seed", "1"
    )
    assert status == 1 and data["refuted"]
    claimed = data["claimed"]["epsilon"]
    assert data["epsilon_lower"]["epsilon"] > claimed > 0
    assert data["advantage"]["ci_low"] > data["claimed"]["advantage_bound"]
    assert len(data["refutations"]) == 2
    assert data["tpr_at_fpr"]["tpr_low"] > data["tpr_at_fpr"]["fpr_high"]


def test_dp_sgd_is_not_refuted_and_the_bound_stays_below_the_claim(capsys):
    status, data = run_json(capsys, *DP, "-p", "trainer=dp-sgd", *CANARY, "--trials", "600")
    assert status == 0 and not data["refuted"] and data["refutations"] == []
    claimed = data["claimed"]
    assert data["epsilon_lower"]["epsilon"] <= claimed["epsilon"]
    assert claimed["advantage_bound"] == pytest.approx(dp_advantage_bound(claimed["epsilon"], 1e-5))
    assert claimed["tightness"] == pytest.approx(
        data["epsilon_lower"]["epsilon"] / claimed["epsilon"]
    )


def test_figures_share_the_family_level_and_one_held_out_split(capsys):
    status, data = run_json(
        capsys, *DP, "-p", "trainer=dp-sgd", *CANARY, "--trials", "200", "--level", "0.9"
    )
    assert status == 0
    each = 1 - 0.1 / audit.FIGURES
    assert data["each"] == pytest.approx(each)
    assert data["advantage"]["level"] == pytest.approx(each)
    assert data["epsilon_lower"]["level"] == pytest.approx(each)
    assert data["tpr_at_fpr"]["level"] == pytest.approx(1 - (1 - each) / 2)
    low, rates = data["epsilon_lower"], data["tpr_at_fpr"]
    assert low["calibration"] + low["evaluation"] == data["kept"] == 200
    assert rates["members"] + rates["non_members"] == low["evaluation"]


def test_no_claim_without_dp_and_a_large_leak_without_it(capsys):
    args = ["-p", "target=mislabeled", "-p", "training_size=16", "-p", "epochs=20"]
    args += ["-p", "batch_size=8", "--adversary", "lira", "-a", "shadows=16"]
    status, data = run_json(capsys, *args, "-a", "calibration=64", "--trials", "300")
    assert status == 0 and not data["refuted"]
    assert data["claimed"]["epsilon"] is None
    assert "trainer='sgd' makes no DP claim" in data["claimed"]["reason"]
    assert data["advantage"]["ci_low"] > 0.8 and data["epsilon_lower"]["epsilon"] > 1


def test_the_table_names_the_claim_and_the_correction(capsys):
    argv = ["audit", "membership", *DP, "-p", "trainer=dp-sgd", *CANARY, "--trials", "80"]
    assert main([*argv, "--seed", "0"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in ("TPR at FPR ≤ 0.01", "ε lower bound", "claimed ε", "Bonferroni over 3 figures"):
        assert text in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fpr", "1.5"], r"fpr=1\.5 must be a number in \[0, 1\)"),
        (["--delta", "0"], r"delta=0\.0 must be in \(0, 1\)"),
        (["--level", "1"], r"level=1\.0 must be in \(0, 1\)"),
        (["--trials", "2"], "trials=2 must be an integer >= 4"),
        (["--calibration", "1"], r"calibration=1\.0 must be in \(0, 1\)"),
    ],
)
def test_bad_options_exit_2(args, message, capsys):
    assert main(["audit", "membership", *CANARY, *args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err


def test_the_library_moved_to_games_privacy_and_the_old_names_still_import():
    from games.privacy import audit as library

    for name in ("run_audit", "AuditReport", "Claims", "Thresholded", "FIGURES"):
        assert getattr(audit, name) is getattr(library, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        audit.nothing  # noqa: B018


# -- one training run -----------------------------------------------------------------------

ONE_RUN = ["-p", "training_size=64", "-p", "epochs=2", "-p", "batch_size=16"]
ONE_RUN += ["-p", "noise_multiplier=3", "-p", "max_grad_norm=0.1", "--one-run", "1000"]


def test_one_run_refutes_the_missing_clipping(capsys):
    status, data = run_json(capsys, *ONE_RUN, "-p", "trainer=dp-sgd-noclip", "--guesses", "100")
    assert status == 1 and data["refuted"]
    assert data["epsilon"] > data["claimed_epsilon"] > 0
    assert data["canaries"] == 1000 and data["guesses_in"] == data["guesses_out"] == 100
    assert data["guesses"] == 200 and data["correct"] == data["correct_in"] + data["correct_out"]
    assert data["params"]["trainer"] == "dp-sgd-noclip" and data["delta"] == 1e-5


def test_one_run_keeps_dp_sgd_below_its_claim_and_guesses_a_tenth_by_default(capsys):
    status, data = run_json(capsys, *ONE_RUN, "-p", "trainer=dp-sgd", "--level", "0.9")
    assert status == 0 and not data["refuted"]
    assert data["epsilon"] <= data["claimed_epsilon"] and data["level"] == 0.9
    assert data["guesses_in"] == data["guesses_out"] == 100


def test_one_run_sides_can_differ_and_the_table_names_the_figures(capsys):
    args = ["audit", "membership", "--one-run", "300", "--guesses", "20", "--guesses-out", "5"]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())  # cells wrap over lines
    for text in (
        "one-run audit of membership",
        "'in' for the 20 lowest-loss canaries, 'out' for the 5 highest-loss",
        "ε lower bound",
        "none: trainer='sgd' makes no DP claim",
        "Steinke, Nasr and Jagielski 2023",
        "fixed before the model was trained",
    ):
        assert text in out, text


def test_the_help_explains_the_one_run_audit(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in ("--one-run CANARIES", "mislabeled", "probability 1/2", "--guesses K"):
        assert text in out, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--one-run", "0"], r"canaries=0 must be an integer in \[1, 1669\]"),
        (["--one-run", "5000"], r"canaries=5000 must be an integer in \[1, 1669\]"),
        (["--one-run", "100", "--guesses", "-1"], "guesses_in=-1 must be a non-negative integer"),
        (["--one-run", "100", "--guesses", "60"], r"= 120 must be in \[1, canaries=100\]"),
        (["--one-run", "100", "--level", "1"], r"level=1\.0 must be in \(0, 1\)"),
        (["--one-run", "100", "--delta", "1"], r"delta=1\.0 must be a number in \[0, 1\)"),
        (["--one-run", "100", *CANARY], "--adversary does not apply to --one-run"),
        (["--one-run", "100", "--trials", "10"], "--trials does not apply to --one-run"),
        (["--one-run", "100", "--fpr", "0.1"], "--fpr does not apply to --one-run, .*: drop it"),
        (["--guesses", "10", *CANARY], "--guesses goes with --one-run CANARIES"),
        (["--guesses-out", "10", *CANARY], "--guesses-out goes with --one-run CANARIES"),
        ([], "give --adversary ADV .* or --one-run CANARIES"),
    ],
)
def test_bad_one_run_options_exit_2(args, message, capsys):
    assert main(["audit", "membership", *args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert re.search(message, err), err


def test_one_run_refuses_games_it_cannot_audit(capsys):
    assert main(["audit", "prf", "--one-run", "10"]) == 2
    assert "the one-run audit needs a membership game" in capsys.readouterr().err


def test_the_default_delta_is_the_one_dp_sgd_claims_are_stated_at():
    from games.privacy.audit import DELTA
    from proofs.privacy.quantities import DELTA as PROOF_DELTA

    assert DELTA == PROOF_DELTA
    assert parser().parse_args(["audit", "membership", "--one-run", "10"]).delta == DELTA


def test_a_piped_audit_says_how_far_it_is(monkeypatch, capsys):
    from advantage import common

    monkeypatch.setattr(common, "PLAIN_EVERY", 0.0)  # a line after every chunk of trials
    argv = ["audit", "membership", *DP, "-p", "trainer=dp-sgd", *CANARY, "--trials", "2100"]
    main([*argv, "--seed", "1"])
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[4] for line in lines] == ["1,024/2,100", "2,048/2,100"]
    assert all(line.startswith("audit membership with gradient-canary: ") for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["membershp"], "unknown game 'membershp'; did you mean membership"),  # the name first
        (["membership"], "give --adversary ADV"),
        (["membershp", "--one-run", "100"], "unknown game 'membershp'"),
    ],
)
def test_a_mistyped_game_is_named_before_missing_options(argv, message, capsys):
    assert main(["audit", *argv]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    ("argv", "played"),
    [
        ([*DP, "-p", "trainer=dp-sgd-noclip", *CANARY, "--trials", "100"], "membership_scores"),
        ([*ONE_RUN, "-p", "trainer=dp-sgd-noclip"], "_canary_scores"),
    ],
)
def test_an_accountant_that_is_not_installed_is_refused_before_any_trial(
    argv, played, monkeypatch, capsys
):
    """Found out after the trials, it was reported as "no claim" and a broken trainer passed."""
    import sys

    from games.privacy import accounting, one_run
    from games.privacy import audit as library

    monkeypatch.setitem(sys.modules, "dp_accounting", None)  # as if it were not installed
    accounting._epsilon.cache_clear()

    def never(*args, **kwargs):
        raise AssertionError("played before the accountant was checked")

    monkeypatch.setattr(library if played == "membership_scores" else one_run, played, never)
    assert main(["audit", "membership", *argv, "--accountant", "pld"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "needs dp-accounting: pip install dp-accounting" in err, err
    accounting._epsilon.cache_clear()


def test_a_game_that_states_no_epsilon_still_has_no_claim_without_the_accountant(
    monkeypatch, capsys
):
    import sys

    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    args = [*DP, "-p", "trainer=sgd", *CANARY, "--trials", "40", "--accountant", "pld"]
    status, data = run_json(capsys, *args)
    assert status == 0 and data["claimed"]["epsilon"] is None
    assert "trainer='sgd' makes no DP claim" in data["claimed"]["reason"]
