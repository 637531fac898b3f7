"""Shared set-up of the proof tests: a fresh interpreter, the ctr-prf file with edits, a
module of misbehaving reductions brought in as ``--import`` would."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

import proofs

ROOT = pathlib.Path(__file__).parents[2]
CTR_REDUCTION = "proofs.crypto.reductions:prf_from_ctr"


@pytest.fixture
def fresh_python():
    """``run(code)``: run ``code`` in a fresh interpreter (what it imports is its own) and
    return what it printed last, read as JSON."""

    def run(code: str):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    return run


@pytest.fixture(scope="session")
def ctr_with():
    """``edit(reduction, **replace)``: the ctr-prf file naming another reduction, with text
    replaced (old=new), loaded as ``ctr-test``."""
    text = pathlib.Path(proofs.catalogue()["ctr-prf"]).read_text()

    def edit(reduction: str = CTR_REDUCTION, **replace: str) -> proofs.Proof:
        edited = text.replace(f'"{CTR_REDUCTION}"', f'"{reduction}"')
        for old, new in replace.items():
            edited = edited.replace(old, new)
        return proofs.loads(edited, name="ctr-test")

    return edit


@pytest.fixture(scope="session")
def helpers(tmp_path_factory):
    """A module outside the project holding reductions that misbehave, given as --import
    (once a session: a second module of the same name would be refused)."""
    root = tmp_path_factory.mktemp("helpers")
    (root / "empirical_helpers.py").write_text(
        textwrap.dedent(
            """
            from os.path import join as joined
            from proofs.crypto.reductions import prf_from_ctr

            seen = []

            def recording(adversary, params):
                seen.append(dict(params))
                return prf_from_ctr(adversary, params)

            def raising(adversary, params):
                raise RuntimeError("the simulation is not written yet")

            def failing(adversary, params):
                def b(oracles, rng):
                    raise ValueError("B cannot answer")
                return b
            """
        )
    )
    # What --import does: a proof file may then name reductions in it.
    yield proofs.import_user(str(root / "empirical_helpers.py"))
