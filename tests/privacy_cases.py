"""Membership games that several privacy tests play (the game, its attacks, the audits)."""

from __future__ import annotations

from typing import Any

#: The README's audit example: σ = 3 and q = 1/4 over 8 steps, so dp-sgd's claim is far from
#: vacuous (ε ≈ 1.2 at δ = 1e-5 on 64 records; the advantage bound ≈ 0.53).
README = {"training_size": 64, "epochs": 2, "batch_size": 16, "noise_multiplier": 3.0}


def dp_game(trainer: str, **params: Any) -> Any:
    """The README's membership game with ``trainer``, the adversary submitting the target."""
    from games.privacy.membership import Membership

    return Membership(**{**README, "trainer": trainer, "target": "adversary", **params})
