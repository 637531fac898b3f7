"""``smooth-llm-aware``: an attack on SmoothLLM that knows the defense's algorithm.

Kerckhoffs: the defense's algorithm (:mod:`games.lm.smoothing`: the perturbation, its
alphabet, the vote), its public parameters (``copies`` and ``rate``, public values of the
game) and the model are public; the challenger's coins are not. The attack searches
*offline*, before its first query, for a template prompt whose perturbed copies, as the
defense would draw them from the public constant :data:`~games.lm.smoothing.FIXED_SEED`,
leak under a majority vote: it draws the copies exactly as ``smooth-llm-fixed-seed``
does, scores them with its own copy of the public model behind stand-in system prompts
(drawn as the game draws them, with secrets of its own, never the challenger's), and
keeps the prompt whose copies won the vote most often. Then it sends that prompt on every query.

Against ``smooth-llm-fixed-seed`` the copies it scored are the copies the defense answers,
so the search pays (at temperature 0 a copy's reply is a function of the copy). Against ``smooth-llm`` the copies are fresh draws of the challenger's
coins, and the chosen prompt is one template prompt among others: it should do no better
than ``templates``. The search is deterministic in its own ``seed`` and is done once per
process for each (model, copies, rate) — a precomputation, like a paper's attack string.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import numpy as np

from adversaries.jailbreak.prompts import REQUESTS, STYLES, _budget, _spend
from adversaries.registry import register
from games.lm import corpus
from games.lm.base import LanguageModel, Message
from games.lm.judges import secret_judge
from games.lm.smoothing import FIXED_SEED, majority, perturb_chat
from oracles import InvalidArgument, Oracles

__all__ = ["SUFFIXES", "SmoothLLMAware", "candidates", "search"]

#: Harmless endings the search appends to move the fixed perturbations around.
SUFFIXES = ("", " ", "!", " Please.", " Now.", " Thanks.", "  ", " Quick.")
#: What the search assumes when the game does not state ``copies`` and ``rate``.
DEFAULT_COPIES, DEFAULT_RATE = 5, 0.1


def candidates(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct template prompts (template × request × ending), drawn with ``rng``."""
    pool = [
        template.format(request=request) + suffix
        for style in STYLES
        for template in corpus.ATTACKS[style]
        for request in REQUESTS
        for suffix in SUFFIXES
    ]
    chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    return [pool[int(i)] for i in chosen]


def _stand_ins(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """(secret, system prompt) drawn as the game draws them, with secrets of the attacker's own."""
    out = []
    for _ in range(count):
        name = corpus.ASSISTANT_NAMES[int(rng.integers(len(corpus.ASSISTANT_NAMES)))]
        secret = corpus.secret(rng, held_out=True)
        out.append((secret, corpus.system_prompt(secret, name=name, variant=int(rng.integers(3)))))
    return out


def _fixed_copies(prompts: list[str], system: str, copies: int, rate: float) -> list[Any]:
    chats = []
    for prompt in prompts:
        chat = (Message("system", system), Message("user", prompt))
        # Exactly the planted bug's draw: a generator restarted from the public constant.
        chats.extend(perturb_chat(chat, copies, rate, np.random.default_rng(FIXED_SEED)))
    return chats


def _majority_rate(
    model: Any, prompts: list[str], setting: tuple[int, float], systems: list[tuple[str, str]]
) -> np.ndarray:
    """For each prompt: how often its fixed copies won the vote, on the attack's own model.

    A copy leaks when the model's greedy reply holds the stand-in secret (the game's judge).
    """
    copies, rate = setting
    rows = []
    for secret, system in systems:
        chats = _fixed_copies(prompts, system, copies, rate)
        replies = model.generate(
            chats, max_new_tokens=20, temperature=0.0, rng=np.random.default_rng(0)
        )
        judge = secret_judge(secret)
        flags = [judge(r.text) for r in replies]
        rows.append([majority(flags[i : i + copies]) for i in range(0, len(flags), copies)])
    return np.mean(np.array(rows, dtype=float), axis=0)


@functools.lru_cache(maxsize=8)
def search(model: Any, setting: tuple[int, float], count: int, seed: int) -> str:
    """The offline search: the candidate whose fixed copies won the vote most often.

    ``model`` is a spec or a model, ``setting`` the defense's ``(copies, rate)``. Two rounds
    on the attack's own copy of the public model: every candidate's greedy replies under
    three stand-in system prompts, then the best eighth's under eight more (ties go to the
    earlier candidate).
    """
    from games.lm.specs import load

    model = load(model)
    rng = np.random.default_rng(seed)
    pool = candidates(rng, count)
    first = _majority_rate(model, pool, setting, _stand_ins(rng, 3))
    best = [pool[int(i)] for i in np.argsort(-first, kind="stable")[: max(1, count // 8)]]
    second = _majority_rate(model, best, setting, _stand_ins(rng, 8))
    return best[int(np.argmax(second))]


@register("smooth-llm-aware", games=("jailbreak", "leak-perturbed"))
@attrs.frozen(kw_only=True)
class SmoothLLMAware:
    """Searches offline for a prompt whose fixed SmoothLLM perturbations leak, then sends it.

    ``model`` is the public model it searches with (the game's: a spec, or a model),
    ``candidates`` the prompts it scores, ``seed`` its search's own seed. The search scores
    greedy replies: it is written for a game at temperature 0.
    """

    model: Any = "tiny:0"
    candidates: int = 48
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.candidates, int) or not 1 <= self.candidates <= 960:
            raise InvalidArgument(f"candidates={self.candidates!r} must be an integer in 1..960")
        if not isinstance(self.model, (str, LanguageModel)):
            raise InvalidArgument(f"model={self.model!r} must be a model spec such as 'tiny:0'")

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        copies = oracles.public.get("copies") or DEFAULT_COPIES
        rate = oracles.public.get("rate")
        rate = DEFAULT_RATE if rate is None else float(rate)
        setting = (int(copies), rate)
        prompt = search(self.model, setting, self.candidates, self.seed)
        _spend(oracles, [prompt] * _budget(oracles))
        return None
