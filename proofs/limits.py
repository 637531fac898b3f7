"""Limits on the work a proof file can cause: a time budget per symbolic step, a size cap.

A proof file is input, and its expressions can ask for more than any machine has: ``2**n``
over ``n`` up to ``2**64`` is an integer of 2**64 bits, ``exp(exp(exp(exp(n))))`` sends
mpmath after ln 2 to astronomical precision, and sympy's simplification has no stop of its
own. So:

- every symbolic step of a check (sympy's simplification and sign questions, z3, the
  Hypothesis search for a counterexample, exact and numeric evaluation at a point) runs in
  a worker process under a time budget. When the budget is spent the worker is killed,
  whatever it was doing, in Python or in C, and the check raises :class:`ProofError`
  naming the file, the key and the budget; the next step starts a fresh worker;
- exact numbers, written in a file or computed by a check, are capped at
  :data:`MAX_BITS` bits; an expression that would need more is refused with a
  :class:`ProofError` that says how many bits it would take.

The worker is a separate interpreter (``python -c``), started on the first step and kept
for the next ones; it talks to this process over its standard input and output with
pickled requests that only this module writes. It never imports the script that started
it, so a script that checks a proof at top level works without a ``__main__`` guard.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from fractions import Fraction
from typing import IO, Any

import sympy

from proofs.errors import ProofError

__all__ = ["MAX_BITS", "TIME_LIMIT", "TooLarge", "bits_of_power", "check_bits", "run"]

#: Exact numbers above this many bits are refused, in a file and in a check's arithmetic.
#: Python prints at most 4300 digits of an int; 8192 bits is 2467 digits.
MAX_BITS = 8192
#: Seconds each symbolic step may take by default (``check_symbolic(time_limit=...)``).
TIME_LIMIT = 30.0
# Starting the worker imports sympy and the checkers; that time is not the step's.
_START_LIMIT = 120.0
_HEADER = struct.Struct("!Q")


class TooLarge(ArithmeticError):
    """An exact number would exceed :data:`MAX_BITS` bits; the message says which and how big."""


def bits_of_power(base: sympy.Rational, exponent: sympy.Rational) -> float:
    """About how many bits ``base**exponent`` takes exactly (its numerator or denominator)."""
    p, q = abs(int(base.p)), abs(int(base.q))
    largest = max(p, q)
    if largest <= 1:
        return 1.0
    # math.log2 takes ints of any size; the exponent may be too large for a float.
    size = abs(Fraction(int(exponent.p), int(exponent.q))) * Fraction(math.log2(largest))
    return float(min(size, Fraction(10) ** 300)) + 1.0


def check_bits(value: Any, what: str) -> None:
    """Raise :class:`TooLarge` if an exact rational in ``value`` has more than MAX_BITS bits."""
    if not isinstance(value, sympy.Basic):
        return
    atoms = [value] if isinstance(value, sympy.Rational) else value.atoms(sympy.Rational)
    for atom in atoms:
        size = max(abs(int(atom.p)).bit_length(), abs(int(atom.q)).bit_length())
        if size > MAX_BITS:
            raise TooLarge(f"{what} is a number of {size} bits (the limit is {MAX_BITS} bits)")


# -- the worker --------------------------------------------------------------------------


class _OutOfTime(Exception):
    pass


class _Died(Exception):
    pass


def _write(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    payload = stream.read(length)
    return payload if len(payload) == length else None


def _describe(error: BaseException) -> tuple[str, Any]:
    """An exception raised by a step, as something that survives pickling."""
    if isinstance(error, ProofError):
        return ("proof", error)
    if isinstance(error, TooLarge):
        return ("size", str(error))
    if isinstance(error, RecursionError):
        return ("recursion", str(error))
    if isinstance(error, MemoryError | OverflowError):
        return ("overflow", f"{type(error).__name__}: {error}")
    if isinstance(error, ValueError) and "integer string conversion" in str(error):
        return ("overflow", f"{type(error).__name__}: {error}")
    return ("error", f"{type(error).__name__}: {error}")


def _serve() -> None:
    """The worker's loop: read a request, run it, write the reply; stop at end of input."""
    # The replies need the real stdout; anything a library prints goes nowhere instead.
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    source = sys.stdin.buffer
    _write(out, pickle.dumps(("ready", None)))
    while True:
        frame = _read(source)
        if frame is None:
            return
        function, args, seconds = pickle.loads(frame)
        if hasattr(signal, "alarm"):
            # Should the parent die mid-step, the worker still stops (SIGALRM's default
            # action ends the process, even inside C code).
            signal.alarm(int(seconds) + 30)
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except BaseException as error:  # everything goes back to the parent, named
            reply = ("error", _describe(error))
        finally:
            if hasattr(signal, "alarm"):
                signal.alarm(0)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            data = pickle.dumps(("error", ("error", f"{type(error).__name__}: {error}")))
        _write(out, data)


class _Worker:
    """One worker process, started on demand, killed when a step runs out of time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._lock = threading.Lock()

    def _alive(self) -> bool:
        return (
            self._process is not None
            and self._owner == os.getpid()
            and self._process.poll() is None
        )

    def _start(self) -> None:
        env = dict(os.environ)
        # The same modules as here (a test or a notebook may have extended sys.path).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._process = subprocess.Popen(
            # -P: not the current directory first on sys.path, as -c would put it, so that
            # a proofs/ or sympy.py where the user stands is never imported and run here.
            [sys.executable, "-P", "-c", "from proofs.limits import _serve; _serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._owner = os.getpid()
        status, _ = self._receive(_START_LIMIT)
        if status != "ready":
            self.stop()
            raise _Died("the worker did not start")

    def _receive(self, seconds: float) -> tuple[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        box: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        # A thread reads, so that waiting has a timeout on every platform.
        reader = threading.Thread(target=lambda: box.put(_read(stream)), daemon=True)
        reader.start()
        try:
            frame = box.get(timeout=seconds)
        except queue.Empty:
            self.stop()
            raise _OutOfTime from None
        if frame is None:
            code = self._process.wait()
            self._process = None
            raise _Died(_exit_text(code))
        return pickle.loads(frame)  # type: ignore[no-any-return]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        with contextlib.suppress(OSError):
            process.kill()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
        payload = pickle.dumps((function, args, seconds), protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if not self._alive():
                self._process = None  # a worker inherited from a parent process is not ours
                self._start()
            assert self._process is not None and self._process.stdin is not None
            try:
                _write(self._process.stdin, payload)
            except OSError:
                code = self._process.wait()
                self._process = None
                raise _Died(_exit_text(code)) from None
            try:
                status, value = self._receive(seconds)
            except BaseException:
                if self._alive() and not isinstance(sys.exc_info()[1], _Died):
                    self.stop()  # interrupted (Ctrl-C): the step's result is abandoned
                raise
        if status == "ok":
            return value
        raise _Failed(*value)


class _Failed(Exception):
    def __init__(self, kind: str, detail: Any) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


_WORKER = _Worker()
atexit.register(_WORKER.stop)


def run(
    function: Callable[..., Any],
    *args: Any,
    what: str,
    seconds: float,
    file: str,
    key: str,
) -> Any:
    """Run ``function(*args)`` in the worker within ``seconds``; failures become ProofError.

    Args:
        function: a module-level function (it is named, not copied, to the worker).
        what: the step in words, for messages ("sympy's simplification").
        seconds: the step's time budget.
        file, key: where in which proof file the expressions come from.

    Raises:
        ProofError: the step ran out of time, needed a number beyond :data:`MAX_BITS`
            bits, recursed too deeply, overflowed, or failed otherwise; the message names
            the file, the key and the limit.
    """
    try:
        return _WORKER.call(function, args, seconds)
    except _OutOfTime:
        raise ProofError(
            f"{what} ran past its time budget of {seconds:g} s and was stopped "
            "(a larger time_limit allows more)",
            file=file,
            key=key,
        ) from None
    except _Died as error:
        raise ProofError(
            f"{what} stopped: the worker process died ({error}), most likely out of memory",
            file=file,
            key=key,
        ) from None
    except _Failed as failure:
        kind, detail = failure.kind, failure.detail
    if kind == "proof":
        raise detail
    if kind == "size":
        message = f"{what}: {detail}"
    elif kind == "recursion":
        message = f"{what}: the expression is nested too deeply to work on ({detail})"
    elif kind == "overflow":
        message = (
            f"{what}: a number outgrew what can be computed ({detail}); exact numbers are "
            f"limited to {MAX_BITS} bits"
        )
    else:
        message = f"{what} failed: {detail}"
    raise ProofError(message, file=file, key=key)
