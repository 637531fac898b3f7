"""Proofs about machine unlearning: the proof files beside this module.

Importing this package registers the quantity functions the files name
(:mod:`proofs.unlearning.quantities`); they import the unlearning game, and torch, only
when a value is computed.
"""

from proofs.unlearning import quantities

__all__ = ["quantities"]
