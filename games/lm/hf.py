"""The transformers runtime: any local causal LM checkpoint as a language model.

:class:`TransformersModel` is the adapter behind ``tiny``, ``smollm2`` and ``hf:PATH``. It
is all three capabilities of :mod:`games.lm.base`: batched chat generation, next-token
log-probabilities with token-level sampling, and white-box access to the module.

Generation runs ``module.generate`` with a fresh :class:`~transformers.GenerationConfig`
(the checkpoint's own sampling defaults are not used, so a temperature means the same on
every model) and greedy selection over logits rewritten by processors: an optional user
processor (a watermark) and, when ``temperature > 0``, a sampler that draws the token with
a ``torch.Generator`` seeded from the caller's numpy generator. Nothing touches torch's
global random state.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
)
from transformers.utils import logging as transformers_logging

from games.lm.base import (
    Chat,
    ChatLike,
    Decoding,
    Generation,
    ModelError,
    NextToken,
    Processor,
    TokenModel,
    as_chat,
)
from oracles import InvalidArgument

__all__ = [
    "FALLBACK_TEMPLATE",
    "TransformersModel",
    "load_pretrained",
    "quiet_loading",
    "torch_generator",
]

#: The chat template used for a checkpoint that has none (a base model).
FALLBACK_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


def torch_generator(
    rng: np.random.Generator, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A ``torch.Generator`` seeded from the numpy generator (one draw from it)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(rng.integers(2**63 - 1)))
    return generator


class _Sampler(LogitsProcessor):
    """Draws the next token at a temperature and leaves only it selectable."""

    def __init__(self, temperature: float, generator: torch.Generator) -> None:
        self.temperature = temperature
        self.generator = generator

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        chosen = torch.multinomial(probs, 1, generator=self.generator)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, chosen, 0.0)


class _NumpyProcessor(LogitsProcessor):
    """A numpy :data:`~games.lm.base.Processor` as a transformers logits processor."""

    def __init__(self, processor: Processor) -> None:
        self.processor = processor

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        out = self.processor(input_ids.cpu().numpy(), scores.float().cpu().numpy())
        out = np.asarray(out, dtype=np.float32)
        if out.shape != tuple(scores.shape):
            raise InvalidArgument(
                f"processor returned logits of shape {out.shape}, expected {tuple(scores.shape)}"
            )
        return torch.from_numpy(out).to(device=scores.device, dtype=scores.dtype)


class TransformersModel(TokenModel):
    """A transformers causal LM and its tokenizer as a :class:`~games.lm.base.LanguageModel`.

    Args:
        module: a ``transformers`` causal LM (``PreTrainedModel``), in eval mode.
        tokenizer: its tokenizer; a chat template is required (:data:`FALLBACK_TEMPLATE` is
            set by :func:`load_pretrained` when the checkpoint has none).
        spec: the model spec it was loaded from (for messages and records).
        batch_size: prompts per forward pass.
    """

    def __init__(
        self, module: Any, tokenizer: Any, *, spec: str = "hf", batch_size: int = 32
    ) -> None:
        self._module = module
        self._tokenizer = tokenizer
        self.spec = spec
        self.batch_size = batch_size
        stops = {tokenizer.eos_token_id}
        configured = getattr(module.generation_config, "eos_token_id", None)
        stops.update(configured if isinstance(configured, list) else [configured])
        self.stop_ids = tuple(sorted(i for i in stops if i is not None))
        if not self.stop_ids:
            raise ModelError(f"model {spec!r}: the tokenizer has no end-of-sequence token")
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.stop_ids[0])

    # -- white box --------------------------------------------------------------------

    @property
    def module(self) -> Any:
        return self._module

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        return next(self._module.parameters()).device

    # -- scorer -----------------------------------------------------------------------

    def encode(self, chat: ChatLike) -> tuple[int, ...]:
        messages = [m.as_dict() for m in as_chat(chat)]
        text = self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return tuple(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=True)

    @property
    def vocab_size(self) -> int:
        return int(self._module.get_output_embeddings().weight.shape[0])

    def _padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        return ids.to(self.device), mask.to(self.device)

    @torch.no_grad()
    def _logprobs(self, rows: list[tuple[int, ...]], top_k: int | None) -> list[NextToken]:
        out: list[NextToken] = []
        for start in range(0, len(rows), self.batch_size):
            ids, mask = self._padded(rows[start : start + self.batch_size])
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = self._module(input_ids=ids, attention_mask=mask, position_ids=positions).logits
            logp = torch.log_softmax(logits[:, -1].float(), dim=-1)
            if top_k is None:
                every = np.arange(logp.shape[-1])
                out.extend(
                    NextToken(ids=every, logprobs=row, full=True) for row in logp.cpu().numpy()
                )
            else:
                values, index = torch.topk(logp, min(top_k, logp.shape[-1]), dim=-1)
                for v, i in zip(values.cpu().numpy(), index.cpu().numpy(), strict=True):
                    out.append(NextToken(ids=i.astype(np.int64), logprobs=v, full=False))
        return out

    # -- generation -------------------------------------------------------------------

    def _generate(self, chats: list[Chat], how: Decoding) -> list[Generation]:
        rows = [self.encode(chat) for chat in chats]
        outputs = self._sample(rows, how)
        return [
            Generation(
                text=self.decode(t[:-1] if t and t[-1] in self.stop_ids else t),
                prompt_tokens=len(row),
                completion_tokens=len(t),
                finish="stop" if t and t[-1] in self.stop_ids else "length",
                tokens=t,
            )
            for row, t in zip(rows, outputs, strict=True)
        ]

    @torch.no_grad()
    def _sample(self, rows: list[tuple[int, ...]], how: Decoding) -> list[tuple[int, ...]]:
        if not isinstance(how.rng, np.random.Generator):
            raise InvalidArgument(f"rng={how.rng!r} must be a numpy Generator")
        if not rows:
            return []
        config = GenerationConfig(
            max_new_tokens=how.max_new_tokens,
            do_sample=False,
            eos_token_id=list(self.stop_ids),
            pad_token_id=self.pad_id,
        )
        processors = LogitsProcessorList()
        if how.processor is not None:
            processors.append(_NumpyProcessor(how.processor))
        if how.temperature > 0:
            processors.append(_Sampler(how.temperature, torch_generator(how.rng, self.device)))
        out: list[tuple[int, ...]] = []
        stops = set(self.stop_ids)
        for start in range(0, len(rows), self.batch_size):
            ids, mask = self._padded(rows[start : start + self.batch_size])
            sequences = self._module.generate(
                input_ids=ids,
                attention_mask=mask,
                generation_config=config,
                logits_processor=processors,
            )
            for row in sequences[:, ids.shape[1] :].tolist():
                cut = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
                out.append(tuple(row[:cut]))
        return out


def load_pretrained(
    path: str | pathlib.Path, *, spec: str | None = None, device: str | None = None
) -> TransformersModel:
    """A local transformers checkpoint (``save_pretrained`` output), never the network.

    Raises :class:`~games.lm.base.ModelError` with one line when the directory is missing,
    has no tokenizer, or its weights do not load.
    """
    path = pathlib.Path(path).expanduser()
    spec = spec or f"hf:{path}"
    if not path.is_dir():
        raise ModelError(f"model {spec!r}: {path} is not a directory")
    if not any((path / name).exists() for name in ("tokenizer.json", "tokenizer_config.json")):
        raise ModelError(
            f"model {spec!r}: {path} has no tokenizer (tokenizer.json or tokenizer_config.json); "
            "save one there with tokenizer.save_pretrained"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as error:
        raise ModelError(f"model {spec!r}: the tokenizer does not load: {_line(error)}") from None
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_TEMPLATE
    try:
        with quiet_loading():
            module = AutoModelForCausalLM.from_pretrained(  # type: ignore[arg-type]
                str(path), local_files_only=True, dtype=torch.float32
            )
    except Exception as error:
        raise ModelError(f"model {spec!r}: the weights do not load: {_line(error)}") from None
    module.eval()
    if device is not None:
        module.to(device)  # type: ignore[arg-type]
    return TransformersModel(module, tokenizer, spec=spec)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers' progress bars off while a model loads: its "Loading weights" bar would
    cut into the lines of a run's own progress (the tour's rows, say)."""
    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            transformers_logging.enable_progress_bar()


def _line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:300] + "…") if len(text) > 300 else text or type(error).__name__
