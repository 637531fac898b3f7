"""The symbolic check: does the theorem's bound cover the sum of the hops, over the whole domain?

For every value of the resources in the declared domain and every assumption advantage
in [0, 1], the claimed bound must be at least the sum of the hops' terms; the deciders of
:mod:`proofs.deciders` (sympy, then z3, then a Hypothesis search) settle it.

When the claim fails, the report says which hop's term the bound does not cover: it
compares each assumption's coefficient in the bound with the number of hops that cite
it, and checks the bound (with every advantage 0) against each statistical hop's term
alone and with one term left out.
"""

from __future__ import annotations

import attrs
import sympy

from proofs.deciders import Decision, Steps, decide_inequality, decide_within
from proofs.limits import TIME_LIMIT
from proofs.model import Domain, Proof, checked_proof
from proofs.reports import Finding, Status, SymbolicReport

__all__ = [
    "Decision",
    "Finding",
    "SymbolicReport",
    "check_symbolic",
    "decide",
    "decide_inequality",
]

#: The old name of :func:`proofs.deciders.decide_inequality`, kept importable.
decide = decide_inequality


def check_symbolic(
    proof: Proof,
    *,
    samples: int = 300,
    timeout_ms: int = 3000,
    time_limit: float = TIME_LIMIT,
) -> SymbolicReport:
    """Check that the theorem's bound covers the sum of the hops over the whole domain.

    Args:
        proof: a loaded proof (:func:`proofs.load`).
        samples: the most points Hypothesis tries per question when sympy and z3 cannot
            decide it.
        timeout_ms: z3's time limit per query.
        time_limit: seconds each step of the check may take (see
            :func:`proofs.decide_inequality`).

    Returns:
        A :class:`SymbolicReport`; when the bound is refuted its ``findings`` name the
        hops whose terms the bound does not cover.

    Raises:
        ProofError: a step ran past ``time_limit`` or needed an exact number beyond
            :data:`proofs.limits.MAX_BITS` bits; the message names the file, the key
            (``theorem.bound``, or the hop a finding is about) and the limit.
    """
    proof = checked_proof(proof)
    steps = Steps.checked(
        samples=samples,
        timeout_ms=timeout_ms,
        time_limit=time_limit,
        file=proof.file,
        key="theorem.bound",
    )
    claimed = proof.theorem.bound.expr
    chain = proof.chain
    if not proof.hops:
        return SymbolicReport(
            proof=proof.name,
            status="unchecked",
            method=None,
            claimed=claimed,
            chain=chain,
            difference=claimed,
            equal=False,
            detail="unchecked: the file gives no hops to check the bound against",
        )
    decision, difference = decide_within(chain, claimed, proof.domain, steps)
    findings: tuple[Finding, ...] = ()
    if decision.holds is False:
        findings = _findings(proof, claimed, steps)
    elif decision.holds:
        decision, findings = _signed(decision, proof, steps)
    status: Status = {True: "proven", False: "refuted", None: "undecided"}[decision.holds]  # type: ignore[assignment]
    return SymbolicReport(
        proof=proof.name,
        status=status,
        method=decision.method,
        claimed=claimed,
        chain=chain,
        difference=difference,
        equal=difference == 0,
        detail=decision.detail,
        counterexample=decision.counterexample,
        samples=decision.samples,
        findings=findings,
    )


# -- hops whose cost could be negative ---------------------------------------------------


def _signed(decision: Decision, proof: Proof, steps: Steps) -> tuple[Decision, tuple[Finding, ...]]:
    """A chain that covers the bound proves it only if no hop's cost is negative (a negative
    term or count would cancel what other hops cost): ``decision``, refuted when one is."""
    findings, searched = _negative_costs(proof, steps)
    if findings:
        detail = (
            f"{decision.detail}; but {len(findings)} hop(s) could cost less than nothing (below)"
        )
        return attrs.evolve(decision, holds=False, detail=detail), findings
    if searched:
        # Signs that neither sympy nor z3 could prove (exp, a real power) were searched by
        # Hypothesis over the domain without a counterexample: said, not hidden.
        detail = f"{decision.detail}; searched without a counterexample, not proven: "
        return attrs.evolve(decision, detail=detail + "; ".join(searched)), findings
    return decision, findings


def _negative_costs(proof: Proof, steps: Steps) -> tuple[tuple[Finding, ...], list[str]]:
    """The hops whose count or statistical term can be below 0 in the domain (findings), and
    those whose sign could only be searched, not proven (in words). (A count may be 0: a hybrid
    argument over q queries takes q − 1 hops, none at q = 1.)"""
    findings: list[Finding] = []
    searched: list[str] = []
    zero = sympy.Integer(0)
    for hop in proof.hops:
        if hop.kind == "perfect":
            continue
        checks = [(hop.count.expr, "count", f"{hop.key}.count")]
        if hop.kind == "statistical":
            checks.append((hop.term.expr, "term", f"{hop.key}.by"))
        for value, what, key in checks:
            if not value.free_symbols and value >= zero:
                continue  # the common case: a number, and not a negative one
            decision = _holds(zero, value, proof.domain, steps.at(key))
            if decision.holds is False:
                findings.append(
                    Finding(
                        hops=(hop.index,),
                        term=value,
                        message=f"{hop.label}: its {what} {value} is below 0 in the domain "
                        "(a hop costs at least 0, and cannot be taken fewer than 0 times)",
                        counterexample=decision.counterexample,
                    )
                )
            elif decision.holds is None:
                searched.append(f"{hop.label}'s {what} {value} at least 0")
    return tuple(findings), searched


# -- which hops the bound does not cover --------------------------------------------------


def _findings(proof: Proof, claimed: sympy.Expr, steps: Steps) -> tuple[Finding, ...]:
    """The hops whose terms a refuted bound does not cover, by kind of term."""
    findings, linear = _assumption_findings(proof, claimed, steps)
    findings += _statistical_findings(proof, claimed, steps)
    if not findings:
        findings += _culprit_findings(proof, claimed, steps, linear)
    return tuple(findings)


def _holds(lower: sympy.Expr, upper: sympy.Expr, domain: Domain, steps: Steps) -> Decision:
    return decide_within(lower, upper, domain, steps)[0]


def _coefficient(expr: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr | None:
    """The coefficient of ``symbol`` in ``expr`` if ``expr`` is linear in it, else None."""
    slope = sympy.simplify(sympy.diff(expr, symbol))
    return None if slope.has(symbol) else slope


def _assumption_findings(
    proof: Proof, claimed: sympy.Expr, steps: Steps
) -> tuple[list[Finding], bool]:
    """Each assumption: the bound must carry adv_NAME as many times as hops cite it.

    Returns the findings, and whether the bound is linear in every advantage (when it is
    not, its coefficients say nothing).
    """
    findings: list[Finding] = []
    advantages = {a.symbol for a in proof.assumptions}
    linear = True
    for assumption in proof.assumptions:
        cited = [
            hop
            for hop in proof.hops
            if hop.kind == "assumption" and hop.assumption == assumption.name
        ]
        if not cited:
            continue
        needed = sympy.Add(*(hop.count.expr for hop in cited))
        covered = steps.run(
            _coefficient,
            claimed,
            assumption.symbol,
            what=f"sympy's coefficient of {assumption.variable}",
        )
        if covered is None or covered.free_symbols & advantages:
            linear = False
            continue
        decision = _holds(needed, covered, proof.domain, steps.at(f"{cited[0].key}.by"))
        if decision.holds is False:
            indices = tuple(hop.index for hop in cited)
            findings.append(
                Finding(
                    hops=indices,
                    term=sympy.Mul(needed, assumption.symbol),
                    message=(
                        f"assumption {assumption.name!r} is cited by hop{'s' if len(indices) > 1 else ''} "
                        f"{', '.join(map(str, indices))} ({needed}·{assumption.variable} in all) "
                        f"but the bound covers only {covered}·{assumption.variable}"
                    ),
                    counterexample=decision.counterexample,
                )
            )
    return findings, linear


def _statistical_findings(proof: Proof, claimed: sympy.Expr, steps: Steps) -> list[Finding]:
    """The statistical hops: with every advantage 0 the bound must still cover them, each
    alone and all together (naming the terms whose removal would fix it)."""
    domain = proof.domain
    base = claimed.xreplace(dict.fromkeys((a.symbol for a in proof.assumptions), sympy.Integer(0)))
    statistical = [hop for hop in proof.hops if hop.kind == "statistical"]
    findings = []
    for hop in statistical:
        decision = _holds(hop.total, base, domain, steps.at(f"{hop.key}.by"))
        if decision.holds is False:
            findings.append(
                Finding(
                    hops=(hop.index,),
                    term=hop.total,
                    message=(
                        f"{hop.label}: its term {hop.total} is not covered by the bound "
                        f"(with every advantage 0 the bound is {base})"
                    ),
                    counterexample=decision.counterexample,
                )
            )
    if not statistical or findings:
        return findings
    total = sympy.Add(*(hop.total for hop in statistical))
    together = _holds(total, base, domain, steps)
    if together.holds is not False:
        return findings
    fixes = [
        hop
        for hop in statistical
        if _holds(total - hop.total, base, domain, steps.at(f"{hop.key}.by")).holds
    ]
    named = fixes or statistical
    message = (
        "the bound covers each statistical term alone but not their sum; "
        f"it would cover the chain without the term of: {', '.join(hop.label for hop in named)}"
    )
    return [
        Finding(
            hops=tuple(hop.index for hop in named),
            term=total,
            message=message,
            counterexample=together.counterexample,
        )
    ]


def _culprit_findings(
    proof: Proof, claimed: sympy.Expr, steps: Steps, linear: bool
) -> list[Finding]:
    """Nothing to pin on one kind of term: name the hops whose removal would fix it."""
    chain = proof.chain
    culprits = [
        hop
        for hop in proof.hops
        if hop.kind != "perfect"
        and _holds(chain - hop.total, claimed, proof.domain, steps.at(f"{hop.key}.by")).holds
    ]
    if culprits:
        return [
            Finding(
                hops=tuple(hop.index for hop in culprits),
                term=sympy.Add(*(hop.total for hop in culprits)),
                message=(
                    "the bound falls short of the chain; it would cover it without the term "
                    "of: " + ", ".join(hop.label for hop in culprits)
                ),
            )
        ]
    if not linear:
        return [
            Finding(
                hops=(),
                term=chain,
                message="the bound falls short of the chain; no single hop explains it",
            )
        ]
    return []
