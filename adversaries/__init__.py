"""Adversaries: the protocol, the registry, and the generic sanity checks.

Domain attacks live in one module per domain (``adversaries.crypto``,
``adversaries.privacy``, ...) and are loaded by name through the registry.
"""

from adversaries.generic import Constant, Guess
from adversaries.registry import ADVERSARIES, register
from games.base import Adversary, BatchAdversary

__all__ = ["ADVERSARIES", "Adversary", "BatchAdversary", "Constant", "Guess", "register"]
