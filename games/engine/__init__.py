"""The engine: plays a game many times and estimates the adversary's advantage.

- :mod:`~games.engine.records`: tallies, estimates, replayed trials.
- :mod:`~games.engine.options`: how a run is played (:class:`RunOptions`).
- :mod:`~games.engine.seeds`: every random stream, from the run's seed.
- :mod:`~games.engine.trials`: one trial, one chunk (:class:`Chunks`).
- :mod:`~games.engine.backends`: where chunks run (serial, process, Ray).
- :mod:`~games.engine.isolation`, :mod:`~games.engine.wire`, :mod:`~games.engine.children`:
  the adversary in its own process, talking plain data.
- :mod:`~games.engine.runlog`: resumable, checked, hash-chained run logs.
- :mod:`~games.engine.runs`: the one loop every run plays on (:func:`play`),
  :func:`estimate`, :func:`replay`.
- :mod:`~games.engine.certify`, :mod:`~games.engine.ensemble`, :mod:`~games.engine.sweep`:
  the run procedures built on that loop.
"""

from games.engine.backends import BACKENDS, ChunkFailed
from games.engine.options import RunOptions
from games.engine.records import (
    ERROR_KINDS,
    Estimate,
    Tally,
    TrialRecord,
    describe_adversary,
    plain,
)
from games.engine.runs import (
    MAX_TRIALS,
    Stopped,
    Work,
    check_run,
    default_chunk,
    estimate,
    estimate_from,
    play,
    replay,
    use_batched,
    with_device,
)
from games.engine.trials import Chunks, play_chunk, play_trial

__all__ = [
    "BACKENDS",
    "ERROR_KINDS",
    "MAX_TRIALS",
    "ChunkFailed",
    "Chunks",
    "Estimate",
    "RunOptions",
    "Stopped",
    "Tally",
    "TrialRecord",
    "Work",
    "check_run",
    "default_chunk",
    "describe_adversary",
    "estimate",
    "estimate_from",
    "play",
    "play_chunk",
    "play_trial",
    "plain",
    "replay",
    "use_batched",
    "with_device",
]
