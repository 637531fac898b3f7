"""Games: the three shapes, the engine that plays them, and the statistics it reports."""

from games import stats
from games.backends import BACKENDS, ChunkFailed
from games.base import (
    IDEAL,
    REAL,
    Adversary,
    BatchAdversary,
    Challenge,
    Game,
    HiddenBit,
    InvalidAnswer,
    RealIdeal,
    Search,
    TrialFailed,
    answer_bit,
    integer,
    number,
    param,
)
from games.certification import Certificate, certify
from games.engine import Estimate, Tally, TrialRecord, estimate, replay
from games.ensemble import Ensemble, estimate_best
from games.registry import ADVERSARIES, GAMES, UnknownName, register
from games.stats import plan
from games.sweeps import Sweep, sweep
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
    "Ensemble",
    "Estimate",
    "Game",
    "HiddenBit",
    "InvalidAnswer",
    "InvalidArgument",
    "RealIdeal",
    "Search",
    "Sweep",
    "Tally",
    "TrialFailed",
    "TrialRecord",
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
