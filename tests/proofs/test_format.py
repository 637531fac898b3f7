"""Proof files: loading, the catalogue, every malformed-file path, and the record helpers."""

from __future__ import annotations

import math
import pathlib
import pickle
import re
from fractions import Fraction

import pytest
import sympy

import proofs
from oracles import InvalidArgument
from proofs import ProofError, UnknownProof, load, loads

DATA = pathlib.Path(__file__).parent / "data"
SHIPPED = ["ctr-prf", "hybrid-lr", "luby-rackoff", "prf-mac", "prp-prf-switching"]
# Other domains ship proofs too (tests/proofs/test_privacy_proof.py, ...).
OTHERS = ["dp-sgd"]

MINIMAL = """
[proof]
title = "t"

[theorem]
game = "ind-cpa"
params = { n = 16, queries = 4 }
bound = "2*adv_prf + q**2 / 2**n"

[domain]
q = { type = "integer", low = 1, high = "2**20", param = "queries" }
n = { type = "integer", low = 8, high = 64, param = "n" }

[[assumptions]]
name = "prf"
game = "prf"
params = { prf = "blake2" }
resources = { queries = "q", n = "n" }
claim = "q / 2**128"
reduction = "proofs.crypto.reductions:prf_from_ctr"

[[hops]]
from = "G0"
to = "G1"
by = "assumption prf"

[[hops]]
from = "G1"
to = "G2"
by = "statistical q**2 / 2**n"

[[hops]]
from = "G2"
to = "G3"
by = "assumption prf"
"""


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def expect(text: str, key: str, reason: str) -> ProofError:
    with pytest.raises(ProofError, match=re.escape(f"bad.toml: {key}: ") + ".*" + reason) as error:
        loads(text, name="bad", path="bad.toml")
    assert error.value.file == "bad.toml"
    assert error.value.key == key
    return error.value


# -- the catalogue and loading ------------------------------------------------------------


def test_catalogue_lists_the_shipped_proofs_by_stem():
    catalogue = proofs.catalogue()
    assert list(catalogue) == sorted(catalogue)
    assert set(SHIPPED) | set(OTHERS) <= set(catalogue)
    for name, path in catalogue.items():
        assert path.suffix == ".toml" and path.stem == name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_proofs_load_by_name_and_by_path(name):
    by_name = load(name)
    by_path = load(proofs.catalogue()[name])
    assert by_name == by_path
    assert by_name.name == name
    assert by_name.hops and by_name.assumptions
    for assumption in by_name.assumptions:
        assert re.fullmatch(r"proofs\.crypto\.reductions:\w+", assumption.reduction)
        assert callable(assumption.resolve_reduction())


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ProofError, match=r"^unknown proof 'ctr-prff'; did you mean ctr-prf\?") as e:
        load("ctr-prff")
    # no file to point into: the name is the error's file; it survives pickling (a worker's
    # error reaches its parent)
    assert (e.value.file, e.value.key) == ("ctr-prff", "<name>")
    assert isinstance(e.value, UnknownProof)
    again = pickle.loads(pickle.dumps(e.value))
    assert str(again) == str(e.value) and again.file == "ctr-prff"


def test_missing_file_is_a_proof_error(tmp_path):
    path = tmp_path / "nothing.toml"
    with pytest.raises(ProofError, match=re.escape(f"{path}: <document>: no such file")):
        load(path)


def test_non_utf8_file_is_a_proof_error(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b"title = '\xe9'")
    with pytest.raises(ProofError, match="cannot read the file"):
        load(path)


def test_wrong_source_type_is_a_proof_error():
    with pytest.raises(ProofError, match="expected a proof name or a path"):
        load(3)  # type: ignore[arg-type]


def test_fixture_file_loads_from_a_path():
    proof = load(DATA / "ctr-prf-broken.toml")
    assert proof.name == "ctr-prf-broken"
    assert proof.theorem.bound.text == "2*adv_prf"


def test_importing_proofs_loads_no_torch_games_or_adversaries(fresh_python):
    code = (
        "import json, sys, proofs; proofs.load('ctr-prf'); "
        "print(json.dumps([m for m in sys.modules "
        "if m.split('.')[0] in ('torch', 'games', 'adversaries')]))"
    )
    assert fresh_python(code) == []


def test_all_is_explicit_and_importable():
    for name in proofs.__all__:
        assert hasattr(proofs, name)


# -- malformed files: every message names the file and the key ----------------------------


def test_malformed_toml():
    expect("[theorem\ngame = 1", "<toml>", "not valid TOML")


def test_missing_theorem():
    expect("[proof]\ntitle = 'x'\n", "theorem", "is required but missing")


def test_unknown_top_level_key_suggests_the_nearest():
    expect(
        MINIMAL + "\n[theorems]\ngame = 'x'\n",
        "theorems",
        r"unknown key 'theorems' \(did you mean 'theorem'\?\)",
    )


def test_unknown_theorem_key():
    expect(edit('bound = "2*adv_prf', 'bund = "2*adv_prf'), "theorem.bund", "unknown key 'bund'")


def test_unsafe_expression_in_a_bound():
    expect(
        edit('bound = "2*adv_prf + q**2 / 2**n"', "bound = \"__import__('os').system('x')\""),
        "theorem.bound",
        "is not allowed in a bound expression",
    )


@pytest.mark.parametrize("text", ["a.b", "x[0]", "f(x)"])
def test_unsafe_expression_in_a_claim(text):
    expect(
        edit('claim = "q / 2**128"', f'claim = "{text}"'),
        "assumptions[1].claim",
        re.escape(repr(text)),
    )


def test_undeclared_name_in_the_bound():
    expect(
        edit('bound = "2*adv_prf + q**2 / 2**n"', 'bound = "2*adv_prp + q**2 / 2**n"'),
        "theorem.bound",
        r"undeclared name 'adv_prp'.*declared names: adv_prf, n, q",
    )


def test_claims_may_not_use_advantages():
    expect(
        edit('claim = "q / 2**128"', 'claim = "adv_prf"'),
        "assumptions[1].claim",
        "undeclared name 'adv_prf'",
    )


def test_hop_citing_an_unknown_assumption():
    expect(
        edit('by = "assumption prf"', 'by = "assumption prp"'),
        "hops[1].by",
        r"hop cites unknown assumption 'prp'; declared assumptions: prf",
    )


@pytest.mark.parametrize("by", ["perfectly", "assumed prf", "perfect extra", ""])
def test_hop_with_a_bad_justification(by):
    expect(
        edit('by = "assumption prf"', f'by = "{by}"'),
        "hops[1].by",
        "must be 'perfect', 'assumption NAME' or 'statistical EXPR'",
    )


def test_statistical_hop_needs_an_expression():
    expect(
        edit('by = "statistical q**2 / 2**n"', 'by = "statistical"'),
        "hops[2].by",
        "needs an expression",
    )


def test_statistical_hop_is_parsed_safely():
    expect(
        edit('by = "statistical q**2 / 2**n"', 'by = "statistical q.bit_length()"'),
        "hops[2].by",
        "is not allowed",
    )


def test_hop_count_is_an_expression():
    expect(
        edit('by = "assumption prf"', 'by = "assumption prf"\ncount = "q["'),
        "hops[1].count",
        "not a valid expression",
    )


def test_broken_chain_is_refused():
    expect(
        edit('from = "G1"', 'from = "G9"'),
        "hops[2].from",
        "the chain is broken: hop 1 ends at 'G1'",
    )


@pytest.mark.parametrize(
    "reduction",
    [
        "proofs.crypto.reductions.prf_from_ctr",
        "proofs.crypto.reductions:",
        ":prf_from_ctr",
        "proofs.crypto.reductions:prf-from-ctr",
        "proofs crypto:f",
        "proofs.crypto.reductions:prf_from_ctr:x",
    ],
)
def test_bad_reduction_path_format(reduction):
    expect(
        edit('reduction = "proofs.crypto.reductions:prf_from_ctr"', f'reduction = "{reduction}"'),
        "assumptions[1].reduction",
        "must be an import path 'package.module:function'",
    )


@pytest.mark.parametrize(
    "reduction",
    [
        "os:system",
        "subprocess:run",
        "nosuchpackage_xyz.mod:f",
        "builtins:eval",
        # installed, but not registered through an advantage.* entry point
        "numpy.linalg:norm",
        "certifi.__main__:main",
        "PIL.__main__:main",
        # __main__ runs a program when imported, even in this project
        "proofs.__main__:main",
        "advantage.cli:main",
    ],
)
def test_reduction_outside_the_project_or_installed_packages(reduction):
    expect(
        edit('reduction = "proofs.crypto.reductions:prf_from_ctr"', f'reduction = "{reduction}"'),
        "assumptions[1].reduction",
        r"is not in a module a proof file may name: this project's packages \(proofs, games, "
        r"adversaries, oracles\), packages registered through an advantage\.\* entry point "
        r"\(.*\) and modules given with --import",
    )


def test_reduction_is_resolved_only_on_demand():
    text = edit(
        'reduction = "proofs.crypto.reductions:prf_from_ctr"',
        'reduction = "proofs.crypto.missing:f"',
    )
    proof = loads(text, name="lazy", path="lazy.toml")  # loading imports nothing
    with pytest.raises(
        ProofError,
        match=r"lazy.toml: assumptions\[1\].reduction: .*cannot import 'proofs.crypto.missing'",
    ):
        proof.assumptions[0].resolve_reduction()
    text = edit(
        'reduction = "proofs.crypto.reductions:prf_from_ctr"',
        'reduction = "proofs.crypto.reductions:nothing"',
    )
    with pytest.raises(ProofError, match="has no function 'nothing'"):
        loads(text, name="lazy", path="lazy.toml").assumptions[0].resolve_reduction()


def test_duplicate_assumption():
    block = MINIMAL[MINIMAL.index("[[assumptions]]") : MINIMAL.index("[[hops]]")]
    expect(edit("[[hops]]", block + "[[hops]]"), "assumptions[2].name", "declared twice")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Prf", "lower-case letters"),
        ("ind-cpa", "lower-case letters"),
        ("1prf", "lower-case letters"),
    ],
)
def test_bad_assumption_name(name, reason):
    text = edit('name = "prf"', f'name = "{name}"')
    expect(text, "assumptions[1].name", reason)


def test_bad_assumption_kind():
    expect(
        edit('name = "prf"', 'name = "prf"\nkind = "heuristic"'),
        "assumptions[1].kind",
        "must be 'standard' or 'behavioural'",
    )


def test_bad_game_name():
    expect(edit('game = "ind-cpa"', 'game = "IND CPA"'), "theorem.game", "must be a game name")


def test_params_must_be_plain_values():
    expect(
        edit("params = { n = 16, queries = 4 }", "params = { n = { x = 1 } }"),
        "theorem.params.n",
        "plain value",
    )


RANGE = 'low = 1, high = "2**20"'  # q's range in MINIMAL
SOURCE = 'param = "queries"'  # where q's value comes from


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('type = "integer"', 'type = "natural"', "domain.q.type", "must be 'integer' or 'real'"),
        (RANGE, "low = 5, high = 2", "domain.q", "empty range"),
        (RANGE, "low = 1.5, high = 4", "domain.q", "needs integer bounds"),
        (RANGE, 'low = "x", high = 4', "domain.q.low", "undeclared name 'x'"),
        (RANGE, 'low = "sqrt(2)", high = 4', "domain.q.low", "must be a rational number"),
        (RANGE, "high = 4", "domain.q.low", "is required but missing"),
        (RANGE, "low = 1, high = 4, step = 0", "domain.q.step", "positive integer"),
        (
            SOURCE,
            f'{SOURCE}, quantity = "Bad Name"',
            "domain.q.quantity",
            "must be a quantity name",
        ),
        (SOURCE, f"{SOURCE}, colour = 1", "domain.q.colour", "unknown key 'colour'"),
        ("q = { type", "adv_x = { type", "domain.adv_x", "must not start with 'adv_'"),
        ("q = { type", "log = { type", "domain.log", "is a function name"),
        ("q = { type", "if = { type", "domain.if", "must be a Python identifier"),
    ],
)
def test_bad_domain_entries(old, new, key, reason):
    expect(edit(old, new), key, reason)


def test_real_resources_take_fraction_bounds_and_no_step():
    text = edit(
        "[[assumptions]]", 'x = { type = "real", low = "1/3", high = 0.5 }\n\n[[assumptions]]'
    )
    proof = loads(text)
    assert proof.domain["x"].low == Fraction(1, 3) and proof.domain["x"].high == Fraction(1, 2)
    expect(
        edit(
            "[[assumptions]]",
            'x = { type = "real", low = 0, high = 1, step = 2 }\n\n[[assumptions]]',
        ),
        "domain.x.step",
        "integer resources only",
    )


def test_integer_step_trims_the_top_of_the_range():
    proof = loads(
        edit(
            'n = { type = "integer", low = 8, high = 64',
            'n = { type = "integer", low = 8, high = 63, step = 2',
        )
    )
    assert proof.domain["n"].high == 62
    assert proof.domain["n"].contains(10) and not proof.domain["n"].contains(11)


def test_references_must_be_strings():
    expect(
        edit('title = "t"', 'title = "t"\nreferences = [1]'),
        "proof.references[1]",
        "must be a string",
    )


# -- the record: what an empirical checker reads -------------------------------------------


def test_proof_record_exposes_what_a_checker_needs():
    proof = loads(MINIMAL, name="minimal")
    assert proof.theorem.game == "ind-cpa" and dict(proof.theorem.params) == {"n": 16, "queries": 4}
    (assumption,) = proof.assumptions
    assert (assumption.name, assumption.game, assumption.variable) == ("prf", "prf", "adv_prf")
    assert assumption.reduction == "proofs.crypto.reductions:prf_from_ctr"
    assert [hop.kind for hop in proof.hops] == ["assumption", "statistical", "assumption"]
    assert [hop.assumption for hop in proof.hops] == ["prf", None, "prf"]
    assert proof.hops[1].term.expr == sympy.sympify("q**2/2**n", locals=proof.symbols)
    assert proof.assumption("prf") is assumption
    with pytest.raises(KeyError, match="declared: prf"):
        proof.assumption("prp")


def test_bound_value_and_claim_value():
    proof = loads(MINIMAL, name="minimal")
    resources = proof.resource_values()
    assert resources == {"q": 4, "n": 16}
    assert proof.bound_value({**resources, "adv_prf": 0.01}) == pytest.approx(0.02 + 16 / 2**16)
    assert proof.assumptions[0].claim_value(resources) == pytest.approx(4 / 2**128)
    assert proof.assumptions[0].game_params(resources) == {"prf": "blake2", "queries": 4, "n": 16}
    with pytest.raises(InvalidArgument, match="no value given for adv_prf"):
        proof.bound_value(resources)


def test_bound_value_overflows_to_infinity():
    proof = loads(edit('bound = "2*adv_prf + q**2 / 2**n"', 'bound = "exp(q) + adv_prf"'))
    assert proof.bound_value({"q": 10**6, "n": 8, "adv_prf": 0}) == math.inf


def test_resource_values_from_params_given_and_checked_against_the_domain():
    proof = loads(MINIMAL, name="minimal")
    assert proof.resource_values(params={"queries": 64}) == {"q": 64, "n": 16}
    assert proof.resource_values(given={"q": 2}) == {"q": 2, "n": 16}
    with pytest.raises(
        InvalidArgument, match=r"q=0 is outside the proof's domain: q integer in \[1, 1048576\]"
    ):
        proof.resource_values(given={"q": 0})
    with pytest.raises(InvalidArgument, match="unknown resource z"):
        proof.resource_values(given={"z": 1})
    text = edit(', param = "queries" }', " }")
    with pytest.raises(InvalidArgument, match="resource 'q' has no value"):
        loads(text).resource_values()


def test_resource_from_a_registered_quantity():
    @proofs.quantity("test_double_queries")
    def double(params):
        return 2 * params["queries"]

    assert proofs.get_quantity("test_double_queries") is double
    assert "test_double_queries" in proofs.quantities()
    text = edit('param = "queries" }', 'quantity = "test_double_queries" }')
    assert loads(text).resource_values() == {"q": 8, "n": 16}


def test_quantity_registry_errors():
    with pytest.raises(InvalidArgument, match="quantity name 'Bad Name'"):
        proofs.quantity("Bad Name")
    with pytest.raises(InvalidArgument, match="must be a callable"):
        proofs.quantity("test_not_callable")(3)  # type: ignore[arg-type]

    @proofs.quantity("test_taken")
    def first(params):
        return 1.0

    proofs.quantity("test_taken")(first)  # the same function again is fine
    with pytest.raises(InvalidArgument, match="already registered"):

        @proofs.quantity("test_taken")
        def second(params):
            return 2.0

    with pytest.raises(
        InvalidArgument, match=r"unknown quantity 'test_takn'; did you mean test_taken\?"
    ):
        proofs.get_quantity("test_takn")


def test_unknown_quantity_is_reported_when_the_value_is_needed():
    text = edit('param = "queries" }', 'quantity = "test_never_registered" }')
    proof = loads(text)  # fine at load: the name is looked up only when needed
    with pytest.raises(InvalidArgument, match="unknown quantity 'test_never_registered'"):
        proof.resource_values()


def test_proof_error_survives_pickling():
    import pickle

    error = ProofError("bad", file="f.toml", key="theorem.bound")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.file, copy.key) == (str(error), "f.toml", "theorem.bound")


def test_readme_example_loads_and_is_proven():
    readme = (pathlib.Path(proofs.__file__).parent / "README.md").read_text()
    block = re.search(r"```toml\n(\[proof\].*?)```", readme, re.S)
    assert block is not None
    proof = loads(block.group(1), name="readme")
    assert [hop.kind for hop in proof.hops] == ["assumption", "statistical", "assumption"]
    assert proofs.check_symbolic(proof).status == "proven"


def test_installed_packages_add_proofs_through_an_entry_point(tmp_path, monkeypatch):
    from importlib import metadata

    import proofs.format as fmt

    package = tmp_path / "thirdparty_proofs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shipped = proofs.catalogue()["ctr-prf"].read_text()
    (package / "my-ctr.toml").write_text(shipped)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = metadata.EntryPoint(
        name="thirdparty", value="thirdparty_proofs", group="advantage.proofs"
    )
    monkeypatch.setattr(
        fmt.metadata, "entry_points", lambda group: [point] if group == "advantage.proofs" else []
    )
    found = proofs.catalogue()
    assert found["my-ctr"] == package / "my-ctr.toml" and "ctr-prf" in found
    assert proofs.load("my-ctr").theorem.game == "ind-cpa"
