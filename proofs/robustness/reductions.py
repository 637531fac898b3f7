"""The reductions of the gradient-masking proof: each turns an adversary A into an adversary B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against ``evasion``, the parameters
are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["reference_pgd", "search_from_evasion"]


def reference_pgd(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``pgd_robust``: B is the reference PGD itself, whatever A is.

    The assumption is the defense's own claim, that it resists the PGD attack its authors
    evaluated it with; B is that attack (20 steps of 2.5ε/20 from one random start on the
    cross-entropy, through the defended forward pass): the same as ``pgd-gap``'s reference.
    A plays no part in it (the hop it justifies is about the reference, not about A).
    """
    from adversaries.robustness import Pgd

    return Pgd(steps=20, restarts=1)


def search_from_evasion(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``gradient_search``: B is A itself.

    ``pgd-gap`` hands the adversary exactly what ``evasion`` does (the same point, oracles
    and public values, drawn from the same coins), so A plays it unchanged; it wins there
    when its point is adversarial and the challenger's reference PGD found none at that
    point. So Pr[A wins evasion] ≤ Pr[the reference wins] + Adv_pgd-gap(A), trial by trial:
    the two hops of the proof.
    """
    return adversary
