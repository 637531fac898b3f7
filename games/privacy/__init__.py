"""Privacy: membership inference against models trained with SGD or DP-SGD.

Importing this package imports torch; nothing in ``games`` imports it.
"""

from games.privacy.data import DATASETS, Dataset, load
from games.privacy.training import (
    DPSGD,
    MODELS,
    SGD,
    TRAINERS,
    DPSGDNoClip,
    Network,
    Opacus,
    Trained,
    Trainer,
    make_trainer,
    network,
)

__all__ = [
    "DATASETS",
    "DPSGD",
    "MODELS",
    "SGD",
    "TRAINERS",
    "DPSGDNoClip",
    "Dataset",
    "Network",
    "Opacus",
    "Trained",
    "Trainer",
    "load",
    "make_trainer",
    "network",
]
