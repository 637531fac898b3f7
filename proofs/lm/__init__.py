"""Proofs about language models: the proof files beside this module and their reductions.

The reductions live in :mod:`proofs.lm.reductions` and are imported only when a checker
plays them.
"""

__all__: list[str] = []
