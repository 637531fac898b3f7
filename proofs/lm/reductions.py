"""The reductions of the proofs in proofs/lm: each turns an adversary A into B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against the theorem's game, the parameters
are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["hidden_from_forgery", "outside_from_jailbreak"]


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


def hidden_from_forgery(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``green_hidden`` (``unigram-unforgeable``): B is A itself.

    ``green-list-hidden`` hands the adversary the oracle and public values of
    ``watermark-forgery`` (the same watermarked model, target prompt and requests, from the
    same coins), so A's view there is its view in the forgery game. B's answer is A's
    text: with ``h = 0`` the detector scores each distinct token once, so the text is
    flagged exactly when the set of its tokens is green beyond chance, which is B's win;
    B's game refuses no copies, so every forgery of A is a win of B.
    """
    return adversary
