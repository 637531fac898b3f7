"""The reductions of the language-model proofs: each turns an adversary A into B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against ``jailbreak``, the parameters
are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["outside_from_jailbreak", "perturbed_from_smooth"]


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


def perturbed_from_smooth(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``per_copy`` (the ``smooth-llm`` proof): B is A itself.

    ``leak-perturbed`` answers each of A's prompts with the undefended model on one copy
    perturbed as SmoothLLM perturbs (fresh challenger coins, the theorem's rate), and
    judges one of A's queries drawn by the challenger: B's advantage is A's per-copy leak
    probability averaged over its queries, the p the binomial tail is taken at. A's view
    differs from the theorem's only in that it sees a copy's reply instead of the vote's,
    which a non-adaptive attack (templates, best-of-n, smooth-llm-aware) never reads.
    """
    return adversary
