"""A cheating adversary must not score: every cheat in ``tests/cheaters.py``, on every path."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from typing import Any

import attrs
import numpy as np
import pytest
from cheaters import (
    Alternate,
    AlternateGlobally,
    AnswerGadget,
    Constant,
    DropsItsLosses,
    EqualToAll,
    Exit,
    FailsAsMember,
    FailsJudging,
    Flood,
    GuessTheSecret,
    Limits,
    OutOfRange,
    Overwrite,
    PlainRemember,
    PredictSeed,
    QueryGadget,
    RawMessage,
    ReadTraceback,
    Remember,
    RememberByMethod,
    SawNothing,
    Sleep,
    SleepThroughTimeouts,
    SpiesThroughArrays,
)

import games
from games import Challenge, InvalidArgument
from games.crypto.games import IndCPA, PRFSecurity, PRGSecurity, PRPSecurity
from games.otp import OneTimePad
from oracles import Oracle

# Cheap games of both bit shapes, each with a batched path.
BIT_GAMES = [
    OneTimePad(),
    IndCPA(scheme="ctr"),
    PRFSecurity(n=16, queries=2),
    PRPSecurity(n=8, queries=2),
    PRGSecurity(n=16),
]
PATHS = {
    "trial": {"batched": False},
    "batch": {"batched": True, "chunk_size": 256},
    "process": {"batched": False, "backend": "process", "workers": 2},
    "isolate": {"isolate": True},
}


def at_chance(result: games.Estimate) -> bool:
    """A cheat that worked scores +1.0; an adversary at chance stays far below it."""
    return result.error_count == 0 and result.ci_high < 0.4 and result.ci_low < 0.05


def _name(game: games.Game) -> str:
    return type(game).__name__


# -- item 1: no channel across trials, unpredictable worlds ---------------------------------


@pytest.mark.parametrize("game", BIT_GAMES, ids=_name)
@pytest.mark.parametrize("path", ["trial", "batch", "process"])
def test_an_alternating_adversary_is_at_chance(game: games.Game, path: str) -> None:
    result = games.estimate(game, Alternate(), trials=400, seed=0, **PATHS[path])
    assert at_chance(result), result


@pytest.mark.parametrize("game", [PRFSecurity(n=16, queries=2), OneTimePad()], ids=_name)
def test_an_alternating_adversary_is_at_chance_isolated(game: games.Game) -> None:
    result = games.estimate(game, Alternate(), trials=200, seed=0, isolate=True)
    assert at_chance(result), result


@pytest.mark.parametrize("game", [PRFSecurity(n=16, queries=2), PRGSecurity(n=16)], ids=_name)
def test_module_level_state_does_not_help_once_worlds_are_hidden(game: games.Game) -> None:
    result = games.estimate(game, AlternateGlobally(), trials=400, seed=0)
    assert at_chance(result), result


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize(
    "adversary",
    [Remember(), PlainRemember(), RememberByMethod()],
    ids=["attrs", "plain", "bound-method"],
)
def test_every_trial_gets_a_fresh_copy_of_the_adversary(path: str, adversary: object) -> None:
    # Every backend (Ray's too) runs the same task, games.engine.Chunks, which renews it.
    if path == "batch" and isinstance(adversary, PlainRemember):
        pytest.skip("a plain adversary has no batched path")
    trials = 60 if path == "isolate" else 600
    result = games.estimate(SawNothing(), adversary, trials=trials, seed=0, **PATHS[path])
    assert result.wins == result.trials == trials, result.first_error


@pytest.mark.parametrize("path", list(PATHS))
def test_a_failure_the_answer_provokes_in_the_judge_is_the_adversarys_loss(path: str) -> None:
    # It escaped estimate: an adversary that was losing could end any run with its answer.
    result = games.estimate(FailsJudging(), Constant(13), trials=20, seed=0, **PATHS[path])
    assert result.trials == 20 and result.wins == 0
    assert result.errors == {"oracle-failed": 20}, result.errors


@attrs.frozen
class _FailsTwice(FailsJudging):
    """Its oracle fails for the first half of a batch, then judging fails for all of it."""

    def setup_batch(self, size: int, rng: np.random.Generator) -> games.Challenge:
        failed = np.zeros(size, bool)

        def touch() -> None:
            failed[: size // 2] = True

        return games.Challenge(oracles={"touch": touch}, budgets={"touch": 1}, failed=failed)


class _TouchesThen13:
    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        oracles["touch"]()
        return 13

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        oracles["touch"]()
        return np.full(size, 13)


def test_a_trial_lost_to_two_failures_of_the_challenger_counts_once() -> None:
    result = games.estimate(
        _FailsTwice(), _TouchesThen13(), trials=64, seed=0, batched=True, chunk_size=32
    )
    assert result.trials == 64 and result.wins == 0
    assert result.errors == {"oracle-failed": 64}, result.errors


@pytest.mark.parametrize("path", list(PATHS))
def test_provoking_the_challengers_failure_drops_no_trial(path: str) -> None:
    trials = 100 if path == "isolate" else 600
    result = games.estimate(FailsAsMember(), DropsItsLosses(), trials=trials, seed=0, **PATHS[path])
    assert result.trials == trials and "game-failed" not in result.errors
    assert 0.3 * trials < result.errors["oracle-failed"] < 0.7 * trials
    assert result.wins == trials - result.errors["oracle-failed"]
    assert abs(result.advantage) < 0.2 and result.ci_low < 0.05, result


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("kind", ["oversize", "negative"])
def test_a_message_outside_the_pads_message_space_is_refused(path: str, kind: str) -> None:
    # The pad covers n bits only: the bits above them (or the sign) told m0 from m1.
    trials = 20 if path == "isolate" else 400
    game = OneTimePad(n=16, key_reuse=False)
    result = games.estimate(game, OutOfRange(kind=kind), trials=trials, seed=0, **PATHS[path])
    assert result.wins == 0 and result.errors == {"exception": trials}, result
    assert "m0" in result.first_error and "[0, 2**16)" in result.first_error, result.first_error


@pytest.mark.parametrize("path", list(PATHS))
def test_no_method_of_the_adversarys_values_runs_on_the_challengers_side(path: str) -> None:
    # An array subclass in a query saw the hidden bits numpy.where chose a message by; one in
    # an answer (or an int subclass) told the judge it equalled the secret. Both scored +1.0.
    trials = 20 if path == "isolate" else 512
    spy = games.estimate(OneTimePad(), SpiesThroughArrays(), trials=trials, seed=0, **PATHS[path])
    assert spy.error_count == 0 and spy.ci_low < 0.05, spy  # +1.0 has ci_low > 0.6 at 20
    for scalar in (False, True):
        equal = games.estimate(
            GuessTheSecret(), EqualToAll(scalar), trials=trials, seed=0, **PATHS[path]
        )
        assert equal.wins == 0 and equal.error_count == 0, equal


@attrs.frozen
class ScoresEveryoneAMember:
    """A scorer that provokes the failure only members hit, and scores every trial 1."""

    def scores(self, oracles, rng, size):  # type: ignore[no-untyped-def]
        oracles["canary"](np.full(size, 13))
        return np.ones(size)


def test_a_provoked_failure_costs_a_scorer_its_trial_at_every_threshold() -> None:
    # Left out, the failed trials (members all) left only non-members scored: an audit
    # thresholding the scores read no member, and the scorer lost nothing.
    tally, (scores, hidden) = games.engine.Chunks(
        FailsAsMember(), ScoresEveryoneAMember(), 0, True, collect="scores"
    )(0, 400)
    members = hidden == 1
    assert len(scores) == tally.trials == 400 and "game-failed" not in tally.errors
    assert tally.errors["oracle-failed"] == members.sum() > 100
    assert scores[members].max() < scores[~members].min()


def test_worlds_are_drawn_from_the_challengers_coins() -> None:
    # Over many seeds, a trial's world is a fair coin, whatever the trial's index.
    worlds = np.array(
        [
            games.replay(PRFSecurity(n=8, queries=1), Alternate(), seed=s, trial=t).hidden
            for s in range(100)
            for t in (0, 1)
        ]
    ).reshape(100, 2)
    assert 30 < worlds[:, 0].sum() < 70 and 30 < worlds[:, 1].sum() < 70
    assert (worlds[:, 0] != worlds[:, 1]).sum() < 70  # not one real and one ideal per pair


# -- item 2: the challenger's coins are out of the adversary's reach -------------------------


@pytest.mark.parametrize("batched", [False, True])
def test_predicting_the_challenger_from_the_adversarys_generator(batched: bool) -> None:
    game = OneTimePad()
    cheat = PredictSeed(seeds_tried=4, indices=400, chunk=50)
    # Unseeded by design, so at 99.9 %: a chance run fails the check about once in 10⁵
    unguessable = games.estimate(
        game, cheat, trials=400, batched=batched, chunk_size=50, level=0.999
    )
    assert at_chance(unguessable), unguessable
    assert unguessable.seed >= 2**64 or unguessable.seed.bit_length() > 8  # drawn, not 0
    # The cheat is real: given a seed it can guess, it computes the challenger's coins. This
    # is why untrusted adversaries need an unguessable seed (and --isolate).
    guessable = games.estimate(game, cheat, trials=400, seed=3, batched=batched, chunk_size=50)
    assert guessable.advantage == 1.0


def test_the_adversarys_generator_holds_only_a_one_way_key() -> None:
    from games.engine import seeds

    for seed in (0, 7, 2**100):
        for index in (0, 5):
            _, mine = seeds.pair(seed, index)
            sequence = mine.bit_generator.seed_seq
            assert not hasattr(sequence, "entropy") and not hasattr(sequence, "spawn_key")
            assert sequence.words.tobytes() == seeds._digest(seed, seeds.ADVERSARY, (index,))


def test_runs_without_a_seed_draw_128_bits_and_report_them() -> None:
    drawn = {games.estimate(OneTimePad(), Alternate(), trials=5).seed for _ in range(3)}
    assert len(drawn) == 3 and all(s.bit_length() > 64 for s in drawn)


# -- item 3: the isolation channel carries plain data only ----------------------------------


@pytest.mark.parametrize(
    "make",
    [
        AnswerGadget,
        QueryGadget,
        lambda marker: RawMessage(kind="pickle", marker=marker),
    ],
    ids=["answer", "query", "raw-pickle"],
)
def test_a_pickle_gadget_never_runs_in_the_challenger(tmp_path, make) -> None:
    marker = tmp_path / "unpickled"
    result = games.estimate(
        OneTimePad(), make(str(marker)), trials=4, seed=0, isolate=True, trial_timeout=30
    )
    assert not marker.exists()
    assert result.wins == 0 and result.error_count == 4


@pytest.mark.parametrize("kind", ["other-trial", "huge"])
def test_a_malformed_message_loses_the_trial(kind: str) -> None:
    started = time.monotonic()
    result = games.estimate(
        OneTimePad(), RawMessage(kind=kind), trials=2, seed=0, isolate=True, trial_timeout=30
    )
    assert result.errors == {"invalid-answer": 2}, result.first_error
    assert time.monotonic() - started < 45  # refused at once, not after the adversary's sleep
    expected = "another trial" if kind == "other-trial" else "over 67,108,864 bytes"
    assert expected in result.first_error


def test_an_adversary_that_never_reads_its_replies_is_ended_at_its_timeout() -> None:
    hung: list[bool] = []

    def end_children(signum, frame):  # the challenger hung on a child that does not read
        hung.append(True)
        for child in multiprocessing.active_children():
            child.kill()

    previous = signal.signal(signal.SIGALRM, end_children)
    signal.setitimer(signal.ITIMER_REAL, 60, 5)  # then every 5 s, for each trial's child
    try:
        result = games.estimate(
            OneTimePad(), Flood(), trials=2, seed=0, isolate=True, trial_timeout=2
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not hung and result.errors == {"timeout": 2}, result.first_error
    assert "without reading the replies" in result.first_error


def test_wire_refuses_what_is_not_plain_data() -> None:
    from games.engine import wire

    for value in [
        1,
        2.5,
        float("nan"),
        1 + 2j,
        "x",
        b"\x00",
        (1, [2, {"a": None}]),
        {3: "k"},
        np.arange(6, dtype=np.int16).reshape(2, 3),
        np.float32(1.5),
        True,
    ]:
        back = wire.decode(wire.encode(value))
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and (back == value).all()
        elif isinstance(value, float) and value != value:
            assert back != back
        else:
            assert back == value and type(back) is type(value) or isinstance(value, np.generic)
    assert wire.decode(wire.encode({"$tensor": 1})) == {"$tensor": 1}  # a key, not a tag
    for bad in [object(), np.array([object()])]:
        with pytest.raises(wire.ProtocolError):
            wire.decode(wire.encode(bad))
    for message in [
        b"\x80\x04K\x01.",
        b'{"$array": ["O", [1], "AA=="]}',
        b'{"$array": ["<i4", [3], "AAAA"]}',
        b"[" * 10_000,
        b'{"$eval": 1}',
    ]:
        with pytest.raises(wire.ProtocolError):
            wire.decode(message)


# -- item 4: in-process, no private door ---------------------------------------------------


def test_writing_a_handles_private_attributes_does_not_lift_its_budget() -> None:
    result = games.estimate(OneTimePad(key_reuse=True, queries=1), Overwrite(), trials=200, seed=0)
    assert result.wins == 0 and result.errors == {"budget": 200}
    assert result.queries["encrypt"] == 200  # one answered query per trial, as the budget says


def test_an_oracles_error_carries_no_frame_of_the_challenger() -> None:
    def challenger_function(m0, m1):
        b = 1  # noqa: F841 - a local the adversary must not see
        return int(m0) + int(m1)

    oracle = Oracle(challenger_function, name="encrypt")
    try:
        oracle("not", "numbers")
    except ValueError as error:
        assert error.__context__ is None and error.__cause__ is None
        frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(error.__traceback__)]
        assert "challenger_function" not in frames
    else:
        pytest.fail("the oracle did not refuse the query")
    assert not hasattr(oracle, "failure")
    result = games.estimate(OneTimePad(), ReadTraceback(), trials=300, seed=0, batched=False)
    assert at_chance(result), result


# -- items 8, 9, 11, 12: workers and processes that misbehave -------------------------------


class Locked(Exception):
    """An exception that cannot be pickled: it holds a lock."""

    def __init__(self) -> None:
        import threading

        super().__init__("holds a lock")
        self.lock = threading.Lock()


@attrs.frozen(kw_only=True)
class RaisesLocked(games.HiddenBit):
    def setup(self, b, rng):
        raise Locked()


def test_an_unpicklable_exception_in_a_worker_is_reported_not_hung() -> None:
    started = time.monotonic()
    with pytest.raises(games.ChunkFailed, match="Locked: holds a lock"):
        games.estimate(
            RaisesLocked(),
            Alternate(),
            trials=20,
            seed=0,
            backend="process",
            workers=2,
            batched=False,
        )
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("path", ["trial", "batch", "process", "isolate"])
def test_a_sleeping_adversary_loses_its_trials_to_the_timeout(path: str) -> None:
    started = time.monotonic()
    options = PATHS[path] | ({"chunk_size": 2} if path == "batch" else {})
    result = games.estimate(OneTimePad(), Sleep(), trials=4, seed=0, trial_timeout=0.5, **options)
    assert result.errors == {"timeout": 4} and result.wins == 0, result.first_error
    assert time.monotonic() - started < 40


def test_catching_the_timeout_does_not_save_the_trial() -> None:
    result = games.estimate(
        OneTimePad(), SleepThroughTimeouts(), trials=3, seed=0, trial_timeout=0.2, batched=False
    )
    assert result.errors == {"timeout": 3}


def test_the_isolated_process_runs_under_limits() -> None:
    @attrs.frozen(kw_only=True)
    class Report(games.Search):
        def setup(self, rng):
            return Challenge()

        def finalize(self, challenge, answer):
            (as_soft, _), (nproc_soft, _), pid = answer
            return as_soft != -1 and nproc_soft == 0 and pid != os.getpid()

    result = games.estimate(Report(), Limits(), trials=2, seed=0, isolate=True)
    assert result.wins == 2, result.first_error


def test_an_adversary_the_isolated_process_cannot_load_stops_the_run_at_once() -> None:
    import types

    module = types.ModuleType("made_at_run_time")
    exec(
        "import attrs\n@attrs.frozen\nclass Ghost:\n    def __call__(self, o, r):\n        return 0\n",
        module.__dict__,
    )
    module.Ghost.__module__ = "made_at_run_time"
    sys.modules["made_at_run_time"] = module
    try:
        started = time.monotonic()
        with pytest.raises(InvalidArgument, match="cannot load the adversary"):
            games.estimate(OneTimePad(), module.Ghost(), trials=50, seed=0, isolate=True)
        assert time.monotonic() - started < 60

        @attrs.frozen
        class Local:
            def __call__(self, oracles, rng):
                return 0

        with pytest.raises(InvalidArgument, match="cannot be sent to an isolated process"):
            games.estimate(OneTimePad(), Local(), trials=5, seed=0, isolate=True)
    finally:
        del sys.modules["made_at_run_time"]


@pytest.mark.parametrize("kind", ["SystemExit", "GeneratorExit", "KeyboardInterrupt"])
@pytest.mark.parametrize("path", ["trial", "batch", "process", "isolate"])
def test_exits_raised_by_the_adversary_lose_the_trial_everywhere(kind: str, path: str) -> None:
    trials = 4 if path == "isolate" else 40
    result = games.estimate(OneTimePad(), Exit(kind), trials=trials, seed=0, **PATHS[path])
    assert result.errors == {"exception": trials} and result.wins == 0


def test_children_die_with_their_parent(tmp_path) -> None:
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        import games
        from cheaters import WritePid
        from games.otp import OneTimePad
        games.estimate(OneTimePad(), WritePid({str(pids)!r}), trials=4, seed=0,
                       isolate=True, backend="process", workers=2)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if pids.exists() and len(pids.read_text().split()) >= 2:
                break
            time.sleep(0.2)
        children = [int(p) for p in pids.read_text().split()]
        assert len(children) >= 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in children):
            time.sleep(0.2)
        assert not any(_alive(p) for p in children)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


# -- items 10, 16: answers ------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True])
def test_a_huge_invalid_answer_is_not_stored_whole(batched: bool) -> None:
    result = games.estimate(
        OneTimePad(), Constant("x" * 50_000_000), trials=3, seed=0, batched=batched
    )
    assert result.errors == {"invalid-answer": 3}
    assert len(result.first_error) < 5_000


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("value", [1 + 0j, 0j, "1", None])
def test_one_rule_for_bits_on_both_paths(batched: bool, value: object) -> None:
    if batched and value is None:
        value = np.nan
    result = games.estimate(OneTimePad(), Constant(value), trials=20, seed=0, batched=batched)
    assert result.errors == {"invalid-answer": 20} and result.wins == 0


_PLAYING = threading.Event()


@attrs.frozen
class _Slow:
    def __call__(self, oracles, rng):
        _PLAYING.set()
        time.sleep(0.02)
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="signals to this process")
def test_a_second_ctrl_c_stops_the_run_and_is_no_adversarys_loss(tmp_path) -> None:
    # The first Ctrl-C asks for a stop after the chunk in play; the second lands in the
    # adversary's code and must stop the run, not be logged as 1 trial lost to it.
    log = tmp_path / "run.jsonl"
    _PLAYING.clear()

    def press_twice() -> None:
        if not _PLAYING.wait(60):
            return
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 10  # the second once the first was taken as a request
        while getattr(signal.getsignal(signal.SIGINT), "__name__", "") != "again":
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_twice)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            games.estimate(OneTimePad(), _Slow(), trials=500, seed=3, chunk_size=500, log=log)
    finally:
        presser.join()
    assert type(raised.value) is KeyboardInterrupt  # at once, not Stopped between chunks
    assert [json.loads(line)["kind"] for line in log.read_text().splitlines()] == ["spec"]
    # Afterwards an adversary's own KeyboardInterrupt is its loss again.
    again = games.estimate(OneTimePad(), Exit("KeyboardInterrupt"), trials=5, seed=0)
    assert again.errors == {"exception": 5}
