"""The reductions of the proofs in proofs/lm: each turns an adversary A into B.

Every reduction has the signature ``reduction(adversary, theorem_params) -> B`` (see
:mod:`proofs.crypto.reductions`): A is an adversary against the theorem's game, the parameters
are that game's as played, and B is an adversary against the assumption's game.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from games.lm.watermark import MAX_REQUEST
from oracles import InvalidArgument, Oracle, Oracles
from proofs.crypto.reductions import FUNCTION, _child, _oracle

__all__ = [
    "PRFFromUndetectable",
    "ChangesFromInjection",
    "block_from_injection",
    "changes_from_injection",
    "hidden_from_forgery",
    "marked_from_injection",
    "outside_from_jailbreak",
    "perturbed_from_smooth",
    "prf_from_undetectable",
]


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


@attrs.frozen(kw_only=True)
class PRFFromUndetectable:
    """B against the PRF (64-bit points to 64-bit values): the watermarked model over B's ``f``.

    B loads the public model and answers A's ``generate(request)`` as the real world of
    ``watermark-undetectable`` does, with the scheme's uniforms read from ``f`` instead of
    the keyed PRF (each point asked once: both worlds of the PRF game are functions). B says
    what A says. When ``f`` is the PRF, A sees the real world; when it is a random function,
    it sees the scheme over fresh uniforms, which for one reply (``exp``: a repeated context
    is sampled from the model) is exactly the model's own sampling: the ideal world.
    """

    adversary: Any
    params: Mapping[str, Any]

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        from games.lm.watermark import Undetectable, _load, _public, _vocab

        game = Undetectable(**dict(self.params))
        model, mark = _load(game.model), game.mark()
        function = _memoised(_oracle(oracles, FUNCTION))

        def generate(request: str) -> tuple[int, ...]:
            if not isinstance(request, str) or not 0 < len(request) <= MAX_REQUEST:
                raise InvalidArgument(
                    f"request must be a non-empty string of at most {MAX_REQUEST} characters"
                )
            prompt = model.encode(request)
            (reply,) = mark.generate(model, function, [prompt], max_new_tokens=game.length, rng=rng)
            return tuple(reply)

        handles = Oracles(
            {"generate": Oracle(generate, name="generate", budget=game.queries)},
            _public(mark, _vocab(model), game.model),
        )
        return int(self.adversary(handles, _child(rng)))


def _memoised(f: Any) -> Any:
    """``f`` over arrays of points, asking each distinct point once."""
    table: dict[int, int] = {}

    def evaluate(points: np.ndarray) -> np.ndarray:
        values = []
        for x in points.tolist():
            if x not in table:
                table[x] = int(f(x))
            values.append(table[x])
        return np.array(values, dtype=np.uint64)

    return evaluate


def prf_from_undetectable(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``prf`` (``exp-undetectable``): B simulates the scheme over its oracle."""
    return PRFFromUndetectable(adversary=adversary, params=dict(theorem_params))


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


def unmediated_from_jailbreak(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``mediated`` (the ``refusal-subspace`` proof): B is A itself.

    ``refusal-unmediated`` is the ``jailbreak`` trial (forbidden recipe, no defense, the same
    coins for the item, the system prompt and the replies) with a refusal subspace S read on
    each prompt by the challenger afterwards; A's view is the same, and a reply that gives
    the recipe to a prompt S does not read as a named, complying request is B's win.
    """
    return adversary


def suppressed_from_jailbreak(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``unsuppressed`` (the ``refusal-subspace`` proof): B is A itself.

    ``refusal-suppressed`` is the same read trial: a prompt of A's that names the item and
    that S reads as "comply" is B's win. Every jailbreak win is a win of this B or of the
    ``mediated`` one, so Adv_jailbreak(A) ≤ Adv_unmediated(A) + Adv_suppressed(A).
    """
    return adversary


__all__ += ["suppressed_from_jailbreak", "unmediated_from_jailbreak"]


@attrs.frozen(kw_only=True)
class ChangesFromInjection:
    """B against ``prompt-injection-changes``: A's injection, and whether a sink echoes it.

    B plays A's challenger itself: it sets up ``prompt-injection`` with the theorem's
    parameters on its own coins (the agent, the defense and the task are public), so A's
    practice runs are answered exactly as in the theorem's game. B injects A's text once
    and answers 1 when a call's sink (a recipient or a file name, as the planner wrote it)
    occurs in A's text as a word: the planner acted on what A wrote. When the planner's calls do not
    depend on the email (b = 0 and b = 1 give the same calls), B's advantage is exactly 0.
    """

    adversary: Any
    params: Mapping[str, Any]

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        from games.lm.injection import PromptInjection

        simulated = PromptInjection(**dict(self.params)).setup(_child(rng)).handles()
        text = self.adversary(simulated, _child(rng))
        if not isinstance(text, str):
            return 0
        calls = oracles["inject"](text[: int(oracles.public["length"])])
        return int(any(_names(text, sink) for _, sink in calls))


def _names(text: str, sink: str) -> bool:
    """Whether ``text`` holds ``sink`` as a whole word (``budget.txt``, not ``.txt``)."""
    return bool(sink) and re.search(rf"(?<![\w.@]){re.escape(sink)}(?![\w@])", text) is not None


def changes_from_injection(adversary: Any, theorem_params: Mapping[str, Any]) -> Any:
    """Reduction for ``planner_blind`` (the ``dataflow`` proof): see :class:`ChangesFromInjection`."""
    return ChangesFromInjection(adversary=adversary, params=dict(theorem_params))
