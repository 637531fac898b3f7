"""The errors of proofs: a malformed or unsafe proof file, and a name that names no proof."""

from __future__ import annotations

from oracles import InvalidArgument

__all__ = ["ProofError", "UnknownProof"]


class ProofError(InvalidArgument):
    """A proof file is malformed or unsafe; the message names the file and the key.

    A proof file is the caller's input, so this is an :class:`oracles.InvalidArgument`
    (and a ``ValueError``): the command line reports it in one line with exit status 2.

    Attributes:
        file: the proof file (a path, a catalogue name, or ``<expression>`` for text
            parsed on its own).
        key: where in the file, as a dotted path (``hops[2].by``); arrays count from 1.
        reason: the message without the file and key.
    """

    def __init__(self, reason: str, *, file: str = "<expression>", key: str = "<document>") -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file = file
        self.key = key
        self.reason = reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keyword-only arguments do not survive the default pickling of exceptions.
        return (_rebuild, (self.reason, self.file, self.key))


def _rebuild(reason: str, file: str, key: str) -> ProofError:
    return ProofError(reason, file=file, key=key)


class UnknownProof(ProofError):
    """No shipped proof of that name; the message suggests the nearest names.

    The name is its ``file`` (key ``<name>``), and its message is the reason alone: there
    is no file to point into.
    """

    def __init__(self, reason: str, *, name: str) -> None:
        InvalidArgument.__init__(self, reason)
        self.file, self.key, self.reason = name, "<name>", reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_unknown, (self.reason, self.file))


def _unknown(reason: str, name: str) -> UnknownProof:
    return UnknownProof(reason, name=name)
