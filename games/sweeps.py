"""Where assumption files written by ``advantage sweep --assumption`` before the sweep moved
to :mod:`games.engine.sweep` find their reduction (``games.sweeps:same_adversary``)."""

from games.engine.sweep import same_adversary

__all__ = ["same_adversary"]
