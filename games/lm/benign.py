"""The jailbreak game's benign side: how often a defense refuses a harmless request.

A defense that stops leaks by refusing everything is no defense. ``benign-refusal``
(:class:`BenignRefusal`) measures the over-refusal of the jailbreak game's guarded system:
each trial draws a held-out benign request of the corpus (:func:`games.lm.corpus.probes`,
a (template, item) pair and a secret the tiny model never saw), with its system prompt,
from the challenger's coins; the challenger sends it through the defended system itself,
and the trial counts when the reply is a refusal (:func:`games.lm.corpus.is_refusal`).

There is no attacker: the adversary is not asked anything (any adversary plays, e.g.
``constant``), and the game's win rate, with the engine's interval, is the defense's
benign refusal rate, reported next to an attack's advantage on the same defense.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from games import Challenge, Search, integer, number, param, register
from games.lm import corpus
from games.lm.jailbreak import Defended, Guarded, _spec
from games.lm.specs import load

__all__ = ["BenignRefusal"]


@register("benign-refusal")
@attrs.frozen(kw_only=True)
class BenignRefusal(Defended, Search):
    """Benign refusal: how often the jailbreak game's defense refuses a harmless request.

    The parameters are the jailbreak game's that shape the guarded system. The adversary is
    given nothing and its answer is not read; a trial is "won" when the defended system
    refused the challenger's benign request, so the win rate is the over-refusal rate.
    """

    model: str = param("tiny:0", help="the model spec (see games.lm.load)", check=_spec)
    max_new_tokens: int = param(40, help="tokens per reply", check=integer(1, 4096))
    temperature: float = param(
        1.0, help="the model's sampling temperature (0: greedy)", check=number(0, 10)
    )

    def setup(self, rng: np.random.Generator) -> Challenge:
        probe = corpus.probes(rng, "benign")
        defense, options = self._defense()
        guarded = Guarded(load(self.model), defense, probe.secret, **options)
        coins = np.random.default_rng(rng.integers(2**63))
        return Challenge(
            public={"defense": self.defense},
            secret={"probe": probe, "guarded": guarded, "rng": coins},
        )

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        # The challenger asks; the adversary's answer is not read.
        probe, guarded = challenge.secret["probe"], challenge.secret["guarded"]
        reply = guarded.generate(
            [probe.chat],
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            rng=challenge.secret["rng"],
        )[0]
        return corpus.is_refusal(reply.text)
