"""``clean-error``: a robustness defense's cost as a game, next to the attacks on it.

A test point, any of them, and the trial is won when the defended classifier mislabels it;
the adversary's answer is not read, so the win rate is 1 − the defense's clean accuracy.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import torch

from games.base import Challenge
from games.params import fixed
from games.registry import register
from games.robustness.games import Evasion, torch_coins

__all__ = ["CleanError"]


@register("clean-error")
@attrs.frozen(kw_only=True)
class CleanError(Evasion):
    """Clean error: how often the defense mislabels a test point that nobody attacked.

    The utility side of ``evasion`` as a game, so that reports put a defense's cost next to
    the attacks' advantages (a classifier that abstains everywhere is robust and useless):
    the challenger draws a test point, any of them, and the trial is "won" when the defended
    classifier, with the trial's judgement noise, does not name its label (an abstention of
    ``smoothing`` is a miss). The adversary is handed the point as in ``evasion`` and no
    oracle, and its answer is not read, so the win rate is 1 − the defense's clean accuracy
    on the test set; play it with ``clean`` (an adversary that raises loses its trials, and
    the run counts them as errors). ``eps`` is the radius adversarial training trains
    for; ``evasion``'s ``access`` and ``queries`` are no parameters here.
    """

    cost_game: ClassVar[str | None] = None  # it is one
    access: str = fixed("white-box")  # no oracle is given, and the public view omits it
    queries: int = fixed(0)

    def _setup(self, size: int, rng: np.random.Generator, *, single: bool) -> Challenge:
        classifier = self.defended()
        task = self.task()
        noise = classifier.judgement(size, task.dims, torch_coins(rng))
        drawn_x, drawn_y = task.draw(rng, size)
        X = torch.from_numpy(np.array(drawn_x)).to(classifier.device)
        Y = torch.from_numpy(np.array(drawn_y)).to(classifier.device)
        eps = torch.full((size,), float(self.eps), dtype=torch.float64, device=X.device)
        missed = classifier.predict(X, noise) != Y
        public = self._public(X, Y, eps, single)
        del public["access"]  # evasion's: no oracle is given here, of any access
        return Challenge(public=public, secret={"missed": missed})

    def _wins(self, challenge: Challenge, answers: Any, single: bool) -> np.ndarray:
        return challenge.secret["missed"].cpu().numpy()  # the answer is not read
