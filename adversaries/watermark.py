"""Attacks on text watermarks (:mod:`games.lm.watermark`, :mod:`games.lm.forgery`).

Each sees only the public values: the scheme's description, the vocabulary size and the
text handed over. None of them knows the PRF key.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from oracles import InvalidArgument, Oracles, checks

__all__ = [
    "BigramStealing",
    "GreenListStealing",
    "Human",
    "ModelReply",
    "Paraphrase",
    "RepeatedContinuation",
    "Repetitive",
    "SameRequest",
    "Substitute",
    "Unchanged",
    "own_model",
]


@register("human-text", games=("watermark-soundness",))
@attrs.frozen(kw_only=True)
class Human:
    """The trivial soundness adversary: submits the corpus story it was given."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return oracles.public["human"]


@register("repetitive", games=("watermark-soundness",))
@attrs.frozen(kw_only=True)
class Repetitive:
    """Repetitive text: one token of the human text, ``length`` times over.

    Every scored (context, token) pair is the same, so a detector that counts repeats sees
    either no green token or all of them: flagged with probability about γ.
    """

    length: int = attrs.field(default=64)

    @length.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 2)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        human = oracles.public["human"]
        token = int(human[int(rng.integers(len(human)))])
        return (token,) * self.length


@register("unchanged", games=("watermark-removal",))
@attrs.frozen(kw_only=True)
class Unchanged:
    """The trivial removal adversary: returns the watermarked text as it was given."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return oracles.public["text"]


@register("substitute", games=("watermark-removal",))
@attrs.frozen(kw_only=True)
class Substitute:
    """Token substitutions at random positions, spending the whole edit budget.

    Each substituted token is drawn uniformly from the vocabulary (a different token); with
    ``h ≥ 1`` one substitution changes ``h + 1`` scored pairs.
    ``fraction`` of the budget is spent (1.0: all of it).
    """

    fraction: float = attrs.field(default=1.0)

    @fraction.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InvalidArgument(f"fraction={value!r} must be a number in [0, 1]")

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        text = list(oracles.public["text"])
        edits = int(np.floor(self.fraction * oracles.public["edits"]))
        vocab = int(oracles.public["vocab"])
        positions = rng.choice(len(text), size=min(edits, len(text)), replace=False)
        for i in positions:
            choices = [t for t in range(vocab) if t != text[i]]
            text[i] = int(choices[int(rng.integers(len(choices)))])
        return tuple(text)


@register("paraphrase", games=("watermark-removal",))
@attrs.frozen(kw_only=True)
class Paraphrase:
    """A language model rewrites the flagged text; the rewrite is cut to the edit budget.

    ``model`` is any :class:`~games.lm.LanguageModel` spec (None: the public model, which
    writes without the watermark: only the challenger holds the key). It is asked
    ``instruction`` with ``{text}`` (the flagged text, decoded) and ``{request}`` (the
    request it answered) filled in, at ``temperature`` with the attack's own coins. Its reply
    is tokenized by the game's tokenizer. When the rewrite lies more edits away than the
    budget allows, the answer is the longest prefix of the rewrite followed by the rest of
    the flagged text that fits (a prefix of j tokens costs at most j edits).

    The tiny model was taught no rewriting: ``instruction="{request}"`` has it write its own
    reply to the same request, the rewrite it can do. A capable model (``smollm2``,
    ``openai:…``) takes the default instruction.
    """

    model: str | None = None
    instruction: str = "Paraphrase this text, keeping its meaning:\n{text}"
    temperature: float = attrs.field(default=1.0)

    @temperature.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.number(attribute.name, value, 0, 10)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        from games import lm
        from games.lm.watermark import text_ids

        public = oracles.public
        own = own_model(public)
        text = tuple(int(t) for t in public["text"])
        writer = own if self.model is None else lm.load(self.model)
        chat = self.instruction.format(text=own.decode(text), request=public["request"])
        (reply,) = writer.generate(
            [chat], max_new_tokens=2 * len(text), temperature=self.temperature, rng=rng
        )
        return _within_budget(text, text_ids(own, reply.text), int(public["edits"]))


def _within_budget(text: tuple, rewrite: tuple, edits: int) -> tuple:
    """``rewrite`` if it is at most ``edits`` from ``text``, else its longest prefix that,
    followed by the rest of ``text``, is."""
    from games.lm.watermark import edit_distance

    if rewrite and edit_distance(text, rewrite) <= edits:
        return rewrite
    for j in range(min(len(rewrite), len(text)), 0, -1):
        spliced = rewrite[:j] + text[j:]
        if edit_distance(text, spliced) <= edits:
            return spliced
    return text


@register("same-request", games=("watermark-undetectable",))
@attrs.frozen(kw_only=True)
class SameRequest:
    """Asks for the same story twice and answers real when the two replies are identical.

    A keyed scheme that is a function of (key, context) repeats itself; the model sampling
    at temperature 1 almost never does over a whole reply.
    """

    request: str = "Tell me a story about a fox."

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        first = oracles["generate"](self.request)
        second = oracles["generate"](self.request)
        return int(tuple(first) == tuple(second))


def own_model(public: Any) -> Any:
    """The public model, loaded by the adversary itself (only the key is secret)."""
    from games import lm

    return lm.scorer(lm.load(public["model"]))


def _marked_and_plain(oracles: Oracles, rng: np.random.Generator) -> tuple[list, list]:
    """The watermarked replies to the public requests (the whole query budget), and the
    public model's own replies to the same requests, sampled with the adversary's coins:
    what the stealing attacks compare."""
    public = oracles.public
    generate = oracles["generate"]
    budget = generate.budget if generate.budget is not None else 64
    requests = [public["requests"][i % len(public["requests"])] for i in range(budget)]
    if not requests:
        return [], []
    model = own_model(public)
    plain = model.sample(
        [model.encode(r) for r in requests], max_new_tokens=48, temperature=1.0, rng=rng
    )
    return list(generate(requests)), plain


@register("model-reply", games=("watermark-forgery",))
@attrs.frozen(kw_only=True)
class ModelReply:
    """The trivial forger: answers the target prompt with the public model, unwatermarked."""

    length: int = attrs.field(default=48)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        model = own_model(oracles.public)
        prompt = model.encode(oracles.public["prompt"])
        (reply,) = model.sample([prompt], max_new_tokens=self.length, temperature=1.0, rng=rng)
        return tuple(int(t) for t in reply)


@register("green-list-stealing", games=("watermark-forgery", "green-list-hidden"))
@attrs.frozen(kw_only=True)
class GreenListStealing:
    """Watermark stealing (Jovanović et al. 2024) for ``h = 0``: learn the green list, write it.

    Spends the whole ``generate`` budget on the public story requests (other than the
    target), samples as many replies to the same requests from the public model itself
    (no watermark), and ranks each token by the ratio of its smoothed frequency in the
    watermarked replies to that in its own: a green token's logit was raised by δ, so it
    turns up more often. The forgery is the ``length`` best-ranked tokens, each once (a
    repeated token is scored once), so it copies no run of the replies but by chance.

    Against ``h ≥ 1`` a token is green after only a fraction γ of contexts, so the
    frequency ratio carries little of the green lists and the forgery mostly fails.
    """

    length: int = attrs.field(default=48)

    @length.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 1)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        public = oracles.public
        marked, plain = _marked_and_plain(oracles, rng)
        vocab = int(public["vocab"])
        ratio = _frequencies(marked, vocab) / _frequencies(plain, vocab)
        ranked = np.argsort(-ratio, kind="stable")
        return tuple(int(t) for t in ranked[: self.length])


def _frequencies(replies: Any, vocab: int) -> np.ndarray:
    """Each token's add-one smoothed frequency in ``replies``."""
    counts = np.ones(vocab)
    for reply in replies:
        np.add.at(counts, np.asarray(reply, dtype=np.int64), 1)
    return counts / counts.sum()


@register("repeated-continuation", games=("watermark-undetectable",))
@attrs.frozen(kw_only=True)
class RepeatedContinuation:
    """One story; answers real when repeated contexts are followed by the same token too often.

    A scheme that reuses the uniforms of a repeated context (``exp-reused``) tends to
    continue it as it did before, and falls into loops; the model and ``exp`` (fresh
    sampling on a repeated context) rarely do. Real when at least ``least`` repeated
    contexts repeat their continuation, and at least ``fraction`` of them.
    """

    request: str = "Tell me a story about a fox."
    least: int = 3
    fraction: float = 0.25

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        reply = list(oracles["generate"](self.request))
        h = max(int(oracles.public.get("h", 1)), 1)
        seen: dict[tuple[int, ...], list[int]] = {}
        same = total = 0
        for i in range(h, len(reply)):
            context = tuple(reply[i - h : i])
            earlier = seen.setdefault(context, [])
            total += len(earlier)
            same += sum(t == reply[i] for t in earlier)
            earlier.append(reply[i])
        return int(same >= self.least and same >= self.fraction * max(total, 1))


@register("bigram-stealing", games=("watermark-forgery", "green-list-hidden"))
@attrs.frozen(kw_only=True)
class BigramStealing:
    """Watermark stealing for ``h = 1``: walk the (previous, next) pairs the watermark favoured.

    Spends the budget as :class:`GreenListStealing` does and samples as many plain replies
    from the public model. A pair seen in the watermarked replies and never in the plain
    ones is likely green after its context (its logit got +δ). The forgery walks such pairs,
    each once, never letting ``avoid`` tokens in a row match a watermarked reply (no copy),
    and jumps to the start of an unused pair when stuck (that one pair is green at rate γ).
    """

    length: int = attrs.field(default=48)
    avoid: int = attrs.field(default=6)

    @length.validator
    def _check_length(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 2)

    @avoid.validator
    def _check_avoid(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 2)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        marked, plain = _marked_and_plain(oracles, rng)
        seen_plain = {pair for reply in plain for pair in zip(reply, reply[1:], strict=False)}
        edges: dict[int, list[int]] = {}
        for reply in marked:
            for a, b in zip(reply, reply[1:], strict=False):
                if (a, b) not in seen_plain and b not in edges.setdefault(a, []):
                    edges[a].append(b)
        runs = {tuple(r[i : i + self.avoid]) for r in marked for i in range(len(r))}
        return tuple(_walk(edges, runs, self.avoid, self.length, rng))


def _walk(
    edges: dict[int, list[int]], runs: set, avoid: int, length: int, rng: np.random.Generator
) -> list[int]:
    """A text of about ``length`` pairs taken from ``edges``, each pair once, no run in ``runs``."""
    text: list[int] = []
    while len(text) < length + 1:
        starts = [a for a, nexts in edges.items() if nexts]
        if not starts:
            break
        current = text[-1] if text and edges.get(text[-1]) else None
        if current is None:
            text.append(int(starts[int(rng.integers(len(starts)))]))
            continue
        nexts = edges[current]
        order = rng.permutation(len(nexts))
        for i in order:
            b = nexts[i]
            if tuple([*text[-(avoid - 1) :], b]) not in runs:
                nexts.pop(i)
                text.append(int(b))
                break
        else:
            edges[current] = []
    return text
