"""Quantities of the unlearning proofs: the (ε, δ) that a certified unlearning method claims.

``unlearning_epsilon`` is the ε of the method's claim, computed from the game's parameters
(regularisation, steps, forget-set and training-set sizes, noise, δ) by the theorem stated
on :class:`games.unlearning.NoisyDescent`; δ is the game's own ``delta`` parameter. The
game (and torch) is imported when a value is computed, so ``import proofs`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proofs.quantities import quantity

__all__ = ["unlearning_epsilon"]


@quantity("unlearning_epsilon")
def unlearning_epsilon(params: Mapping[str, Any]) -> float:
    """ε that the unlearning game's method claims at the game's δ (certified methods only).

    Args:
        params: the unlearning game's parameters (its defaults fill what is missing).

    Raises:
        InvalidArgument: a method that makes no (ε, δ) claim, or bad parameters.
    """
    from games.unlearning import Unlearning

    return Unlearning(**params).epsilon()
