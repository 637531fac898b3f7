"""Machine unlearning: can anyone tell a model that forgot S from one never trained on S?

The game (``unlearning``, :class:`Unlearning`, and its utility side ``unlearned-error``,
:class:`UnlearnedError`) is in :mod:`games.unlearning.games`; the
methods it tests (retrain, SISA, finetuning, gradient ascent, noisy descent) in
:mod:`games.unlearning.schemes`.
"""

from games.unlearning.games import FORGET, QUANTILE, Run, UnlearnedError, Unlearning
from games.unlearning.schemes import (
    METHODS,
    Finetune,
    Fit,
    GradientAscent,
    Model,
    NoisyDescent,
    NoisyDescentWeak,
    Retrain,
    Sisa,
    TrialModels,
    gaussian_epsilon,
)

__all__ = [
    "FORGET",
    "Finetune",
    "Fit",
    "GradientAscent",
    "METHODS",
    "Model",
    "NoisyDescent",
    "NoisyDescentWeak",
    "QUANTILE",
    "Retrain",
    "Run",
    "Sisa",
    "TrialModels",
    "UnlearnedError",
    "Unlearning",
    "gaussian_epsilon",
]
