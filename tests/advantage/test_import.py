"""Extension without packaging: --import and ADVANTAGE_IMPORT, `python -m advantage`, the
unknown-name hint, and proof files that name reductions in an imported module."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import proofs
from advantage.cli import RESOLVING, main, parser

GAME = '''
import attrs

import adversaries
import games


@games.register("sticky-bit")
@attrs.frozen(kw_only=True)
class StickyBit(games.HiddenBit):
    """The hidden bit, shown with probability p."""

    p: float = games.param(1.0, help="chance of seeing the bit", check=games.number(0, 1))

    def setup(self, b, rng):
        shown = bool(rng.random() < self.p)
        return games.Challenge(oracles={"look": lambda: b if shown else 0}, budgets={"look": 1})


@adversaries.register("look", games=["sticky-bit"])
@attrs.frozen(kw_only=True)
class Look:
    """Answers what it sees."""

    def __call__(self, oracles, rng):
        return oracles["look"]()
'''

# A reduction outside the project; importing it leaves a mark, so a test can see whether
# its code ran.
REDUCTIONS = """
from pathlib import Path

Path(__file__).with_name("imported.mark").write_text("ran")


def prf(adversary, params):
    from proofs.crypto.reductions import prf_from_ctr

    return prf_from_ctr(adversary, params)
"""


@pytest.fixture
def folder(tmp_path, user_imports, monkeypatch):
    (tmp_path / "sticky.py").write_text(GAME)
    (tmp_path / "my_reductions.py").write_text(REDUCTIONS)
    ctr = Path(proofs.catalogue()["ctr-prf"]).read_text()
    (tmp_path / "mine.toml").write_text(
        ctr.replace('"proofs.crypto.reductions:prf_from_ctr"', '"my_reductions:prf"')
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVANTAGE_IMPORT", raising=False)
    return tmp_path


def test_every_command_that_resolves_names_takes_import():
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in RESOLVING:
        assert "--import" in commands[name].format_usage(), name
    assert set(RESOLVING) >= {"run", "certify", "sweep", "check", "explain", "audit", "list"}


def test_import_a_file_then_run_its_game(folder, capsys):
    argv = ["run", "sticky-bit", "--adversary", "look", "--trials", "200", "--seed", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown game 'sticky-bit'" in err and "--import my_file.py" in err
    assert "advantage.games entry-point group" in err
    assert main([*argv, "--import", "sticky.py", "--json"]) == 0
    assert '"advantage": 1.0' in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install -e '.[ray]')"
)
def test_a_local_ray_run_finds_an_imported_file_and_starts_once(
    folder, capsys, monkeypatch, tmp_path_factory
):
    # Ray's workers start from its own processes, not this one, and look in the current
    # folder only: they are told where the imported file is.
    import ray

    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    starts = []
    init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: starts.append(kw) or init(**kw))
    argv = ["run", "sticky-bit", "--adversary", "look", "--adversary", "guess", "--trials", "40"]
    argv += ["--seed", "1", "--import", str(folder / "sticky.py"), "--backend", "ray"]
    argv += ["--workers", "2", "--json"]
    assert main(argv) == 0
    best = json.loads(capsys.readouterr().out)["best"]
    assert best["adversary"] == "look" and best["advantage"] == 1.0
    # Both adversaries played on one Ray instance, which the command ended.
    assert len(starts) == 1 and not ray.is_initialized()


def test_the_environment_variable_takes_several(folder, capsys, monkeypatch):
    monkeypatch.setenv("ADVANTAGE_IMPORT", os.pathsep.join(["sticky.py", "my_reductions.py"]))
    assert main(["list", "games", "sticky-bit"]) == 0
    assert "chance of seeing the bit" in capsys.readouterr().out
    assert (folder / "imported.mark").exists()


def test_an_unknown_adversary_gets_the_hint(folder, capsys):
    assert main(["run", "otp", "--adversary", "two-time-pat", "--trials", "10"]) == 2
    err = capsys.readouterr().err
    assert "did you mean two-time-pad?" in err and "advantage.adversaries entry-point" in err


def test_import_errors_are_one_line_with_exit_2(folder, capsys):
    (folder / "typo.py").write_text("import attrs\n\nclass Game(attrs.nothing):\n    pass\n")
    assert main(["list", "--import", "typo.py"]) == 2
    err = capsys.readouterr().err
    assert "--import 'typo.py': importing it raised AttributeError" in err
    assert "(typo.py, line 3)" in err and "Traceback" not in err
    assert main(["list", "--import", "nowhere.py"]) == 2
    assert "--import 'nowhere.py': no such file" in capsys.readouterr().err


def test_a_proof_file_alone_never_runs_code_outside_the_packages(folder, capsys):
    argv = ["check", "mine.toml", "--adversary", "guess", "--trials", "40", "--seed", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "mine.toml: assumptions[1].reduction: reduction 'my_reductions:prf' is not in" in err
    assert not (folder / "imported.mark").exists()
    assert main(["explain", "mine.toml"]) == 2
    assert not (folder / "imported.mark").exists()


def test_a_proof_file_may_name_a_reduction_in_an_imported_module(folder, capsys):
    argv = ["check", "mine.toml", "--adversary", "guess", "--trials", "40", "--seed", "0"]
    assert main([*argv, "--import", "my_reductions.py", "--json"]) in (0, 1)
    assert (folder / "imported.mark").exists()
    assert '"reduction": "my_reductions:prf"' in capsys.readouterr().out


def test_python_dash_m_advantage(folder):
    env = dict(os.environ, ADVANTAGE_IMPORT="sticky.py")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "advantage",
            "run",
            "sticky-bit",
            "-p",
            "p=0",
            "--adversary",
            "look",
            "--trials",
            "100",
            "--seed",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    assert "sticky-bit (p=0.0)" in done.stdout and "advantage" in done.stdout
