"""Running the adversary in a separate process that sees only oracle messages.

Without isolation the adversary runs in the challenger's interpreter, and Python hides
nothing: it can walk the stack, the garbage collector or an oracle's closure to read the
hidden bit. With isolation it runs in a fresh interpreter (started with ``spawn``, so no copy
of the challenger's memory) and gets proxies whose only power is to send a query and wait
for the answer; the challenger's side answers through the real oracle handles, which keep
enforcing budgets.

The channel is one-way trusted. What the challenger sends (the adversary, public values,
oracle answers) is pickled: it is the challenger's own data. What the adversary's process
sends back is never unpickled: queries and answers are plain data (:mod:`games.engine.wire`), at
most :data:`MAX_MESSAGE` bytes, each tagged with a token that names its trial; anything else
loses the trial and the process is replaced.

The adversary's process gets a fresh copy of the adversary for each trial, ignores Ctrl-C
(the run stops between chunks), dies with its parent (``PR_SET_PDEATHSIG`` on Linux, a
watchdog thread elsewhere) and runs under resource limits: address space
(:data:`MEMORY_LIMIT`), CPU time per trial when a trial timeout is set, and no new processes
(``RLIMIT_NPROC``, which the kernel does not apply to root: run untrusted adversaries as an
unprivileged user). With a trial timeout the parent kills a process that runs past it.

What it does not protect against: an adversary that attacks the operating system (files,
the network) — run untrusted code in a container or VM for that; side channels such as
timing; and an adversary that can guess the run's seed (see :mod:`games.engine.seeds`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import secrets
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from types import FunctionType, MappingProxyType
from typing import Any

import numpy as np

from games.base import short
from games.engine import wire
from games.engine.children import die_with
from games.engine.seeds import _Key
from games.errors import TrialTimeout
from games.registry import ADVERSARIES
from oracles import BudgetExceeded, InvalidArgument, Oracle, OracleError, Oracles

__all__ = [
    "MAX_MESSAGE",
    "MEMORY_LIMIT",
    "AdversaryProcessDied",
    "AdversaryRaised",
    "Isolated",
    "renewer",
]

MAX_MESSAGE = 64 << 20  # bytes in one message from the adversary's process
MEMORY_LIMIT = 16 << 30  # the adversary process's address space
STARTUP = 120.0  # seconds the adversary's process may take to start and load the adversary
_GRACE = 1.0  # seconds past a trial's timeout before a child that does not read is ended


class AdversaryProcessDied(RuntimeError):
    """The isolated adversary's process ended in the middle of a trial."""


class AdversaryRaised(RuntimeError):
    """The isolated adversary raised; the message holds its traceback, as text."""


def renewer(adversary: Any) -> Any:
    """A function returning a fresh copy of ``adversary`` for each trial.

    The copy has the adversary's parameters, never state an earlier trial left on it: an
    attrs adversary whose fields are immutable is copied shallowly (a new instance with the
    same values), anything else deeply. An object that must not be copied (a handle to a
    process) defines ``__deepcopy__`` returning itself.
    """
    import copy

    if _immutable(adversary):
        template = copy.copy(adversary)
        return _shallow(template) or (lambda: copy.copy(template))
    try:
        template = copy.deepcopy(adversary)
    except Exception as error:
        raise InvalidArgument(
            f"the adversary {type(adversary).__name__} cannot be copied for each trial "
            f"({type(error).__name__}: {error}); keep its state in attrs fields of plain values"
        ) from None
    return lambda: copy.deepcopy(template)


def _shallow(template: Any) -> Any:
    """What ``copy.copy(template)`` does for a plain attrs instance, without its protocol's
    cost (a few microseconds a trial); None for a class that customises copying."""
    import attrs

    cls = type(template)
    plain = (
        attrs.has(cls)
        and cls.__new__ is object.__new__
        and not hasattr(cls, "__copy__")
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__reduce__ is object.__reduce__
    )
    if not plain:
        return None
    missing = object()  # a field never set (init=False) stays unset, as copy.copy leaves it
    items = [
        (a.name, value)
        for a in attrs.fields(cls)
        if (value := getattr(template, a.name, missing)) is not missing
    ]
    state = dict(getattr(template, "__dict__", {}))  # a class with slots may have one too
    setter = object.__setattr__

    def fresh() -> Any:
        new = object.__new__(cls)
        if state:
            new.__dict__.update(state)
        for name, value in items:
            setter(new, name, value)
        return new

    return fresh


def _immutable(value: Any, depth: int = 0) -> bool:
    """Whether a shallow copy of ``value`` shares nothing that a trial could change."""
    import attrs

    if depth > 8:
        return False
    if value is None or isinstance(value, bool | int | float | complex | str | bytes | range):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_immutable(v, depth + 1) for v in value)
    if isinstance(value, MappingProxyType):  # a read-only view whose dict no one else holds
        return all(_immutable(v, depth + 1) for v in value.values())
    if isinstance(value, type | FunctionType):
        # Classes and functions: deepcopy would not copy them either. Not a bound method,
        # which has a __code__ too but carries its object (and deepcopy copies that).
        return True
    if not attrs.has(type(value)):
        return False
    state = [getattr(value, a.name) for a in attrs.fields(type(value))]
    state += list(getattr(value, "__dict__", {}).values())
    return all(_immutable(v, depth + 1) for v in state)


class Isolated:
    """Wraps an adversary so that each call runs it in a separate process.

    Args:
        adversary: the adversary; it must be importable by name in a fresh interpreter (a
            class defined in a module, not in ``__main__`` or a notebook cell).
        timeout: seconds one trial may take (None: no limit).
    """

    def __init__(self, adversary: Any, timeout: float | None = None) -> None:
        self.adversary = adversary
        self.timeout = timeout
        self._process: Any = None
        self._conn: Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"adversary": self.adversary, "timeout": self.timeout}  # workers start their own

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["adversary"], state["timeout"])  # type: ignore[misc]

    def __deepcopy__(self, memo: Any) -> Isolated:
        return self  # one process serves every trial; it renews the adversary itself

    def start(self) -> None:
        """Start the adversary's process now, so that one that cannot load the adversary
        stops the run before any trial (rather than losing every trial)."""
        self._connect()

    def _connect(self) -> Connection:
        if self._process is not None and self._process.is_alive():
            assert self._conn is not None
            return self._conn
        try:
            blob = pickle.dumps(self.adversary)
        except Exception as error:
            raise InvalidArgument(
                f"the adversary {_label(self.adversary)} cannot be sent to an isolated process "
                f"({error}); give it fields that pickle (plain values, or classes and functions "
                "defined in a module)"
            ) from None
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, blob, os.getpid(), self.timeout), daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(STARTUP):
            self.close()
            raise AdversaryProcessDied(
                f"the isolated adversary did not start within {STARTUP:.0f} s"
            )
        try:
            hello = wire.decode(parent.recv_bytes(MAX_MESSAGE))
        except (EOFError, OSError, wire.ProtocolError):
            self.close()
            raise AdversaryProcessDied("the isolated adversary's process died at start") from None
        if isinstance(hello, dict) and hello.get("kind") == "unusable":
            self.close()
            raise InvalidArgument(
                "the isolated process cannot load the adversary; define it in a module that a "
                f"fresh interpreter can import (not __main__ or a notebook cell):\n{hello.get('error', '')}"
            )
        if not (isinstance(hello, dict) and hello.get("kind") == "ready"):
            self.close()
            raise AdversaryProcessDied("the isolated adversary's process sent no greeting")
        return parent

    def __call__(self, handles: Oracles, rng: np.random.Generator) -> Any:
        conn = self._connect()
        token = secrets.token_hex(8)
        budgets = {name: handles[name].budget for name in handles}
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        seed_seq = rng.bit_generator.seed_seq
        words = seed_seq.words.tolist() if isinstance(seed_seq, _Key) else None
        # The deadline bounds each wait for a message; a send can block too (a child that
        # floods queries and never reads the replies fills the pipe), so past the deadline
        # a watchdog ends the child, and the blocked send fails.
        watchdog, fired = None, threading.Event()
        if self.timeout is not None:
            watchdog = threading.Timer(self.timeout + _GRACE, self._end_process, (fired,))
            watchdog.daemon = True
            watchdog.start()
        try:
            conn.send(
                ("trial", token, budgets, dict(handles.public), words, rng.bit_generator.state)
            )
            while True:
                message = self._receive(conn, token, deadline)
                kind = message.get("kind")
                if kind == "query":
                    name, query = message.get("oracle"), message.get("args")
                    if (
                        not isinstance(name, str)
                        or name not in budgets
                        or not isinstance(query, list)
                    ):
                        raise wire.ProtocolError(f"malformed query {short(message)}")
                    conn.send(_answer(handles[name], query))
                elif kind in ("answer", "raised"):
                    exceeded = message.get("exceeded") or []
                    if not isinstance(exceeded, list):
                        raise wire.ProtocolError(f"malformed {kind}")
                    for name in exceeded:  # the child's handle refused a query we never saw
                        if name in budgets:
                            raise BudgetExceeded(name, budgets[name] or 0)
                    if kind == "raised":
                        raise AdversaryRaised(
                            f"the isolated adversary raised:\n{str(message.get('error'))[:10_000]}"
                        )
                    return message.get("value")
                else:
                    raise wire.ProtocolError(f"unknown message kind {short(kind)}")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.close()
            if fired.is_set():
                raise TrialTimeout(
                    f"the adversary ran past the trial timeout of {self.timeout:g} s "
                    "without reading the replies to its queries"
                ) from None
            raise AdversaryProcessDied(
                "the isolated adversary's process died during the trial"
            ) from None
        except (wire.ProtocolError, TrialTimeout):
            self.close()  # mid-trial and out of step: start afresh for the next trial
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def _end_process(self, fired: threading.Event) -> None:
        fired.set()
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def _receive(self, conn: Connection, token: str, deadline: float | None) -> dict[str, Any]:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not conn.poll(wait):
            raise TrialTimeout(f"the adversary ran past the trial timeout of {self.timeout:g} s")
        try:
            raw = conn.recv_bytes(MAX_MESSAGE)
        except OSError as error:  # the header announced more than the cap: nothing is read
            if "bad message length" in str(error):
                raise wire.ProtocolError(f"a message over {MAX_MESSAGE:,} bytes") from None
            raise
        message = wire.decode(raw)
        if not isinstance(message, dict):
            raise wire.ProtocolError("a message must be a dict")
        if message.get("trial") != token:
            raise wire.ProtocolError("a message for another trial")
        return message

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _label(adversary: Any) -> str:
    """The adversary's registered name, or its class's full name (a reduction's B has none)."""
    cls = type(adversary)
    return ADVERSARIES.name_of(cls) or f"{cls.__module__}.{cls.__qualname__}"


def _answer(oracle: Oracle, query: list[Any]) -> tuple[Any, ...]:
    """The challenger's reply to one query, as the child re-raises or returns it."""
    try:
        return ("ok", oracle(*query))
    except BudgetExceeded as error:
        return ("budget", error.name, error.budget)
    except Exception as error:  # a fresh copy, with no frames (see oracles.core)
        try:
            pickle.dumps(error)
        except Exception:
            error = OracleError(f"{type(error).__name__}: {error}")
        return ("error", error)


# -- the adversary's process --------------------------------------------------------------


def _limit(timeout: float | None) -> None:
    """Address space and no new processes, once the adversary is loaded."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)  # its thread pool would need new processes (threads) later
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _cpu_for_trial(timeout: float | None) -> None:
    if timeout is None:
        return
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    with contextlib.suppress(ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = int(spent + timeout) + 2
        if hard == resource.RLIM_INFINITY or soft <= hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve(conn: Connection, blob: bytes, parent: int, timeout: float | None) -> None:
    """The adversary's process: play each trial with proxies that only send messages."""
    die_with(parent)
    token = ""

    def send(kind: str, **fields: Any) -> None:
        try:
            conn.send_bytes(wire.encode({"trial": token, "kind": kind, **fields}))
        except wire.ProtocolError as error:
            conn.send_bytes(wire.encode({"trial": token, "kind": "raised", "error": str(error)}))

    try:
        renew = renewer(pickle.loads(blob))
    except BaseException:
        send("unusable", error=traceback.format_exc(limit=-8))
        return
    _limit(timeout)
    send("ready")

    def proxy(name: str):  # type: ignore[no-untyped-def]
        def ask(*query: Any) -> Any:
            conn.send_bytes(
                wire.encode({"trial": token, "kind": "query", "oracle": name, "args": list(query)})
            )
            reply = conn.recv()
            if reply[0] == "ok":
                return reply[1]
            if reply[0] == "budget":
                raise BudgetExceeded(reply[1], reply[2])
            raise reply[1]

        return ask

    while True:
        try:
            _, token, budgets, public, words, state = conn.recv()
        except EOFError:
            return
        _cpu_for_trial(timeout)
        handles = Oracles(
            {
                name: Oracle(proxy(name), name=name, budget=budget)
                for name, budget in budgets.items()
            },
            public,
        )
        key = _Key(bytes(np.asarray(words, np.uint32))) if words else None
        bit_generator = np.random.PCG64(key)  # type: ignore[arg-type]
        bit_generator.state = state
        try:
            value = renew()(handles, np.random.Generator(bit_generator))
        except BaseException:
            error = traceback.format_exc()[-10_000:]
            send("raised", error=error, exceeded=[n for n in handles if handles[n].exceeded])
            continue
        send("answer", value=value, exceeded=[n for n in handles if handles[n].exceeded])
