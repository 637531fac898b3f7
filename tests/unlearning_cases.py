"""Unlearning games that several tests play, and a draw of their challengers' coins."""

from __future__ import annotations

from typing import Any

import numpy as np


def small(**params: Any) -> Any:
    """A small unlearning game (48 records, 4 forgotten) that trains in a blink."""
    from games.unlearning import Unlearning

    base = {"training_size": 48, "forget_size": 4, "epochs": 3, "batch_size": 16}
    return Unlearning(**{**base, **params})


def noisy(**params: Any) -> Any:
    """A small game of noisy descent, whose claim is far from vacuous."""
    from games.unlearning import Unlearning

    base = {
        "method": "noisy-descent",
        "training_size": 48,
        "forget_size": 4,
        "epochs": 30,
        "unlearn_epochs": 2,
        "l2": 0.5,
        "noise": 0.1,
        "delta": 0.01,
    }
    return Unlearning(**{**base, **params})


def draw_of(game: Any, worlds: Any, seed: int = 0) -> Any:
    """The challenger's draw (D, S, seeds) for trials in ``worlds``, from ``seed``."""
    return game._draw(np.asarray(worlds), np.random.default_rng(seed).spawn(len(worlds)))
