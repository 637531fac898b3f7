"""How a trial can end other than by a fair answer: the engine's outcome exceptions.

``TrialFailed``: the challenger's side failed (reported; left out of the counts, or the
adversary's loss when it failed while answering a query).
``InvalidAnswer``: the adversary's answer is not one the game accepts (the adversary's loss).
``TrialTimeout``: the adversary ran past the trial timeout (its loss). The project's own
errors all derive from :class:`oracles.AdvantageError`.
"""

from __future__ import annotations

from oracles import AdvantageError

__all__ = ["InvalidAnswer", "TrialFailed", "TrialTimeout"]


class InvalidAnswer(AdvantageError, ValueError):
    """The adversary's answer is not one the game accepts (None, NaN, not a bit...)."""


class TrialFailed(AdvantageError, RuntimeError):
    """The challenger's side of a trial failed (a model's loss became NaN, say).

    The engine reports it with the trial's index and seed; it is never averaged away. Raised
    before the adversary plays (in ``setup``), it leaves the trial out of the counts
    (``game-failed``); raised by an oracle while answering, it is the adversary's loss
    (``oracle-failed``): its queries may have set it off, and a failure that only a
    member's training hits would otherwise let it drop the trials it would lose.
    """


class TrialTimeout(BaseException):
    """The adversary ran past the run's trial timeout; the trial is its loss.

    A BaseException, so that an adversary's ``except Exception`` does not swallow it.
    """
