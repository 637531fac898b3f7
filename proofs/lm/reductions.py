"""The reductions of the canonical-output-filter proof: each turns an adversary A into B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against ``jailbreak``, the parameters
are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["block_from_injection", "marked_from_injection", "outside_from_jailbreak"]


def outside_from_jailbreak(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``within_class``: B is A itself.

    ``leak-outside-class`` hands the adversary the model behind the reference canonical
    filter, with the system prompt, secret and sampling drawn from the same coins as
    ``jailbreak``: the filter is simulated by the challenger, so A's view there is its view
    against a correct canonical filter, and A plays unchanged. Against that filter a reply
    that goes out holding the secret under the judge's encodings holds it outside the
    class T (replies within T were replaced), which is exactly a win of
    ``leak-outside-class``. So Adv_jailbreak(A) ≤ Adv_leak-outside-class(A) whenever the
    defense implements the filter; where it does not, the gap is the algorithm's.
    """
    return adversary


def block_from_injection(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``in_block`` (the ``delimiters`` proof): B is A itself.

    ``injection-in-block`` is ``prompt-injection`` behind the reference block (a fresh
    random marker per call, escaped), with the world, task and practice runs drawn by the
    challenger: A's view there is its view against a correct delimiters defense, so A plays
    unchanged and its text lands inside a block it cannot close. Where the defense as
    deployed is that block, the two games are one; where it is not, the gap is the
    algorithm's.
    """
    return adversary


def marked_from_injection(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``in_marked_text`` (the ``spotlighting`` proof): B is A itself.

    ``injection-in-marked-text`` is ``prompt-injection`` behind the reference datamarking;
    A's injection is replayed there unchanged, so a win of A against a defense that marks as
    the reference does is a win of B: the agent followed marked text.
    """
    return adversary
