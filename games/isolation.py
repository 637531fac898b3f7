"""Running the adversary in a separate process that sees only oracle messages.

Without isolation the adversary runs in the challenger's interpreter, and Python hides
nothing: it can walk the stack, the garbage collector or an oracle's closure to read the
hidden bit. With isolation it runs in a fresh interpreter (started with ``spawn``, so no copy
of the challenger's memory) and gets proxies whose only power is to send a query and wait
for the answer; the challenger's side answers through the real oracle handles, which keep
enforcing budgets.

What it protects against: reading the challenger's state through the interpreter (frames,
gc, closures, module globals) and overspending a budget. What it does not: an adversary
that attacks the operating system (files, other processes, the network) — run untrusted
code in a container or VM for that; side channels such as timing; and state carried from
one trial to the next inside the adversary process (it is reused across the trials of a
chunk, as a remote attacker would be).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from oracles import BudgetExceeded, Oracle, Oracles

__all__ = ["AdversaryProcessDied", "Isolated"]


class AdversaryProcessDied(RuntimeError):
    """The isolated adversary's process ended in the middle of a trial."""


class Isolated:
    """Wraps an adversary so that each call runs it in a separate process."""

    def __init__(self, adversary: Any) -> None:
        self.adversary = adversary
        self._process: Any = None
        self._conn: Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"adversary": self.adversary}  # a worker process starts its own child

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["adversary"])  # type: ignore[misc]

    def _connect(self) -> Connection:
        if self._process is None or not self._process.is_alive():
            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe()
            self._process = context.Process(
                target=_serve, args=(child, self.adversary), daemon=True
            )
            self._process.start()
            child.close()
            self._conn = parent
        assert self._conn is not None
        return self._conn

    def __call__(self, handles: Oracles, rng: np.random.Generator) -> Any:
        conn = self._connect()
        budgets = {name: handles[name].budget for name in handles}
        try:
            conn.send(("trial", budgets, dict(handles.public), rng.bit_generator.state))
            while True:
                message = conn.recv()
                if message[0] == "query":
                    _, name, query = message
                    try:
                        conn.send(("ok", handles[name](*query)))
                    except BudgetExceeded as error:
                        conn.send(("budget", error.name, error.budget))
                    except Exception as error:  # the query was bad; the adversary sees why
                        conn.send(("error", f"{type(error).__name__}: {error}"))
                else:  # the trial is over: an answer, or the adversary's own exception
                    kind, payload, exceeded = message
                    if exceeded:  # the child's handle refused a query the parent never saw
                        raise BudgetExceeded(exceeded[0], budgets[exceeded[0]] or 0)
                    if kind == "raised":
                        raise RuntimeError(f"the isolated adversary raised:\n{payload}")
                    return payload
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self._process = None
            raise AdversaryProcessDied(
                "the isolated adversary's process died during the trial"
            ) from None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._process = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class _QueryFailed(RuntimeError):
    """The challenger's oracle raised on a query (a malformed one)."""


def _serve(conn: Connection, adversary: Any) -> None:
    """The adversary's process: play each trial with proxies that only send messages."""

    def proxy(name: str):  # type: ignore[no-untyped-def]
        def ask(*query: Any) -> Any:
            conn.send(("query", name, query))
            reply = conn.recv()
            if reply[0] == "ok":
                return reply[1]
            if reply[0] == "budget":
                raise BudgetExceeded(reply[1], reply[2])
            raise _QueryFailed(reply[1])

        return ask

    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        _, budgets, public, state = message
        handles = Oracles(
            {
                name: Oracle(proxy(name), name=name, budget=budget)
                for name, budget in budgets.items()
            },
            public,
        )
        bit_generator = np.random.PCG64()
        bit_generator.state = state
        try:
            outcome = ("answer", adversary(handles, np.random.Generator(bit_generator)))
        except BaseException:
            outcome = ("raised", traceback.format_exc())
        conn.send((*outcome, [name for name in handles if handles[name].exceeded]))
