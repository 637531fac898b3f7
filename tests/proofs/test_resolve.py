"""Where a proof file may lead: reductions only from this project, registered packages and
modules given with --import (issue: a proof file made `check --adversary` import any
installed module, e.g. a package's __main__)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import proofs
from oracles import InvalidArgument
from proofs import ProofError, resolve

CTR = Path(proofs.catalogue()["ctr-prf"]).read_text()


# A reduction of the user's own: ctr-prf's, under another name.
REDUCTION = (
    "from proofs.crypto.reductions import prf_from_ctr\n"
    "def prf(adversary, params):\n    return prf_from_ctr(adversary, params)\n"
)


def with_reduction(path: str) -> str:
    return CTR.replace("proofs.crypto.reductions:prf_from_ctr", path)


def write(folder: Path, files: dict[str, str]) -> None:
    """Make ``folder`` with the files given (name -> text)."""
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_an_installed_package_that_does_not_register_is_refused_before_import(fresh_python):
    # In a fresh interpreter: loading and checking imports nothing from the package (before,
    # certifi.__main__ parsed the command's own arguments and exited).
    paths = ["certifi.__main__:main", "PIL.__main__:main", "pip.__main__:main"]
    code = textwrap.dedent(
        f"""
        import json, sys, proofs
        out = []
        for path in {paths!r}:
            text = {CTR!r}.replace("proofs.crypto.reductions:prf_from_ctr", path)
            try:
                proof = proofs.loads(text, name="x", path="x.toml")
                proofs.check_empirical(proof, "guess", trials=4, seed=0)
            except proofs.ProofError as error:
                out.append([str(error), path.split(":")[0] in sys.modules])
        print(json.dumps(out))
        """
    )
    found = fresh_python(code)
    assert len(found) == len(paths), found
    for path, (message, imported) in zip(paths, found, strict=True):
        assert message.startswith(f"x.toml: assumptions[1].reduction: reduction '{path}' is not")
        assert imported is False


@pytest.mark.parametrize(
    "module",
    ["proofs.__main__", "games.__init__", "oracles.x.__main__", "os", "advantage.cli", "a-b"],
)
def test_dunder_parts_other_packages_and_bad_names_are_not_allowed(module):
    assert not resolve.allowed(module)


def test_the_project_packages_are_allowed_and_advantage_is_not():
    assert all(
        resolve.allowed(f"{p}.anything") for p in ("proofs", "games", "adversaries", "oracles")
    )
    assert not resolve.allowed("advantage")  # the command line is not a place for reductions


def test_a_package_registered_through_an_entry_point_is_allowed(tmp_path, monkeypatch):
    # A distribution on sys.path declaring an advantage.* entry point, as pip would install it.
    metadata = "Metadata-Version: 2.1\nName: extension-pkg\nVersion: 1.0\n"
    entry_points = (
        "[advantage.games]\nmy-game = extension_pkg.games:G\n"
        "[advantage.quantities]\nsneaky = os:system\n"  # the standard library registers nothing
    )
    info = {"METADATA": metadata, "entry_points.txt": entry_points}
    write(tmp_path / "extension_pkg-1.0.dist-info", info)
    monkeypatch.syspath_prepend(str(tmp_path))
    resolve.registered_packages.cache_clear()
    try:
        assert "extension_pkg" in resolve.registered_packages()
        assert "os" not in resolve.registered_packages()
        assert resolve.allowed("extension_pkg.reductions")
        proof = proofs.loads(with_reduction("extension_pkg.reductions:f"), name="x")
        assert proof.assumptions[0].reduction == "extension_pkg.reductions:f"
    finally:
        monkeypatch.undo()
        resolve.registered_packages.cache_clear()
    assert not resolve.allowed("extension_pkg.reductions")


def test_a_module_given_with_import_user_is_allowed(tmp_path, user_imports):
    write(tmp_path / "pkg_given", {"__init__.py": "", "reductions.py": REDUCTION})
    (tmp_path / "loose_reductions.py").write_text(REDUCTION)
    user_imports.syspath_prepend(str(tmp_path))
    text = with_reduction("pkg_given.reductions:prf")
    with pytest.raises(ProofError, match=r"modules given with --import \(none given\)"):
        proofs.loads(text, name="x")

    proofs.import_user("pkg_given")  # a package: its submodules too
    proof = proofs.loads(text, name="x")
    assert callable(proof.assumptions[0].resolve_reduction())
    assert resolve.user_modules() == ("pkg_given",)
    # Importable from sys.path, but not given: still refused.
    with pytest.raises(ProofError, match=r"\(pkg_given\)"):
        proofs.loads(with_reduction("loose_reductions:prf"), name="x")

    module = proofs.import_user(str(tmp_path / "loose_reductions.py"))
    assert proofs.import_user(str(tmp_path / "loose_reductions.py")) is module
    report = proofs.check_empirical(
        proofs.loads(with_reduction("loose_reductions:prf"), name="x"), "guess", trials=20, seed=0
    )
    assert report.assumptions[0].reduction == "loose_reductions:prf"


def test_a_reduction_defined_elsewhere_is_refused_even_from_a_given_module(tmp_path, user_imports):
    (tmp_path / "reexports.py").write_text("from subprocess import run\n")
    proofs.import_user(str(tmp_path / "reexports.py"))
    proof = proofs.loads(with_reduction("reexports:run"), name="x")
    with pytest.raises(ProofError, match=r"resolves to subprocess\.run, which is not defined"):
        proof.assumptions[0].resolve_reduction()


def test_quantities_are_looked_up_only_in_the_domain_package_of_a_shipped_file(tmp_path):
    shipped = proofs.catalogue()["dp-sgd"]
    assert resolve.domain_package(str(shipped)) == ("proofs.privacy",)
    assert resolve.domain_package(str(tmp_path / "dp-sgd.toml")) == ()
    assert resolve.domain_package(None) == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing_file.py", r"--import 'missing_file.py': no such file"),
        ("no_such_module_xyz", r"--import 'no_such_module_xyz': no module of that name"),
        ("my-game.py", r"'my-game' is not a module name"),
        ("json.py", r"a module called 'json' is already loaded"),
        (
            "raises.py",
            r"importing it raised ZeroDivisionError: division by zero \(raises.py, line 3\)",
        ),
        ("broken.py", r"importing it raised SyntaxError: .* \(broken.py, line 1\)"),
        ("exits.py", r"importing it raised SystemExit: 3 \(exits.py, line 2\)"),
        ("", r"must be a module name or a path to a .py file"),
    ],
)
def test_import_user_errors_are_one_line(tmp_path, user_imports, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-game.py").write_text("")
    (tmp_path / "json.py").write_text("")
    (tmp_path / "raises.py").write_text("import math\n\nx = 1 / 0\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(InvalidArgument, match=message):
        proofs.import_user(spec)
    assert resolve.user_modules() == ()
