"""Text watermarks on a Scorer model: the schemes, their detectors, and two games.

Schemes (:class:`Watermark`, generated token by token through the model's logits with a
processor, detected on token ids):

- ``kgw`` (Kirchenbauer et al. 2023): the previous ``h`` tokens and a candidate token are
  fed to a keyed PRF; the token is *green* when the PRF's output, read as a number in
  [0, 1), falls below γ. Green logits get +δ. Detection counts green tokens among the
  scored positions and rejects "unwatermarked" by the exact one-sided binomial tail
  Pr[Bin(n, γ) ≥ g] ≤ α. Repeated (context, token) pairs are scored once: their green
  decisions are not independent, and counting them again breaks the binomial null.
- ``unigram`` (Zhao et al.): ``h = 0``, one fixed green list for the whole text.
- ``exp`` (Aaronson; Kuditipudi et al.): each candidate token gets a PRF uniform u after
  its context and the token maximising log(u)/p is emitted (an exact sample from p when the
  uniforms are fresh); a context already seen in the text is sampled from the model as is.
  Detection: the sum of −log(1 − u) over distinct scored pairs, Gamma(n, 1) without the
  watermark, rejected by its exact tail at α.
- ``exp-reused``: a planted bug, ``exp`` that reuses the uniforms of a repeated context,
  so the continuation of a repeated context repeats (distinguishable from the model).
- ``kgw-repeated``: a planted bug, ``kgw`` that counts every repeated pair. On repetitive
  text (one token over and over) the green count is all-or-nothing, so the false-positive
  rate is about γ, far above α.

The PRF is the crypto catalogue's (:func:`games.crypto.get_prf`): ``siphash`` (SipHash-2-4)
by default, whose batched path is numpy passes over all the points of the texts or of a
context's row over the vocabulary; ``blake2`` (keyed BLAKE2b, one hashlib call a point)
works too, and ``toy-linear`` plugs in a broken one. A scored pair is encoded as the
64-bit point ``token + V·c_1 + V²·c_2 + …`` (public and injective for small ``h``); only
the PRF key is secret, and it comes from the challenger's coins.

Games (search shape, parameters ``scheme`` and ``model``):

- ``watermark-soundness``: the adversary, given human-like text from the corpus (public)
  and the scheme's public description, returns token ids of its choosing, never having
  seen the key; it wins if the detector flags them. Baseline α: the detector's stated
  false-positive rate, so a sound detector has advantage ≤ 0 (the exact binomial tail is
  conservative) and ``kgw-repeated`` loses against repetitive text.
- ``watermark-removal``: the challenger generates a watermarked reply (redrawing, a few
  times, until it is flagged) and hands over its token ids; the adversary returns token ids
  within a Levenshtein edit budget (a fraction of the length) and wins if the detector no
  longer flags them. An answer outside the budget is refused (:class:`games.InvalidAnswer`).
  No quality judge yet: the edit budget is the only closeness requirement.
- ``watermark-undetectable`` (real vs ideal): with ``queries`` generations, tell the
  watermarked model from the model itself (see :class:`Undetectable`).

Importing this module imports neither torch nor transformers; the model is loaded on first
use (:func:`games.lm.load`). Long because the schemes, their detectors and the three games
that share them stay together; the forgery games are in :mod:`games.lm.forgery`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
from scipy import special

from games.base import REAL, Challenge, RealIdeal, Search
from games.crypto.primitives import PRF_NAMES, get_prf
from games.errors import InvalidAnswer, TrialFailed
from games.lm.watermark_key import BadText, Key, _tokenizer, fingerprint
from games.params import integer, number, param
from games.registry import register
from oracles import InvalidArgument, checks

__all__ = [
    "SCHEMES",
    "BadText",
    "Detection",
    "Key",
    "Marked",
    "Removal",
    "Soundness",
    "Undetectable",
    "Watermark",
    "edit_distance",
    "fingerprint",
    "human_text",
    "scheme",
    "seen_context",
    "text_ids",
]

#: The schemes :func:`scheme` builds; ``kgw-repeated`` is a planted bug.
SCHEMES = ("kgw", "unigram", "kgw-repeated", "exp", "exp-reused")
#: Context width used by ``kgw`` and ``kgw-repeated``.
DEFAULT_H = 1
#: Story requests the removal game prompts with (the tiny corpus's story grammar).
STORY_REQUEST = "Tell me a story about a {subject}."
#: Tries at generating a flagged reply before a removal trial fails (challenger side).
MAX_ROUNDS = 8

#: The most values (contexts × vocabulary) a key keeps of the rows its generations computed.
MAX_ROWS = 2**25

#: The longest request the undetectability game's oracle takes.
MAX_REQUEST = 200

_UNIT = float(2**-53)
_UNIT_OPEN = number(0, 1, open_low=True, open_high=True)


def gamma_check(name: str, value: Any) -> None:
    """γ, the green fraction of the vocabulary, lies strictly between 0 and 1."""
    try:
        _UNIT_OPEN(name, value)
    except InvalidArgument:
        raise InvalidArgument(
            f"{name}={value!r} is the green fraction of the vocabulary: "
            "give a number strictly between 0 and 1 (0.25 is usual)"
        ) from None


def _gamma(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    gamma_check(attribute.name, value)


def _delta(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    number(0)(attribute.name, value)


def _alpha(_self: Any, attribute: attrs.Attribute, value: Any) -> None:
    number(0, 1, open_low=True, open_high=True)(attribute.name, value)


@attrs.frozen(kw_only=True)
class Detection:
    """A detector's verdict on one text: green count among scored positions, z, p, flag."""

    green: int
    scored: int
    z: float
    p_value: float
    flagged: bool


@attrs.frozen(kw_only=True)
class Watermark:
    """A green-list watermark: ``h`` context tokens, green fraction γ, bias δ, level α.

    ``dedupe`` scores each (context, token) pair once (False only in the planted bug).
    ``kind="exp"`` is the exponential (Gumbel) scheme instead (γ and δ unused); ``reuse``
    reuses the uniforms of a repeated context in generation (the planted ``exp-reused``).
    ``top_k`` cuts the model's distribution to its ``k`` most likely tokens first (None:
    the whole vocabulary).
    """

    name: str = "kgw"
    h: int = attrs.field(
        default=DEFAULT_H, validator=lambda _s, a, v: checks.integer(a.name, v, 0, 4)
    )
    gamma: float = attrs.field(default=0.25, validator=_gamma)
    delta: float = attrs.field(default=4.0, validator=_delta)
    alpha: float = attrs.field(default=0.01, validator=_alpha)
    prf: str = attrs.field(default="siphash")
    dedupe: bool = True
    kind: str = attrs.field(default="green", validator=attrs.validators.in_(("green", "exp")))
    reuse: bool = False
    top_k: int | None = attrs.field(default=None)

    @top_k.validator
    def _check_top_k(self, attribute: attrs.Attribute, value: Any) -> None:
        _optional_count(attribute.name, value)

    @prf.validator
    def _check_prf(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.choice("prf", value, PRF_NAMES)

    def _prf(self) -> Any:
        return get_prf(self.prf, 64, 64)

    def keygen(self, rng: np.random.Generator, model: Any = None) -> Any:
        """A fresh secret key from the challenger's coins, bound to ``model``'s tokenizer
        when one is given (a :class:`Key`; a bare PRF key otherwise)."""
        secret = self._prf().keygen(rng)
        if model is None:
            return secret
        return Key(secret=secret, vocab=_vocab(model), tokenizer=fingerprint(model))

    def _points(self, contexts: np.ndarray, tokens: np.ndarray, vocab: int) -> np.ndarray:
        """The PRF inputs of (context, token) pairs: contexts (..., h), tokens (...)."""
        points = tokens.astype(np.uint64)
        scale = np.uint64(1)
        v = np.uint64(vocab)
        for i in range(self.h):
            scale = scale * v  # wraps modulo 2**64, deliberately
            points = points + contexts[..., self.h - 1 - i].astype(np.uint64) * scale
        return points

    def uniforms(
        self, key: Any, contexts: np.ndarray, tokens: np.ndarray, vocab: int
    ) -> np.ndarray:
        """The PRF's output on each (context, token) pair as a number in (0, 1).

        ``key`` may instead be a function from 64-bit points to 64-bit values (a PRF
        game's oracle, in a reduction).
        """
        points = self._points(np.asarray(contexts), np.asarray(tokens), vocab)
        return self._unit(key, points, vocab)

    def _unit(self, key: Any, points: np.ndarray, vocab: int) -> np.ndarray:
        """The PRF's output at ``points`` as numbers in (0, 1), shaped like them."""
        if isinstance(key, Key):
            key.check(vocab)
            key = key.secret
        if callable(key):
            out = np.asarray(key(points.reshape(-1)), dtype=np.uint64)
        else:
            out = self._prf().evaluate(np.asarray(key, np.uint64), points.reshape(-1))
        unit = ((out >> np.uint64(11)).astype(np.float64) + 0.5) * _UNIT
        return unit.reshape(points.shape)

    def green(self, key: Any, contexts: np.ndarray, tokens: np.ndarray, vocab: int) -> np.ndarray:
        """Whether each token is green after its context (boolean, shaped like ``tokens``)."""
        return self.uniforms(key, contexts, tokens, vocab) < self.gamma

    def processor(self, key: Any) -> Any:
        """The logits processor: +δ on green tokens, or the exponential scheme's choice.

        With ``top_k`` the model's distribution is first cut to its ``k`` most likely
        tokens (as the unwatermarked sampler the scheme stands beside cuts it), and the
        exponential scheme reads uniforms for those ``k`` candidates only; a ``k`` of the
        vocabulary's size or more keeps every token, as :func:`truncate` does.
        """

        table: dict = key.rows if isinstance(key, Key) else {}
        kind = (self.kind, self.gamma, self.h, self.prf)

        def rows(context: np.ndarray, vocab: int) -> np.ndarray:
            """Each context's row over the vocabulary (green mask, or uniforms for exp),
            each distinct context's computed once per generation call, or once per
            :class:`Key` (kept with the key, up to :data:`MAX_ROWS` values)."""
            wanted = [(*kind, *c) for c in context.tolist()]
            missing = sorted(set(wanted) - table.keys())
            if len(table) * vocab > MAX_ROWS:
                table.clear()
                missing = sorted(set(wanted))
            if missing:
                ids = [m[len(kind) :] for m in missing]
                contexts = np.array(ids, np.int64).reshape(len(missing), 1, self.h)
                tokens = np.broadcast_to(np.arange(vocab), (len(missing), vocab))
                contexts = np.broadcast_to(contexts, (len(missing), vocab, self.h))
                u = self.uniforms(key, contexts, tokens, vocab)
                table.update(
                    zip(missing, u < self.gamma if self.kind == "green" else u, strict=True)
                )
            return np.stack([table[c] for c in wanted])

        def process(input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
            batch, vocab = logits.shape
            ids = np.asarray(input_ids)
            logits = truncate(logits, self.top_k)
            context = ids[:, ids.shape[1] - self.h :]
            if self.kind == "green":
                return (logits + self.delta * rows(context, vocab)).astype(logits.dtype, copy=False)
            if self.top_k is None or self.top_k >= vocab:  # every token is a candidate
                tokens = np.broadcast_to(np.arange(vocab), (batch, vocab))
                u = rows(context, vocab)
            else:
                tokens = np.argpartition(-logits, self.top_k - 1, axis=1)[:, : self.top_k]
                contexts = np.broadcast_to(context[:, None, :], (*tokens.shape, self.h))
                u = self.uniforms(key, contexts, tokens, vocab)
            return self._exp_choice(ids, logits, u, tokens)

        return process

    def _exp_choice(
        self, ids: np.ndarray, logits: np.ndarray, u: np.ndarray, tokens: np.ndarray
    ) -> np.ndarray:
        """Gumbel sampling: the candidate maximising log(u)/p, as logits that pick it for sure.

        ``tokens`` are each row's candidates (the whole vocabulary, or the top ``k``) and
        ``u`` their uniforms. A
        context already seen in the row would reuse its uniforms, so the choice would
        repeat; the scheme then samples from the model's own distribution (logits left as
        they are). ``exp-reused`` skips that check (the planted bug).
        """
        batch = len(logits)
        candidates = np.take_along_axis(logits, tokens, axis=1)
        shifted = candidates - candidates.max(axis=1, keepdims=True)
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            choice = tokens[np.arange(batch), np.argmax(np.log(u) / p, axis=1)]
        out = np.full_like(logits, -1e9)
        out[np.arange(batch), choice] = 0.0
        if not self.reuse and self.h:
            for row in range(batch):
                if seen_context(ids[row], self.h):
                    out[row] = logits[row]
        return out

    def generate(
        self,
        model: Any,
        key: Any,
        prompts: Sequence[Sequence[int]],
        *,
        max_new_tokens: int,
        rng: np.random.Generator,
        temperature: float = 1.0,
    ) -> list[tuple[int, ...]]:
        """Watermarked continuations of token-id prompts (stop tokens included)."""
        if isinstance(key, Key):
            key.check(_vocab(model), fingerprint(model))
        return model.sample(
            prompts,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            rng=rng,
            processor=self.processor(key),
        )

    def detect(self, key: Any, tokens: Sequence[int], vocab: Any) -> Detection:
        """The one-sided exact test on the green count (``exp``: the score) of ``tokens``.

        ``vocab`` is the vocabulary size, or the model whose tokenizer wrote ``tokens``
        (then a :class:`Key` checks it is the tokenizer it was made for). Positions before
        the ``h``-th have no full context and are not scored; empty text is refused.
        """
        return self.detect_many(key, [tokens], vocab)[0]

    def detect_many(self, key: Any, texts: Sequence[Sequence[int]], vocab: Any) -> list:
        """:meth:`detect` on each text, with one PRF call over the distinct points of all.

        Each text's (context, token) pairs are scored once (``dedupe``) by their PRF point;
        two pairs with one point share their PRF value, so scoring the point once is what the
        binomial (or Gamma) null needs. The tails are computed for all texts at once.
        """
        vocab = self._vocab_of(key, vocab)
        ids, lengths = _token_arrays(texts, vocab)
        if not all(lengths):
            raise BadText("the text is empty: detect the token ids of a non-empty reply")
        owner = np.repeat(np.arange(len(lengths)), lengths)
        if len(ids) > self.h:
            count = len(ids) - self.h  # windows of h + 1 tokens
            contexts = np.empty((count, self.h), np.int64)
            for i in range(self.h):
                contexts[:, i] = ids[i : i + count]
            whole = owner[:count] == owner[self.h :]  # no window across two texts
            points = self._points(contexts, ids[self.h :], vocab)[whole]
            where = owner[:count][whole]
        else:
            points, where = np.zeros(0, np.uint64), np.zeros(0, np.int64)
        # One stable sort by point: a point's pairs stay in text order, so a text's repeats
        # of a point are neighbours (``where`` never decreases along the texts).
        order = np.argsort(points, kind="stable")
        points, where = points[order], where[order]
        new = np.ones(len(points), bool)
        new[1:] = points[1:] != points[:-1]
        inverse = np.cumsum(new) - 1  # each pair's index among the distinct points
        if self.dedupe:  # each text's distinct points, once
            keep = new.copy()
            keep[1:] |= where[1:] != where[:-1]
            where, inverse = where[keep], inverse[keep]
        u = self._unit(key, points[new], vocab)[inverse]
        n = np.bincount(where, minlength=len(texts))
        root = np.sqrt(np.maximum(n, 1))
        if self.kind == "exp":
            # Under no watermark each −log(1−u) is Exp(1): the sum is Gamma(n, 1).
            score = np.bincount(where, weights=-np.log1p(-u), minlength=len(texts))
            p = np.where(n > 0, special.gammaincc(np.maximum(n, 1), score), 1.0)
            z, green = (score - n) / root, np.zeros(len(texts), np.int64)
        else:
            green = np.bincount(where[u < self.gamma], minlength=len(texts))
            p = np.where(n > 0, special.bdtrc(green - 1, n, self.gamma), 1.0)
            z = (green - self.gamma * n) / (root * np.sqrt(self.gamma * (1 - self.gamma)))
        return [
            Detection(green=g, scored=c, z=x, p_value=q, flagged=q <= self.alpha)
            for g, c, x, q in zip(green.tolist(), n.tolist(), z.tolist(), p.tolist(), strict=True)
        ]

    def _vocab_of(self, key: Any, vocab: Any) -> int:
        """The vocabulary size ``vocab`` gives (a size, or a model a :class:`Key` checks)."""
        if isinstance(vocab, int | np.integer):
            return int(vocab)
        if isinstance(key, Key):
            key.check(_vocab(vocab), fingerprint(vocab))
        return _vocab(vocab)


def truncate(logits: np.ndarray, k: int | None) -> np.ndarray:
    """The logits with all but each row's ``k`` largest set to −10⁹ (``k`` None: as they are)."""
    if k is None or k >= logits.shape[1]:
        return logits
    cut = np.partition(logits, logits.shape[1] - k, axis=1)[:, logits.shape[1] - k][:, None]
    return np.where(logits >= cut, logits, np.asarray(-1e9, logits.dtype))


def _truncation(k: int) -> Any:
    """The processor of plain top-``k`` sampling."""
    return lambda _ids, logits: truncate(logits, k)


def _optional_count(name: str, value: Any) -> None:
    if value is not None:
        integer(1)(name, value)


def seen_context(row: np.ndarray, h: int) -> bool:
    """Whether the row's last ``h`` tokens occurred before as a context followed by a token."""
    if len(row) <= h:
        return False
    last = row[len(row) - h :]
    windows = np.lib.stride_tricks.sliding_window_view(row[:-1], h)
    return bool((windows == last).all(axis=1).any())


def scheme(
    name: str,
    *,
    gamma: float = 0.25,
    delta: float = 4.0,
    alpha: float = 0.01,
    prf: str = "siphash",
) -> Watermark:
    """The scheme called ``name`` (one of :data:`SCHEMES`)."""
    checks.choice("scheme", name, SCHEMES)
    h = 0 if name == "unigram" else DEFAULT_H
    return Watermark(
        name=name,
        h=h,
        gamma=gamma,
        delta=delta,
        alpha=alpha,
        prf=prf,
        dedupe=name != "kgw-repeated",
        kind="exp" if name.startswith("exp") else "green",
        reuse=name == "exp-reused",
    )


def _token_arrays(texts: Sequence[Any], vocab: int) -> tuple[np.ndarray, list[int]]:
    """The texts' ids end to end and each text's length; lists and tuples of ids are
    converted and range-checked together (one numpy pass rather than one per text)."""
    if all(isinstance(tokens, list | tuple) for tokens in texts):
        return _token_array(list(itertools.chain.from_iterable(texts)), vocab), [
            len(tokens) for tokens in texts
        ]
    arrays = [_token_array(tokens, vocab) for tokens in texts]
    return np.concatenate([np.zeros(0, np.int64), *arrays]), [len(a) for a in arrays]


def _token_array(tokens: Any, vocab: int) -> np.ndarray:
    if isinstance(tokens, str):
        raise BadText("text must be token ids, not a string: encode it with the model first")
    try:
        ids = np.asarray(tokens)
    except (TypeError, ValueError):
        raise BadText(f"text={tokens!r} must be a sequence of token ids") from None
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise BadText("text must be a flat sequence of integer token ids")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab):
        raise BadText(
            f"text holds token ids outside [0, {vocab}): another model's tokenizer wrote "
            "it? detect with the vocabulary of the model that generated it"
        )
    return ids.astype(np.int64)


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    """Levenshtein distance between two token sequences (substitution, insertion, deletion)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def human_text(model: Any, rng: np.random.Generator) -> tuple[int, ...]:
    """A story from the tiny corpus's grammar, written by the grammar (not the model), as ids."""
    from games.lm import corpus

    for example in corpus.examples(rng, 200):
        reply = example.messages[-1].content
        if example.messages[-1].role == "assistant" and reply.startswith("Once upon a time"):
            return text_ids(model, reply)
    raise TrialFailed("the corpus gave no story in 200 examples")


def text_ids(model: Any, text: str) -> tuple[int, ...]:
    """The token ids of plain text (no chat template, no special tokens) in ``model``'s
    tokenizer: how text written elsewhere becomes an answer the detector reads."""
    return tuple(_tokenizer(model)(text, add_special_tokens=False)["input_ids"])


def _load(spec: str) -> Any:
    from games import lm

    return lm.scorer(lm.load(spec))


def _vocab(model: Any) -> int:
    return int(model.vocab_size)


def _scheme_field(default: str) -> Any:
    return param(default, help="watermarking scheme", choices=SCHEMES)


def _public(mark: Watermark, vocab: int, model: str) -> dict[str, Any]:
    return {
        "scheme": mark.name,
        "h": mark.h,
        "gamma": mark.gamma,
        "delta": mark.delta,
        "alpha": mark.alpha,
        "prf": mark.prf,
        "top_k": mark.top_k,
        "vocab": vocab,
        "model": model,
    }


# Not slotted: it sits beside a slotted game shape as a second base.
@attrs.frozen(kw_only=True, slots=False)
class Marked:
    """The watermark's parameters, as every watermark game takes them, and what they build."""

    trials_per_batch: ClassVar[int] = 1

    scheme: str = _scheme_field("kgw")
    model: str = param(
        "tiny:0", help="model spec that generates (its tokenizer defines the token ids)"
    )
    gamma: float = param(0.25, help="green fraction", check=gamma_check)
    delta: float = param(4.0, help="logit bias of green tokens", check=number(0))
    alpha: float = param(0.01, help="the detector's stated false-positive rate", check=_UNIT_OPEN)
    prf: str = param("siphash", help="PRF keying the scheme", choices=PRF_NAMES)

    def mark(self) -> Watermark:
        return scheme(
            self.scheme, gamma=self.gamma, delta=self.delta, alpha=self.alpha, prf=self.prf
        )

    def keyed(self, rng: np.random.Generator) -> tuple[Any, Watermark, Key, dict[str, Any]]:
        """The model, the scheme, a fresh key bound to the model's tokenizer, and the
        public values every watermark game gives (the scheme's description, no key)."""
        model = _load(self.model)
        mark = self.mark()
        key = mark.keygen(rng, model)
        return model, mark, key, _public(mark, _vocab(model), self.model)


@register("watermark-soundness")
@attrs.frozen(kw_only=True)
class Soundness(Marked, Search):
    """False positives: the adversary writes unwatermarked text; it wins if it is flagged.

    Public: the scheme's description (no key), the vocabulary size, and ``human`` (token ids
    of a corpus story, human-like text). Baseline α.
    """

    @property
    def baseline(self) -> float:
        return self.alpha

    def setup(self, rng: np.random.Generator) -> Challenge:
        model, _mark, key, public = self.keyed(rng)
        public["human"] = human_text(model, rng)
        return Challenge(oracles={}, public=public, secret={"key": key, "vocab": _vocab(model)})

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        secret = challenge.secret
        return self.mark().detect(secret["key"], answer, secret["vocab"]).flagged


@register("watermark-removal")
@attrs.frozen(kw_only=True)
class Removal(Marked, Search):
    """Remove the watermark: edit a flagged reply, within ``budget``·length edits, until unflagged.

    Public: the scheme's description (no key), ``vocab``, ``request`` (the user's request)
    and ``prompt`` (its token ids), ``text`` (the watermarked reply's ids, stop token removed) and ``edits`` (the
    number of token edits allowed). Baseline 0: the unchanged reply is flagged.
    """

    length: int = param(48, help="new tokens of the watermarked reply", check=integer(4, 512))
    budget: float = param(
        0.25, help="edits allowed, as a fraction of the length", check=number(0, 1)
    )

    def setup(self, rng: np.random.Generator) -> Challenge:
        from games.lm import corpus

        model, mark, key, public = self.keyed(rng)
        vocab = _vocab(model)
        stops = set(getattr(model, "stop_ids", ()))
        for _ in range(MAX_ROUNDS):
            subject = corpus.STORY_SUBJECTS[int(rng.integers(len(corpus.STORY_SUBJECTS)))]
            request = STORY_REQUEST.format(subject=subject)
            prompt = model.encode(request)
            (reply,) = mark.generate(model, key, [prompt], max_new_tokens=self.length, rng=rng)
            text = tuple(t for t in reply if t not in stops)
            if mark.detect(key, text, vocab).flagged:
                break
        else:
            raise TrialFailed(f"no flagged reply in {MAX_ROUNDS} generations")
        edits = int(np.floor(self.budget * len(text)))
        public.update(prompt=tuple(prompt), request=request, text=text, edits=edits)
        return Challenge(
            oracles={},
            public=public,
            secret={"key": key, "vocab": vocab, "text": text, "edits": edits},
        )

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        secret = challenge.secret
        ids = _token_array(answer, secret["vocab"]).tolist()
        distance = edit_distance(secret["text"], ids)
        if distance > secret["edits"]:
            raise InvalidAnswer(
                f"the answer is {distance} edits from the text; at most {secret['edits']} allowed"
            )
        return not self.mark().detect(secret["key"], ids, secret["vocab"]).flagged


@register("watermark-undetectable")
@attrs.frozen(kw_only=True)
class Undetectable(Marked, RealIdeal):
    """Tell watermarked generations from the model's own, without the key (real vs ideal).

    The oracle ``generate(request)`` answers a user request (a string) with the token ids
    of a reply of ``length`` new tokens: watermarked under the trial's key in the real world,
    sampled from the model at temperature 1 in the ideal one. ``queries`` calls per trial.
    Public: the scheme's description (no key), ``vocab`` and ``model``.

    The exponential scheme's uniforms are a function of the key and the context, so the
    same request twice gives the same reply up to its first repeated context (``exp``) or
    entirely (``exp-reused``, which never falls back to sampling): a two-query adversary
    sees the repetition. That repeated-context term is part of the scheme's bound.

    ``top_k`` cuts the model to its ``k`` most likely tokens in both worlds (the sampler a
    deployment runs; None: the whole vocabulary), and the exponential scheme then reads
    ``k`` uniforms per token instead of one per vocabulary entry.
    """

    scheme: str = _scheme_field("exp")
    length: int = param(48, help="new tokens per reply", check=integer(4, 512))
    queries: int = param(2, help="generations the adversary may ask for", check=integer(1))
    top_k: int | None = param(
        None, help="sample from the k most likely tokens (None: all)", check=_optional_count
    )

    def mark(self) -> Watermark:
        return attrs.evolve(super().mark(), top_k=self.top_k)

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        model, mark, key, public = self.keyed(rng)

        def generate(request: str) -> tuple[int, ...]:
            if not isinstance(request, str) or not 0 < len(request) <= MAX_REQUEST:
                raise InvalidArgument(
                    f"request must be a non-empty string of at most {MAX_REQUEST} characters"
                )
            prompt = model.encode(request)
            if world == REAL:
                (reply,) = mark.generate(model, key, [prompt], max_new_tokens=self.length, rng=rng)
            else:
                (reply,) = model.sample(
                    [prompt],
                    max_new_tokens=self.length,
                    temperature=1.0,
                    rng=rng,
                    processor=None if self.top_k is None else _truncation(self.top_k),
                )
            return tuple(reply)

        return Challenge(
            oracles={"generate": generate},
            budgets={"generate": self.queries},
            public=public,
            secret={"key": key},
        )
