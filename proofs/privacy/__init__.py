"""Proofs about differentially private training: the proof files beside this module.

Importing this package registers the quantity functions the files name
(:mod:`proofs.privacy.quantities`); they import the privacy games, and torch, only when
a value is computed.
"""

from proofs.privacy import quantities

__all__ = ["quantities"]
