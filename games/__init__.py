"""Games: the three shapes, the engine that plays them, the statistics it reports, and the
domains (one package each: ``games.crypto``, ``games.privacy``, ...).

Layout (see docs/architecture.md): :mod:`games.base` (shapes, challenges, adversaries),
:mod:`games.params`, :mod:`games.errors`, :mod:`games.registry`, :mod:`games.engine` (the one
playing loop and the run procedures on it), :mod:`games.stats` (intervals, shapes' arithmetic,
planning, sequential decisions, curves).
"""

from games import stats
from games.base import (
    IDEAL,
    REAL,
    Adversary,
    BatchAdversary,
    Challenge,
    Cost,
    Game,
    HiddenBit,
    RealIdeal,
    Search,
    answer_bit,
)
from games.engine import (
    BACKENDS,
    ChunkFailed,
    Estimate,
    RunOptions,
    Tally,
    TrialRecord,
    estimate,
    replay,
)
from games.engine.certify import Certificate, certify
from games.engine.ensemble import Ensemble, estimate_best
from games.engine.sweep import Sweep, sweep
from games.errors import InvalidAnswer, TrialFailed, TrialTimeout
from games.params import integer, number, param
from games.registry import ADVERSARIES, GAMES, UnknownName, register
from games.stats import plan
from oracles import InvalidArgument

__all__ = [
    "ADVERSARIES",
    "BACKENDS",
    "GAMES",
    "IDEAL",
    "REAL",
    "Adversary",
    "BatchAdversary",
    "Certificate",
    "Challenge",
    "ChunkFailed",
    "Cost",
    "Ensemble",
    "Estimate",
    "Game",
    "HiddenBit",
    "InvalidAnswer",
    "InvalidArgument",
    "RealIdeal",
    "RunOptions",
    "Search",
    "Sweep",
    "Tally",
    "TrialFailed",
    "TrialRecord",
    "TrialTimeout",
    "UnknownName",
    "answer_bit",
    "certify",
    "estimate",
    "estimate_best",
    "integer",
    "number",
    "param",
    "plan",
    "register",
    "replay",
    "stats",
    "sweep",
]
