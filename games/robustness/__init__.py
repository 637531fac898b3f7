"""Adversarial robustness: evasion attacks against defended classifiers, and certified radii.

The games (:mod:`games.robustness.games`): ``evasion``, ``clean-error`` (a defense's
utility), ``pgd-gap`` (the assumption of the ``gradient-masking`` proof) and
``certified-radius`` (the theorem of ``randomized-smoothing``). Beside them: the data sets (:mod:`~games.robustness.data`,
which needs no torch), the models (:mod:`~games.robustness.models`), the defenses
(:mod:`~games.robustness.defenses`) and the perturbation machinery both sides share
(:mod:`~games.robustness.perturb`). The names below are imported on first use, so that
importing the package (or its data sets) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ACCESS",
    "ARCHITECTURES",
    "DATASETS",
    "DEFENSES",
    "MODELS",
    "NORMS",
    "CertifiedRadius",
    "CleanError",
    "Defended",
    "Evasion",
    "ModelSpec",
    "PgdGap",
    "Task",
    "load",
    "trained",
]

_HOME = {
    "ACCESS": "games",
    "CertifiedRadius": "games",
    "CleanError": "clean",
    "Evasion": "games",
    "PgdGap": "games",
    "DATASETS": "data",
    "NORMS": "data",
    "Task": "data",
    "load": "data",
    "DEFENSES": "defenses",
    "Defended": "defenses",
    "ARCHITECTURES": "models",
    "MODELS": "models",
    "ModelSpec": "models",
    "trained": "models",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'games.robustness' has no attribute {name!r}")
    return getattr(importlib.import_module(f"games.robustness.{_HOME[name]}"), name)
