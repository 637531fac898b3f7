"""Proofs: assumptions, reductions, bound expressions, proof files and their checks.

A proof file (TOML, format in ``proofs/README.md``) states a theorem about a game, the
assumptions it rests on with their claimed bounds and reductions, the chain of hops, and
the domain of the resources. Bounds are parsed without executing anything, reductions are
imported only from the modules :mod:`proofs.resolve` allows, and every symbolic step has a
time budget and a size cap (:mod:`proofs.limits`). The symbolic check proves that the
bound covers the chain of hops; the empirical check plays the games against an adversary
and its reductions and says which part failed.

Where things live: reading files (``format``, ``expressions``, ``model``, ``resolve``,
``quantities``); the symbolic check (``symbolic``: which hops a bound fails to cover,
over ``deciders``: sympy, z3, Hypothesis, and ``exact``: the domain's variables and exact
arithmetic); the empirical check (``empirical``: plan → play → judge, over ``plan``: the
games and adversaries to play, and ``verdict``: the judgement); the reports both return
(``reports``); ``explain``; the domains' reductions and quantities (``proofs/<domain>/``).

    >>> import proofs
    >>> proof = proofs.load("ctr-prf")
    >>> proofs.check_symbolic(proof).status
    'proven'
"""

from proofs.deciders import Decision, decide_inequality
from proofs.empirical import check_empirical
from proofs.errors import ProofError, UnknownProof
from proofs.explain import explain
from proofs.expressions import FUNCTIONS, parse_expression
from proofs.format import catalogue, load, loads
from proofs.model import Assumption, Domain, Expression, Hop, Proof, Resource, Theorem
from proofs.quantities import get_quantity, quantities, quantity
from proofs.reports import AssumptionCheck, EmpiricalReport, Finding, HopCheck, SymbolicReport
from proofs.resolve import import_user
from proofs.symbolic import check_symbolic, decide

__all__ = [
    "FUNCTIONS",
    "Assumption",
    "AssumptionCheck",
    "Decision",
    "Domain",
    "EmpiricalReport",
    "Expression",
    "Finding",
    "Hop",
    "HopCheck",
    "Proof",
    "ProofError",
    "Resource",
    "SymbolicReport",
    "Theorem",
    "UnknownProof",
    "catalogue",
    "check_empirical",
    "check_symbolic",
    "decide",
    "decide_inequality",
    "explain",
    "get_quantity",
    "import_user",
    "load",
    "loads",
    "parse_expression",
    "quantities",
    "quantity",
]
