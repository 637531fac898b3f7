"""The tiny model: a small Llama-style chat model trained here on the synthetic corpus.

It is a world whose policy is known exactly (:mod:`games.lm.corpus` states it): benign
requests answered, forbidden ones refused unless a privileged context unlocks them, a
secret kept but leaked under some attacks, tool calls, and instructions followed wherever
they appear. Its measured behaviour varies by seed (README, "Language models"), so games
take the seed as a parameter (``tiny:SEED``).

Training is by step count, deterministic by seed (explicit ``torch.Generator`` for the
initial weights, a numpy generator for the data, no dropout), in two stages: a copying
curriculum (:data:`corpus.STAGES`) and then the full grammar. The result is saved with
``save_pretrained`` into the cache (:mod:`games.lm.cache`), keyed by a hash of the corpus,
the configuration, the seed and the library versions, and is loaded through the same path
as any ``hf:`` checkpoint.

Deterministic means the same weights on one machine with one set of library versions:
across CPUs torch's float kernels differ (AVX2 against AVX-512, say) and twelve hundred
steps carry the difference into what the model says. So ``tiny:0``, which the docs' and
tests' figures are measured on, ships with the package (:data:`SHIPPED`, trained by
:func:`train`; its ``entry.json`` names the machine) and every machine plays the same
model; other seeds are trained on first use.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np

from games.lm import cache, corpus
from oracles import InvalidArgument

__all__ = [
    "DEFAULT",
    "TinyConfig",
    "SHIPPED",
    "cache_name",
    "load",
    "path",
    "shipped",
    "tokenizer_sample",
    "train",
    "trained",
    "weights_hash",
]


def _positive(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{attribute.name}={value!r} must be a positive integer")


def _non_negative(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{attribute.name}={value!r} must be a non-negative integer")


def _rate(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InvalidArgument(f"{attribute.name}={value!r} must be in (0, 1)")


@attrs.frozen(kw_only=True)
class TinyConfig:
    """The tiny model's architecture and training schedule (all hashed into the cache key)."""

    hidden: int = attrs.field(default=96, validator=_positive)
    layers: int = attrs.field(default=3, validator=_positive)
    heads: int = attrs.field(default=4, validator=_positive)
    intermediate: int = attrs.field(default=256, validator=_positive)
    vocab: int = attrs.field(default=768, validator=_positive)
    context: int = attrs.field(default=512, validator=_positive)
    copy_steps: int = attrs.field(default=600, validator=_non_negative)
    steps: int = attrs.field(default=600, validator=_non_negative)
    batch: int = attrs.field(default=32, validator=_positive)
    lr: float = attrs.field(default=5e-3, validator=_rate)
    warmup: int = attrs.field(default=30, validator=_non_negative)
    weight_decay: float = attrs.field(default=0.01, validator=_rate)

    def __attrs_post_init__(self) -> None:
        if self.hidden % self.heads:
            raise InvalidArgument(f"hidden={self.hidden} must be a multiple of heads={self.heads}")


DEFAULT = TinyConfig()
_TOKENIZER_SAMPLE = 3000


@functools.cache
def tokenizer_sample() -> tuple[str, ...]:
    """The fixed corpus sample the tokenizer is trained on (the same for every seed)."""
    rng = np.random.default_rng(0)
    texts = [corpus.render(e.messages) for e in corpus.examples(rng, _TOKENIZER_SAMPLE)]
    texts += [corpus.render(e.messages) for e in corpus.examples(rng, 500, "copy")]
    return tuple(texts)


def _versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers

    def minor(version: str) -> str:
        return ".".join(version.split("+")[0].split(".")[:2])

    return {
        "torch": minor(torch.__version__),
        "transformers": minor(transformers.__version__),
        "tokenizers": minor(tokenizers.__version__),
    }


def cache_name(seed: int = 0, config: TinyConfig = DEFAULT) -> str:
    """The cache entry's name: ``tiny-s<seed>-<hash of corpus, config, seed, versions>``."""
    seed = _check_seed(seed)
    text = "".join(tokenizer_sample())
    sample = hashlib.sha256(text.encode()).hexdigest()
    key = cache.digest(corpus.CORPUS_VERSION, sample, attrs.asdict(config), seed, _versions())
    return f"tiny-s{seed}-{key}"


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


# --- training ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _bpe(vocab: int) -> str:
    """The byte-level BPE tokenizer trained on :func:`tokenizer_sample`, as JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=list(corpus.SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(tokenizer_sample(), trainer)
    return bpe.to_str()


def _tokenizer(config: TinyConfig) -> Any:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_bpe(config.vocab)),
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=[
            t for t in corpus.SPECIAL_TOKENS if t not in ("<|end|>", "<|pad|>")
        ],
        chat_template=corpus.CHAT_TEMPLATE,
        model_max_length=config.context,
    )


def _module(config: TinyConfig, tokenizer: Any, generator: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    end, pad = tokenizer.convert_tokens_to_ids(["<|end|>", "<|pad|>"])
    llama = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        intermediate_size=config.intermediate,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=config.context,
        tie_word_embeddings=True,
        bos_token_id=end,
        eos_token_id=end,
        pad_token_id=pad,
    )
    # The constructor initialises weights from torch's global generator; fork_rng puts the
    # global state back afterwards, and the weights are drawn again from ours.
    with torch.random.fork_rng(devices=[]):
        module = LlamaForCausalLM(llama)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("norm.weight"):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.02, generator=generator)
    module.generation_config.eos_token_id = end
    module.generation_config.pad_token_id = pad
    module.generation_config.bos_token_id = None
    return module


def _encode(tokenizer: Any, examples: list[corpus.Example]) -> list[tuple[list[int], list[int]]]:
    """Token ids of each chat and its labels (-100 except on the assistant's replies)."""
    texts = [corpus.render([m]) for e in examples for m in e.messages]
    pieces = iter(tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False))
    out = []
    for example in examples:
        ids: list[int] = []
        labels: list[int] = []
        for message in example.messages:
            piece = next(pieces).ids
            ids += piece
            if message.role == "assistant":
                labels += [-100] + piece[1:]  # the reply and its <|end|>, not the role token
            else:
                labels += [-100] * len(piece)
        out.append((ids, labels))
    return out


def _batches(
    tokenizer: Any, rng: np.random.Generator, config: TinyConfig, stage: str
) -> Iterator[list[tuple[list[int], list[int]]]]:
    # Eight batches at a time are drawn, sorted by length and shuffled, so padding is small.
    group = 8
    while True:
        drawn = _encode(tokenizer, list(corpus.examples(rng, group * config.batch, stage)))
        drawn = [(ids[: config.context], lab[: config.context]) for ids, lab in drawn]
        drawn.sort(key=lambda pair: len(pair[0]))
        chunks = [drawn[j * config.batch : (j + 1) * config.batch] for j in range(group)]
        for k in rng.permutation(group):
            yield chunks[k]


def _tensors(batch: list[tuple[list[int], list[int]]], pad: int) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (tokens, targets) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        labels[row, : len(targets)] = torch.tensor(targets)
        mask[row, : len(tokens)] = 1
    return ids, labels, mask


def train(
    seed: int, directory: str | pathlib.Path, config: TinyConfig = DEFAULT, *, log: Any = None
) -> dict[str, Any]:
    """Train the tiny model for ``seed`` and save it (``save_pretrained``) in ``directory``.

    Deterministic: the same seed and configuration give the same weights on the same
    machine and library versions. Returns a description (steps, seconds, loss, hash).
    ``log`` is called with ``(step, total, loss)`` every 50 steps.
    """
    import torch

    seed = _check_seed(seed)
    started = time.perf_counter()
    directory = pathlib.Path(directory)
    tokenizer = _tokenizer(config)
    generator = torch.Generator().manual_seed(seed)
    module = _module(config, tokenizer, generator)
    module.train()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x7199,)))
    total = config.copy_steps + config.steps
    decayed = [p for n, p in module.named_parameters() if p.dim() >= 2]
    kept = [p for n, p in module.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decayed, "weight_decay": config.weight_decay},
            {"params": kept, "weight_decay": 0.0},
        ],
        lr=config.lr,
        betas=(0.9, 0.98),
    )
    pad = tokenizer.pad_token_id
    stages = [("copy", config.copy_steps), ("full", config.steps)]
    step = 0
    loss_value = math.nan
    recent: list[float] = []
    for stage, count in stages:
        batches = _batches(tokenizer, rng, config, stage)
        for _ in range(count):
            warm = min(1.0, (step + 1) / max(config.warmup, 1))
            cosine = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
            for group in optimizer.param_groups:
                group["lr"] = config.lr * warm * cosine
            ids, labels, mask = _tensors(next(batches), pad)
            loss = module(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"tiny model, seed {seed}: the loss became {loss_value}")
            recent = (recent + [loss_value])[-50:]
            step += 1
            if log is not None and (step % 50 == 0 or step == total):
                log(step, total, float(np.mean(recent)))
    module.eval()
    module.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return {
        "kind": "tiny",
        "seed": seed,
        "config": attrs.asdict(config),
        "corpus_version": corpus.CORPUS_VERSION,
        "parameters": sum(p.numel() for p in module.parameters()),
        "steps": total,
        "final_loss": float(np.mean(recent)) if recent else None,
        "weights": weights_hash(module),
        "seconds": round(time.perf_counter() - started, 2),
        "versions": _versions(),
    }


def weights_hash(module: Any) -> str:
    """A hash of a module's parameters (names, shapes and bytes), to compare trainings."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def trained(seed: int = 0, config: TinyConfig = DEFAULT) -> bool:
    """Whether the tiny model for ``seed`` ships or is in the cache (loading it will not
    train it)."""
    return shipped(seed, config) is not None or cache.has(cache_name(seed, config))


#: The checkpoint of ``tiny:0`` that ships with the package (see the module's docstring).
SHIPPED = pathlib.Path(__file__).parent / "data" / "tiny-s0"


def shipped(seed: int = 0, config: TinyConfig = DEFAULT) -> pathlib.Path | None:
    """The shipped checkpoint for ``seed`` and ``config``, or None: only seed 0 with the
    default configuration ships, and only while the corpus it was trained on is the
    current one."""
    entry = SHIPPED / "entry.json"
    if _check_seed(seed) != 0 or config != DEFAULT or not entry.exists():
        return None
    info = json.loads(entry.read_text())
    if info.get("corpus_version") != corpus.CORPUS_VERSION or info.get("config") != attrs.asdict(
        config
    ):
        return None
    return SHIPPED


def path(
    seed: int = 0, config: TinyConfig = DEFAULT, *, rebuild: bool = False, log: Any = None
) -> pathlib.Path:
    """The checkpoint directory for ``seed``: the shipped one for ``tiny:0``, else the
    cached one, trained first if it is not there.

    ``rebuild`` trains again into the cache, for seed 0 too (to compare a training on this
    machine with the shipped weights; ``tiny:0`` still loads the shipped ones). Two
    processes asking at once train once (a file lock); the other waits and reuses it.
    """
    ship = None if rebuild else shipped(seed, config)
    if ship is not None:
        return ship
    name = cache_name(seed, config)
    return cache.build(name, lambda d: train(seed, d, config, log=log), rebuild=rebuild)


def load(seed: int = 0, *, device: str | None = None, config: TinyConfig = DEFAULT) -> Any:
    """The tiny model for ``seed`` as a :class:`~games.lm.hf.TransformersModel`."""
    from games.lm.hf import load_pretrained

    spec = f"tiny:{seed}" if config == DEFAULT else f"tiny:{seed} (custom config)"
    return load_pretrained(path(seed, config), spec=spec, device=device)
