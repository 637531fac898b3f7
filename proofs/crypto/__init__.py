"""Proofs about classic cryptography: the proof files beside this module and their reductions.

The reductions live in :mod:`proofs.crypto.reductions` and are imported only when a
checker plays them.
"""

__all__: list[str] = []
