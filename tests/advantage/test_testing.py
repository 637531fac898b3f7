"""`advantage.testing` and its pytest plugin: security claims as tests, with one table of
every claim and the family-wise level at the end of the session."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import proofs
from advantage import pytest_plugin
from advantage.cli import main
from advantage.testing import (
    Settings,
    assert_advantage_above,
    assert_advantage_below,
    assert_proof_consistent,
    recording,
)
from adversaries.crypto import EcbRepeat
from adversaries.otp import TwoTimePad
from games.crypto.games import IndCPA
from games.otp import OneTimePad
from oracles import InvalidArgument

ROOT = pathlib.Path(__file__).resolve().parents[2]


def apart():
    """Keep the claims of a test that calls the assertions directly (many fail on purpose)
    out of this session's own table."""
    return recording(Settings())


def _pytest(where: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """Run pytest in a fresh interpreter, as a user's CI would (the plugin comes in through
    its entry point)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["COLUMNS"] = "80"  # the table is fitted to the terminal's width
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *args],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _table(out: str) -> dict[str, str]:
    """The end-of-session table of pytest's output at 80 columns, each claim stacked: the
    test's name (without its file), then its result and details on one line."""
    table = out.split("security assertions (advantage)", 1)[1]
    table = re.split(r"^\d+ security assertion", table, maxsplit=1, flags=re.M)[0]
    rows: dict[str, str] = {}
    name = None
    for line in table.splitlines():
        if "::" in line and not line.startswith(" "):
            name = line.split()[0].split("::")[1]
            rows[name] = " ".join(line.split()[1:])
        elif name is not None and line.startswith("  "):
            rows[name] += " " + " ".join(line.split())
        else:
            name = None
    assert all(len(line) <= 80 for line in table.splitlines()), table
    return rows


def _readme_files() -> dict[str, str]:
    """The test files of the README's "Keep security claims in CI", by the name in their
    first line."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Keep security claims in CI", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return {block.splitlines()[0].lstrip("# ").strip(): block for block in blocks}


def test_the_readme_example_passes_and_its_broken_claim_fails(tmp_path):
    files = _readme_files()
    assert set(files) == {"test_security.py", "test_ecb.py"}
    for name, code in files.items():
        (tmp_path / name).write_text(code)
    run = _pytest(tmp_path, "-q")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "1 failed, 4 passed" in out
    # The failure: the interval, the trials, the seed and a one-line replay command.
    failure = re.search(r"E\s+AssertionError: (ecb-repeat vs ind-cpa scheme=ecb: .*)", out).group(1)
    assert "claimed advantage ≤ 0.1, but certify decided advantage > 0.1" in failure
    assert re.search(r"advantage in \[\+0\.\d+, \+1\.0000\] after \d+ trials, seed 0", failure)
    replay = re.search(r"E\s+replay: (advantage certify .*)", out).group(1)
    assert replay == (
        "advantage certify ind-cpa -p scheme=ecb --adversary ecb-repeat --eps 0.1 "
        "--alpha 0.05 --max-trials 100000 --seed 0"
    )
    # The table: every assertion, its own level, and all of them together.
    rows = _table(out)
    assert len(rows) == 5
    assert sum(row.startswith("failed ") for row in rows.values()) == 1
    assert sum("level 99%" in row for row in rows.values()) == 1  # the marked test
    family = 1 - (4 * 0.05 + 0.01)
    table = " ".join(out.split("security assertions (advantage)", 1)[1].split())
    assert f"all of them together at {family:.0%} (family-wise, Bonferroni" in table


def test_the_replay_command_replays_the_failure(capsys):
    with apart():
        with pytest.raises(AssertionError) as failure:
            assert_advantage_below(IndCPA(scheme="ecb"), EcbRepeat(), eps=0.1)
        replay = str(failure.value).splitlines()[-1].removeprefix("replay: ")
        assert main([*replay.split()[1:], "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["decision"] == "above"
        assert f"after {data['trials']} trials, seed 0" in str(failure.value)


def test_options_marker_and_xdist_workers(tmp_path):
    (tmp_path / "test_claims.py").write_text(
        "import pytest\n"
        "from advantage.testing import assert_advantage_below\n\n"
        "def test_options():\n"
        "    assert_advantage_below('otp', 'guess', eps=0.2)\n\n"
        "@pytest.mark.advantage(level=0.99, seed=5)\n"
        "def test_marker():\n"
        "    assert_advantage_below('otp', 'guess', eps=0.2)\n\n"
        "@pytest.mark.advantage(level=0.99)\n"
        "def test_own_arguments_first():\n"
        "    assert_advantage_below('otp', 'guess', eps=0.2, seed=7, level=0.98)\n\n"
        "def test_no_claims():\n"
        "    pass\n"
    )
    run = _pytest(tmp_path, "-q", "-n", "2", "--advantage-seed", "3", "--advantage-level", "0.9")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = _table(run.stdout)
    assert set(rows) == {"test_options", "test_marker", "test_own_arguments_first"}
    assert rows["test_options"].endswith("seed 3) level 90%")
    assert rows["test_marker"].endswith("seed 5) level 99%")
    assert rows["test_own_arguments_first"].endswith("seed 7) level 98%")
    assert "together at 87%" in " ".join(run.stdout.split())  # 1 − (0.1 + 0.01 + 0.02)


def test_assertions_in_fixtures_follow_the_marker_and_join_the_table(tmp_path):
    (tmp_path / "test_fixtures.py").write_text(
        "import pytest\n"
        "from advantage.testing import assert_advantage_below\n\n"
        "@pytest.fixture\n"
        "def made_in_setup():\n"
        "    return assert_advantage_below('otp', 'guess', eps=0.2)\n\n"
        "@pytest.fixture\n"
        "def made_in_teardown():\n"
        "    yield\n"
        "    assert_advantage_below('otp', 'guess', eps=0.3)\n\n"
        "@pytest.mark.advantage(level=0.5, seed=7)\n"
        "def test_setup(made_in_setup):\n"
        "    assert made_in_setup.seed == 7 and made_in_setup.alpha == pytest.approx(0.5)\n\n"
        "def test_teardown(made_in_teardown):\n"
        "    pass\n"
    )
    run = _pytest(tmp_path, "-q", "--advantage-seed", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = _table(run.stdout)
    assert set(rows) == {"test_setup", "test_teardown"}
    assert rows["test_setup"].endswith("seed 7) level 50%")
    assert rows["test_teardown"].endswith("seed 3) level 95%")
    out = " ".join(run.stdout.split())
    assert "2 security assertion(s)" in out and "together at 45%" in out  # 1 − (0.5 + 0.05)


def test_no_table_without_claims_and_a_bad_marker_is_refused(tmp_path):
    (tmp_path / "test_plain.py").write_text(
        "import pytest\n\ndef test_plain():\n    pass\n\n"
        "@pytest.mark.advantage(levle=0.9)\ndef test_typo():\n    pass\n"
    )
    run = _pytest(tmp_path, "-q", "test_plain.py::test_plain")
    assert run.returncode == 0 and "security assertions" not in run.stdout
    run = _pytest(tmp_path, "-q", "test_plain.py::test_typo")
    assert run.returncode != 0
    assert (
        "@pytest.mark.advantage takes level= and seed= only, not levle" in run.stdout + run.stderr
    )


def test_the_plugin_loads_nothing_heavy():
    code = (
        "import sys, advantage.pytest_plugin, advantage.testing\n"
        "heavy = {'numpy', 'torch', 'scipy', 'games', 'proofs', 'oracles', 'adversaries', 'rich'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the assertions, called directly ----------------------------------------------------------


def test_below_and_above_pass_and_return_the_certificate():
    with apart():
        cert = assert_advantage_below(OneTimePad(), TwoTimePad(), eps=0.2)
        assert cert.decision == "below" and cert.alpha == pytest.approx(0.05) and cert.seed == 0
        cert = assert_advantage_above(
            OneTimePad(key_reuse=True), TwoTimePad(), eps=0.9, level=0.99, seed=4
        )
        assert cert.decision == "above" and cert.alpha == pytest.approx(0.01) and cert.seed == 4


def test_above_fails_when_the_attack_stops_working():
    with (
        apart(),
        pytest.raises(
            AssertionError, match=r"claimed advantage > 0\.5, but certify decided advantage ≤ 0\.5"
        ),
    ):
        assert_advantage_above(OneTimePad(), TwoTimePad(), eps=0.5)


def test_undecided_says_how_many_trials_would_decide_or_skips():
    with apart():
        # guess has advantage 0: telling it from 0.1 takes hundreds of trials, not 40.
        with pytest.raises(AssertionError) as failure:
            assert_advantage_below("otp", "guess", eps=0.1, max_trials=40)
        message = str(failure.value)
        assert "undecided whether advantage ≤ 0.1 after max_trials=40" in message
        needed = int(
            re.search(r"about ([\d,]+) trials would decide it", message).group(1).replace(",", "")
        )
        assert 40 < needed < 10_000 and "rerun with max_trials=" in message
        assert "replay: advantage certify otp --adversary guess" in message
        with pytest.raises(pytest.skip.Exception, match="undecided whether advantage ≤ 0.1"):
            assert_advantage_below("otp", "guess", eps=0.1, max_trials=40, undecided="skip")


def test_proof_assertions_fail_with_the_verdicts_reasons():
    with apart():
        report = assert_proof_consistent("ctr-prf", "ecb-repeat", trials=300)
        assert report.verdicts == ("consistent",)
        with pytest.raises(AssertionError) as failure:
            assert_proof_consistent("ctr-prf", "nonce-reuse", trials=200, scheme="ctr-nonce-reuse")
        message = str(failure.value)
        assert message.startswith(
            "ctr-prf with nonce-reuse: verdict algorithm (200 trials per game, seed 0"
        )
        assert "no reading of the assumptions explains A's success" in message
        assert message.splitlines()[-1] == (
            "replay: advantage check ctr-prf --adversary nonce-reuse -p scheme=ctr-nonce-reuse "
            "--trials 200 --seed 0"
        )
        with pytest.raises(AssertionError, match="verdict assumption:prf"):
            assert_proof_consistent(
                proofs.load("ctr-prf"), "linear-prf", trials=200, prf="toy-linear", queries=24
            )
        with pytest.raises(AssertionError, match=r"verdict inconclusive.*rerun with trials=\d+"):
            assert_proof_consistent("ctr-prf", "guess", trials=20)
        with pytest.raises(pytest.skip.Exception, match="verdict inconclusive"):
            assert_proof_consistent("ctr-prf", "guess", trials=20, undecided="skip")


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: assert_advantage_below("otp", "guess", eps=0.1, undecided="maybe"),
            "undecided='maybe' must be one of: fail, skip",
        ),
        (
            lambda: assert_advantage_below("otp", "guess", eps=0.1, level=1.5),
            r"level=1.5 must be in \(0, 1\)",
        ),
        (lambda: assert_advantage_below("otp", "guess", eps=2), "eps=2"),
        (
            lambda: assert_proof_consistent("ctr-prf", "guess", trials=20, undecided="pass"),
            "undecided='pass'",
        ),
    ],
)
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(InvalidArgument, match=message):
        call()


def test_settings_give_the_defaults_and_claims_are_recorded():
    with recording(Settings(test="t::x", level=0.9, seed=3)) as claims:
        cert = assert_advantage_below("otp", "guess", eps=0.2)
        with pytest.raises(AssertionError):
            assert_advantage_below(IndCPA(scheme="ecb"), EcbRepeat(), eps=0.1, level=0.99)
    assert cert.seed == 3 and cert.alpha == pytest.approx(0.1)
    assert [(c.test, c.outcome, c.level, c.seed) for c in claims] == [
        ("t::x", "passed", 0.9, 3),
        ("t::x", "failed", 0.99, 3),
    ]
    assert claims[0].low == cert.ci_low and claims[0].trials == cert.trials
    lines = pytest_plugin.summary_lines([c.as_dict() for c in claims])
    assert pytest_plugin.family_level([c.as_dict() for c in claims]) == pytest.approx(0.89)
    assert "all of them together at 89%" in " ".join(lines)
    assert all(len(line) <= 80 for line in lines)
    # Short enough for a table: the first claim's row ends with its trials, seed and level.
    assert lines[3].split()[-6:] == [f"{cert.trials:,}", "│", "3", "│", "90%", "│"]


def test_the_table_fits_the_terminal_width():
    claim = {
        "test": "security/test_security.py::test_fresh_keys_keep_the_one_time_pad_secret",
        "subject": "two-time-pad vs otp key_reuse=true",
        "claim": "advantage ≤ 0.1",
        "outcome": "passed",
        "low": -0.2479,
        "high": 0.0986,
        "trials": 420,
        "seed": 0,
        "level": 0.95,
    }
    lines = pytest_plugin.summary_lines([claim, {**claim, "test": "t::x", "seed": 5}], 80)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    # Too narrow for the columns: each claim stacked under its test, nothing cut.
    assert lines[0].split() == [claim["test"], "passed"]
    assert lines[1].split() == ["claim", "two-time-pad", "vs", "otp", "key_reuse=true:", "advantage", "≤", "0.1"]  # fmt: skip
    assert lines[2].split() == ["interval", "[-0.2479,", "+0.0986]", "(420", "trials,", "seed", "0)"]  # fmt: skip
    assert lines[3].split() == ["level", "95%"] and lines[4].split() == ["t::x", "passed"]
    # Wide enough: one row each.
    wide = pytest_plugin.summary_lines([claim], 200)
    row = next(line for line in wide if claim["test"] in line)
    assert "[-0.2479, +0.0986]" in row and " 95% " in row
