"""What the domains' reductions share: reading the theorem game's parameters.

A reduction is called as ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`), with the theorem game's parameters as played.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oracles import InvalidArgument

__all__ = ["theorem_param"]


def theorem_param(params: Mapping[str, Any], name: str) -> Any:
    """The theorem game's parameter ``name``, which the reduction cannot do without.

    Raises:
        InvalidArgument: the theorem's game has no such parameter.
    """
    if name not in params:
        raise InvalidArgument(f"the theorem's parameters must set {name!r} for this reduction")
    return params[name]
