"""Bad input to the privacy game, through the API and the command line: clear errors, exit 2;
a model that diverges fails its trial, named with its seed, and is left out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from advantage.cli import main  # noqa: E402
from games.privacy.membership import Membership  # noqa: E402
from oracles import InvalidArgument  # noqa: E402

RUN = ["run", "membership", "--adversary", "loss-threshold", "-a", "calibration=16"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("noise_multiplier", 0.0, r"noise_multiplier=0\.0 must be a number in \(0, inf\)"),
        ("noise_multiplier", -1.0, r"noise_multiplier=-1\.0 must be a number in \(0, inf\)"),
        ("max_grad_norm", 0.0, r"max_grad_norm=0\.0 must be a number in \(0, inf\)"),
        ("noise_multiplier", float("inf"), r"noise_multiplier=inf must be a"),
        ("dataset", "mnist", "dataset='mnist' must be one of: digits, breast-cancer, gaussian"),
    ],
)
def test_bad_parameters_are_refused_by_the_game_and_the_command_line(param, value, message, capsys):
    with pytest.raises(InvalidArgument, match=message):
        Membership(trainer="dp-sgd", **{param: value})
    assert main([*RUN, "-p", "trainer=dp-sgd", "-p", f"{param}={value}", "--trials", "4"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "error:" in err and f"{param}=" in err


def test_the_same_errors_reach_check_and_audit(capsys):
    check = ["check", "dp-sgd", "--adversary", "gradient-canary", "--trials", "4"]
    assert main([*check, "-p", "max_grad_norm=0"]) == 2
    audit = ["audit", "membership", "--adversary", "gradient-canary", "--trials", "8"]
    assert main([*audit, "-p", "trainer=dp-sgd", "-p", "noise_multiplier=0"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "max_grad_norm=0.0 must be" in err and "noise_multiplier=0.0 must be" in err


def test_opacus_without_opacus_says_how_to_install_it():
    # Opacus made unimportable in a fresh interpreter, whether or not it is installed here.
    code = (
        "import sys; sys.modules['opacus'] = None\n"
        "from advantage.cli import main\n"
        "sys.exit(main(['run', 'membership', '-p', 'trainer=opacus', '--adversary', 'guess',"
        " '--trials', '4']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    err = " ".join(done.stderr.split())
    assert "trainer='opacus' needs Opacus: pip install -e '.[opacus]'" in err
    assert "Traceback" not in done.stderr


def diverging(*extra: str) -> list[str]:
    # A learning rate this large sends the weights, and the loss, to inf and NaN.
    params = ["model=mlp", "lr=1e6", "target=mislabeled", "training_size=32", "epochs=5"]
    params += ["batch_size=16", *extra]
    return [*RUN, *[x for p in params for x in ("-p", p)], "--trials", "12", "--json"]


@pytest.mark.parametrize("path", ["--batched", "--no-batched"])
def test_a_diverged_model_fails_its_trial_with_its_seed(path, capsys):
    assert main([*diverging(), path, "--seed", "7"]) == 0
    data = json.loads(capsys.readouterr().out)
    failed = data["error_kinds"]["game-failed"]
    assert failed > 0 and data["trials"] == 12 - failed  # left out, not counted as losses
    first = data["first_error"]
    if path == "--batched":
        assert first.startswith("the challenger failed (seed 7, batch 0-11)")
    else:
        assert first.startswith("trial 0 (seed 7):") and "the model diverged" in first


def test_dp_sgd_diverges_too_when_the_step_is_absurd(capsys):
    assert main(diverging("trainer=dp-sgd", "lr=1e30", "noise_multiplier=1")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["error_kinds"]["game-failed"] == 12 and data["trials"] == 0


def test_an_audit_of_only_diverged_models_is_refused(capsys):
    args = ["audit", "membership", "--adversary", "loss-threshold", "-a", "calibration=16"]
    for p in ("model=mlp", "lr=1e6", "target=mislabeled", "training_size=32", "batch_size=16"):
        args += ["-p", p]
    assert main([*args, "-p", "epochs=5", "--trials", "12"]) == 2
    assert "only 0 of 12 trials kept" in capsys.readouterr().err
