"""Every backend, worker count and chunking gives the same answer; failures name their chunk."""

import importlib.util
import json
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import time

import attrs
import pytest
from cheaters import Remember, SawNothing, WritePid

import games
from adversaries import Guess
from adversaries.otp import TwoTimePad
from adversaries.peek import Peek
from games import ChunkFailed, InvalidArgument
from games.engine.backends import session
from games.otp import OneTimePad

has_ray = importlib.util.find_spec("ray") is not None


def test_per_trial_path_identical_across_backends_workers_and_chunks():
    game = OneTimePad()
    wins = {
        (backend, workers, chunk): games.estimate(
            game,
            Guess(),
            trials=3000,
            seed=21,
            backend=backend,
            workers=workers,
            chunk_size=chunk,
            batched=False,
        ).wins
        for backend, workers in (("serial", None), ("process", 1), ("process", 2))
        for chunk in (None, 97, 1000)
    }
    assert len(set(wins.values())) == 1, wins


def test_batched_path_identical_across_backends_for_a_chunk_size():
    game = OneTimePad()
    runs = [
        games.estimate(
            game, Guess(), trials=50_000, seed=5, backend=backend, workers=workers, chunk_size=4096
        )
        for backend, workers in (("serial", None), ("process", 1), ("process", 2))
    ]
    assert {r.path for r in runs} == {"batch"} and len({r.wins for r in runs}) == 1


@pytest.mark.skipif(not has_ray, reason="ray is not installed (pip install -e '.[ray]')")
@pytest.mark.slow
def test_ray_backend_matches_serial_keeps_its_workers_and_names_failures(tmp_path, monkeypatch):
    import ray

    # Ray's workers import the test modules by name, as a cluster's would the user's.
    here = pathlib.Path(__file__).parent
    path = os.pathsep.join([str(here.parent), str(here), os.environ.get("PYTHONPATH", "")])
    env = {"env_vars": {"PYTHONPATH": path}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=env)
    try:
        for batched in (False, True):
            run = {"trials": 4000, "seed": 7, "chunk_size": 500, "batched": batched}
            serial = games.estimate(OneTimePad(), Guess(), **run)
            remote = games.estimate(OneTimePad(), Guess(), backend="ray", **run)
            assert remote.wins == serial.wins and remote.trials == 4000
        # Every trial gets a fresh adversary, on Ray's tasks and in an isolated run's
        # actors, which keep the task (and the adversary's process) between chunks.
        for path in ({"batched": False}, {"batched": True}, {"isolate": True}):
            fresh = games.estimate(
                SawNothing(), Remember(), trials=24, seed=0, chunk_size=4, backend="ray", **path
            )
            assert fresh.wins == fresh.trials == 24, (path, fresh.first_error)
        # An isolated run's worker starts the adversary's process once: a task per chunk
        # would start its interpreter (and load any model it prepares) for every chunk.
        played = _played_in(tmp_path / "pids", trials=24, chunk_size=2, backend="ray", isolate=True)
        assert len(played) == 24 and len(set(played)) <= 2, played
        # The run's end kills its actors, and the adversary's processes die with them,
        # while this Ray instance lives on.
        deadline = time.monotonic() + 30
        while any(_alive(int(pid)) for pid in set(played)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(int(pid)) for pid in set(played)), played
        # A task whose worker died is played again by Ray, from the same coins.
        flag = tmp_path / "die"
        flag.write_text("")
        run = {"trials": 3000, "seed": 2, "chunk_size": 500, "batched": False}
        replayed = games.estimate(OneTimePad(), DiesOnce(str(flag)), backend="ray", **run)
        assert (
            not flag.exists() and replayed.wins == games.estimate(OneTimePad(), Guess(), **run).wins
        )
        # An actor (an isolated run's) that died is not: the run names the chunk it played.
        flag.write_text("")
        with pytest.raises(ChunkFailed, match=r"trials \d+-\d+ failed: a Ray worker died"):
            games.estimate(
                ChallengerDiesOnce(flag=str(flag)), Guess(), trials=40, seed=0, chunk_size=4,
                backend="ray", isolate=True,
            )  # fmt: skip
        # An adversary the workers cannot import stops the run before any chunk, saying why.
        (tmp_path / "elsewhere.py").write_text(
            "import attrs\n@attrs.frozen\nclass Zero:\n"
            "    def __call__(self, oracles, rng):\n        return 0\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        from elsewhere import Zero

        with pytest.raises(
            ChunkFailed, match="a worker failed at start: a Ray worker could not load"
        ):
            games.estimate(SawNothing(), Zero(), trials=10, seed=0, backend="ray")
    finally:
        ray.shutdown()


def _played_in(pids, *, trials, **engine):
    """The process ids an adversary wrote in ``pids``, one a trial (after every earlier run's),
    playing ``trials`` trials that each must win."""
    result = games.estimate(
        SawNothing(), WritePid(str(pids), seconds=0), trials=trials, seed=0, **engine
    )
    assert result.wins == result.trials == trials, result.first_error
    return pids.read_text().split()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not has_ray, reason="ray is not installed")
def test_unreachable_ray_address_fails_fast_naming_it():
    started = time.perf_counter()
    with pytest.raises(InvalidArgument, match="cannot reach a Ray cluster at 127.0.0.1:9"):
        games.estimate(
            OneTimePad(), Guess(), trials=10, seed=0, backend="ray", address="127.0.0.1:9"
        )
    assert time.perf_counter() - started < 10


def test_ray_missing_says_how_to_install():
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "import games; from games.otp import OneTimePad; from adversaries import Guess\n"
        "try:\n    games.estimate(OneTimePad(), Guess(), trials=10, seed=0, backend='ray')\n"
        "except games.InvalidArgument as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install -e '.[ray]'" in out


@attrs.frozen
class DiesOnce:
    """Kills its worker process the first time it plays trial 1234."""

    flag: str

    def __call__(self, oracles, rng):
        if os.path.exists(self.flag) and oracles.public.get("n") == 16:
            index = sys._getframe(1).f_locals.get("index")
            if index == 1234:
                os.remove(self.flag)
                os._exit(3)
        return int(rng.integers(2))


@attrs.frozen(kw_only=True)
class ChallengerDiesOnce(games.HiddenBit):
    """Kills its worker process in the first trial it sets up while ``flag`` exists."""

    flag: str

    def setup(self, b, rng):
        if os.path.exists(self.flag):
            os.remove(self.flag)
            os._exit(3)
        return games.Challenge()


def test_dead_worker_fails_the_run_naming_the_chunk_and_resume_recovers(tmp_path):
    flag = tmp_path / "die"
    flag.write_text("")
    log = tmp_path / "run.jsonl"
    adversary = DiesOnce(str(flag))
    with pytest.raises(ChunkFailed, match=r"trials 1000-1499 failed: a worker process died"):
        games.estimate(
            OneTimePad(),
            adversary,
            trials=3000,
            seed=2,
            chunk_size=500,
            backend="process",
            workers=2,
            log=log,
        )
    resumed = games.estimate(
        OneTimePad(), adversary, trials=3000, seed=2, chunk_size=500, log=log, resume=True
    )
    whole = games.estimate(OneTimePad(), adversary, trials=3000, seed=2)
    assert (resumed.trials, resumed.wins) == (3000, whole.wins)


def test_a_session_keeps_one_process_pool_for_its_runs(tmp_path):
    # A command that plays several runs (an ensemble, a sweep) starts its workers once; the
    # answers are those of the serial backend, run after run.
    pids = tmp_path / "pids"
    with session():
        for _ in range(2):
            _played_in(pids, trials=40, chunk_size=5, backend="process", workers=2, batched=False)
            run = {"trials": 600, "seed": 3, "chunk_size": 50}
            serial = games.estimate(OneTimePad(), Guess(), **run)
            pooled = games.estimate(OneTimePad(), Guess(), backend="process", workers=2, **run)
            assert pooled.wins == serial.wins
    played = pids.read_text().split()
    assert len(played) == 80 and len(set(played)) <= 2, played
    assert not any(_alive(int(pid)) for pid in set(played)), "the session ends its workers"


def test_an_ensemble_and_a_sweep_start_their_workers_once(monkeypatch):
    from games.engine import backends

    pools = []

    class Counted(backends._Pool):
        def __init__(self, count, task):
            pools.append(count)
            super().__init__(count, task)

    monkeypatch.setattr(backends, "_Pool", Counted)
    engine = {"backend": "process", "workers": 2, "chunk_size": 100}
    ensemble = games.estimate_best(
        OneTimePad(key_reuse=True), [Guess(), TwoTimePad()], trials=400, seed=0, **engine
    )
    assert ensemble.best.advantage == 1.0 and pools == [2]
    swept = games.sweep(
        OneTimePad(), Guess(), budget="queries", values=[1, 2, 3], trials=400, seed=0, **engine
    )
    assert len(swept.points) == 3 and pools == [2, 2]


def test_a_session_still_forks_a_task_that_does_not_pickle():
    # Before torch loads, workers are forked and inherit the task; a kept pool would need it
    # pickled, so such a task gets new workers, as it did before sessions.
    script = (
        "import sys, attrs, games\n"
        "from games.engine.backends import session\n"
        "from games.otp import OneTimePad\n"
        "@attrs.frozen\n"
        "class Local:\n"
        "    answer: object\n"
        "    def __call__(self, oracles, rng):\n"
        "        return self.answer()\n"
        "with session():\n"
        "    for _ in range(2):\n"
        "        r = games.estimate(OneTimePad(), Local(lambda: 1), trials=200, seed=0, chunk_size=50,\n"
        "                           backend='process', workers=2)\n"
        "        print(r.trials, r.errors, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["200 {} False"] * 2, done.stdout


def test_a_run_that_fails_in_a_session_leaves_the_next_one_whole(tmp_path):
    flag = tmp_path / "die"
    flag.write_text("")
    run = {"trials": 3000, "seed": 2, "chunk_size": 500}
    pooled = {"backend": "process", "workers": 2, **run}
    with session():
        with pytest.raises(ChunkFailed, match=r"trials 1000-1499 failed: a worker process died"):
            games.estimate(OneTimePad(), DiesOnce(str(flag)), **pooled)
        after = games.estimate(OneTimePad(), Guess(), **pooled)
    assert after.wins == games.estimate(OneTimePad(), Guess(), **run).wins


def test_a_session_ends_the_last_runs_isolated_adversary(tmp_path):
    # A worker kept for the next run ends the isolated adversary's process of the run before.
    first, second = tmp_path / "first", tmp_path / "second"
    with session():
        for pids in (first, second):
            _played_in(pids, trials=4, chunk_size=2, backend="process", workers=1, isolate=True)
        children = set(first.read_text().split())
        assert len(children) == 1 and children != set(second.read_text().split())
        assert not any(_alive(int(pid)) for pid in children)
    assert not any(_alive(int(pid)) for pid in set(second.read_text().split()))


def test_isolation_stops_peeking_and_keeps_budgets():
    open_run = games.estimate(OneTimePad(), Peek(), trials=200, seed=4)
    assert open_run.ci_low > 0.95
    isolated = games.estimate(OneTimePad(), Peek(), trials=400, seed=4, isolate=True)
    assert isolated.ci_low <= 0 <= isolated.ci_high
    honest = games.estimate(
        OneTimePad(key_reuse=True), TwoTimePad(), trials=200, seed=4, isolate=True
    )
    assert (
        honest.wins
        == games.estimate(
            OneTimePad(key_reuse=True), TwoTimePad(), trials=200, seed=4, batched=False
        ).wins
    )


@attrs.frozen
class Overspends:
    swallow: bool
    bypass: bool = False

    def __call__(self, oracles, rng):
        encrypt = oracles["encrypt"]
        if self.bypass:  # skip the local handle's count and message the challenger directly
            gate = object.__getattribute__(encrypt, "_ask")
            cells = dict(zip(gate.__code__.co_freevars, gate.__closure__, strict=True))
            encrypt = cells["answer"].cell_contents
        for _ in range(3):
            try:
                encrypt(0, 1)
            except Exception:
                if not self.swallow:
                    raise
        return 1


@pytest.mark.parametrize(("swallow", "bypass"), [(False, False), (True, False), (True, True)])
def test_isolated_budgets_are_enforced_by_the_challenger(swallow, bypass):
    result = games.estimate(
        OneTimePad(queries=2),
        Overspends(swallow=swallow, bypass=bypass),
        trials=30,
        seed=0,
        isolate=True,
    )
    assert result.errors == {"budget": 30} and result.wins == 0


def test_one_isolated_process_serves_every_chunk_and_renews_the_adversary_per_trial():
    # A process per chunk would start the interpreter, and load any model the adversary
    # prepares from the game's public values, again for every chunk.
    before = {p.pid for p in multiprocessing.active_children()}
    seen: list[set[int]] = []

    def progress(done: int, total: int) -> None:
        if done:  # after each chunk (it is also told of the start)
            seen.append({p.pid for p in multiprocessing.active_children()} - before)

    result = games.estimate(
        SawNothing(), Remember(), trials=6, seed=0, isolate=True, chunk_size=2, progress=progress
    )
    assert result.wins == result.trials == 6, result.first_error  # a fresh copy every trial
    assert len(seen) == 3 and len(seen[0]) == 1 and all(s == seen[0] for s in seen), seen


def test_isolate_refuses_the_batched_path():
    with pytest.raises(InvalidArgument, match="isolate=True plays trial by trial"):
        games.estimate(OneTimePad(), Guess(), trials=10, seed=0, isolate=True, batched=True)


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    log = tmp_path / "run.jsonl"
    argv = [
        "advantage",
        "run",
        "otp",
        "--adversary",
        "guess",
        "--trials",
        "150000",
        "--seed",
        "6",
        "--no-batched",
        "--chunk-size",
        "1000",
        "--log",
        str(log),
        "--json",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        if log.exists() and log.read_text().count("\n") >= 6:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    logged = log.read_text().count("\n") - 1
    assert 0 < logged < 150, "the run must be killed mid-way"
    resumed = subprocess.run(argv + ["--resume"], capture_output=True, text=True, check=True)
    unlogged = [arg for arg in argv if arg not in ("--log", str(log))]
    whole = subprocess.run(unlogged, capture_output=True, text=True, check=True)
    a, b = json.loads(resumed.stdout), json.loads(whole.stdout)
    assert (a["trials"], a["wins"]) == (b["trials"], b["wins"]) == (150000, b["wins"])
    ranges = sorted(
        tuple(r) for line in log.read_text().splitlines()[1:] for r in json.loads(line)["ranges"]
    )
    assert sum(stop - start for start, stop in ranges) == 150000
    assert all(x[1] <= y[0] for x, y in zip(ranges, ranges[1:], strict=False))
