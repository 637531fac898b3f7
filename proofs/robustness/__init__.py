"""Proofs about adversarial robustness: the proof files beside this module and their reductions.

The reductions live in :mod:`proofs.robustness.reductions` and are imported only when a
checker plays them (they import the robustness attacks, and torch, only then).
"""

__all__: list[str] = []
