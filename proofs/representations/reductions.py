"""The reductions of the concept-erasure proofs: each turns an adversary A into an adversary B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against ``concept-erasure``, the
parameters are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adversaries.representations import ErasureDistinguisher
from oracles import InvalidArgument
from proofs.reductions import theorem_param

__all__ = ["two_moment_from_erasure"]


def two_moment_from_erasure(
    adversary: Any, theorem_params: Mapping[str, Any]
) -> ErasureDistinguisher:
    """Reduction for ``leace``: A against ``concept-erasure`` to D against ``two-moment``.

    D (the ``erasure-distinguisher`` adversary) plays one ``concept-erasure`` trial with
    ``two-moment``'s labelled sample, with the theorem's eraser, ``fit_size`` and
    ``budget``, and answers 1 when A guesses the concept. In the real world that is a
    trial of the theorem's game, in the ideal world a trial on the source's Gaussian twin,
    so Adv_CE(A) = 2·Adv_TM(D) + Adv_twin(A): the first hop of the proof, exactly.

    Raises:
        InvalidArgument: the theorem's game is played on the twin (``twin=true``): it is
            already the ideal world, and D would compare the source with it.
    """
    if theorem_params.get("twin", False):
        raise InvalidArgument(
            "twin=true plays the theorem's game on the Gaussian twin, the ideal world of "
            "two-moment itself; check the proof with twin=false"
        )
    return ErasureDistinguisher(
        inner=adversary,
        eraser=theorem_param(theorem_params, "eraser"),
        fit_size=int(theorem_param(theorem_params, "fit_size")),
        budget=int(theorem_param(theorem_params, "budget")),
        iterations=int(theorem_param(theorem_params, "iterations")),
    )
