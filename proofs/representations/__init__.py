"""Proofs about concept erasure: the proof files beside this module and their reductions.

The reductions live in :mod:`proofs.representations.reductions` and are imported only
when a checker plays them (they import the representations domain, and scikit-learn
through its probes, only then).
"""

__all__: list[str] = []
