"""Quantities of the privacy proofs: the (ε, δ) that a DP trainer claims, by name.

``dp_sgd_epsilon`` is the ε that the game's trainer claims for its training set, from an
established accountant (:mod:`games.privacy.accounting`: the RDP accountant of the
Poisson-subsampled Gaussian mechanism), at ``δ = DELTA``; ``dp_sgd_delta`` is that δ.
Both take the membership game's parameters. The privacy games (and torch) are imported
when a value is computed, so ``import proofs`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from games.privacy.accounting import DELTA  # the δ at which every trainer's ε is stated
from proofs.quantities import quantity

__all__ = ["ACCOUNTANT", "DELTA", "dp_sgd_delta", "dp_sgd_epsilon"]

#: The accountant that computes ε: Rényi DP, an upper bound on the mechanism's true ε.
ACCOUNTANT = "rdp"


@quantity("dp_sgd_epsilon")
def dp_sgd_epsilon(params: Mapping[str, Any]) -> float:
    """ε at δ = :data:`DELTA` that the membership game's trainer claims (DP trainers only).

    Args:
        params: the membership game's parameters (its defaults fill what is missing).

    Raises:
        InvalidArgument: a trainer that makes no DP claim, bad parameters, or no
            accounting library installed.
    """
    from games.privacy.membership import Membership

    return Membership(**params).epsilon(DELTA, accountant=ACCOUNTANT)


@quantity("dp_sgd_delta")
def dp_sgd_delta(params: Mapping[str, Any]) -> float:
    """The δ at which :func:`dp_sgd_epsilon` states ε (the same for every game)."""
    return DELTA
