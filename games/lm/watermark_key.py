"""What binds a text watermark's key to its text: the key bound to a tokenizer, and the
error for text a detector cannot read (:mod:`games.lm.watermark` uses both)."""

from __future__ import annotations

import hashlib
from typing import Any

import attrs
import numpy as np

from games.errors import InvalidAnswer
from oracles import InvalidArgument

__all__ = ["BadText", "Key", "fingerprint"]


class BadText(InvalidAnswer, InvalidArgument):
    """Text a detector cannot read (empty, not token ids, ids outside the vocabulary).

    A bad argument to :meth:`Watermark.detect` and, in a game, a refused answer (the
    adversary's loss): it is both :class:`InvalidArgument` and :class:`games.InvalidAnswer`.
    """


_FINGERPRINTS: dict[int, tuple[Any, str]] = {}


def fingerprint(model: Any) -> str:
    """A short digest of the model's tokenizer (its whole id ↔ token table)."""
    tokenizer = _tokenizer(model)
    known = _FINGERPRINTS.get(id(tokenizer))
    if known is None or known[0] is not tokenizer:
        table = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
        digest = hashlib.blake2b(repr(table).encode(), digest_size=6).hexdigest()
        known = _FINGERPRINTS[id(tokenizer)] = (tokenizer, digest)
    return known[1]


@attrs.frozen(kw_only=True, eq=False)
class Key:
    """A watermark key bound to the tokenizer whose token ids it marks.

    :meth:`Watermark.keygen` returns one when given the generating model; generation and
    detection then refuse another tokenizer (a text re-tokenized by another model, or
    detected with another vocabulary, would silently score as unmarked).
    """

    secret: np.ndarray
    vocab: int
    tokenizer: str
    #: Rows the generating processors computed under this key (challenger side, never public):
    #: a context's green mask or uniforms over the vocabulary, reused across generations.
    rows: dict = attrs.field(factory=dict, repr=False)

    def check(self, vocab: int, tokenizer: str | None = None) -> None:
        """Refuse ids of another tokenizer (``tokenizer`` None: compare the size only)."""
        if vocab != self.vocab or tokenizer not in (None, self.tokenizer):
            theirs = f"tokenizer {tokenizer}" if tokenizer else "a tokenizer"
            raise InvalidArgument(
                f"tokenizer mismatch: the key marks ids of tokenizer {self.tokenizer} "
                f"({self.vocab} ids), not of {theirs} ({vocab} ids); "
                "detect with the model that generated the text"
            )


def _tokenizer(model: Any) -> Any:
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise InvalidArgument(
            f"model {getattr(model, 'spec', model)!r} exposes no tokenizer; "
            "watermark games need tiny, smollm2 or hf:PATH"
        )
    return tokenizer
