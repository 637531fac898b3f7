"""The llama.cpp runtime (``xllamacpp``): a GGUF file as a language model, in this process.

:class:`LlamaCppModel` is the adapter behind ``smollm2:llamacpp`` and ``llamacpp:PATH``: it
runs llama.cpp's server code in-process (``xllamacpp.Server``) and calls its chat and
completion handlers directly. It generates (batched requests go through one after the
other) and gives top-k next-token log-probabilities with token ids; sampling token by
token with a logits processor is restricted to the top ``sample_top_k`` tokens, because
llama.cpp reports no more.

``xllamacpp.Server`` also listens on 127.0.0.1 (a free port): :func:`serve` keeps one
running as llama.cpp's OpenAI-compatible HTTP server (``python -m games.lm.serve PATH
--port N``), which the ``openai:`` adapter talks to.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from games.lm.base import (
    Chat,
    ChatLike,
    Decoding,
    EndpointError,
    Generation,
    ModelError,
    NextToken,
    TokenModel,
    as_chat,
    missing_extra,
)

__all__ = ["LlamaCppModel", "load_gguf", "serve"]

#: Request fields that turn llama.cpp's default sampler chain (top-k 40, top-p 0.95,
#: min-p 0.05, repetition penalties) off, so a temperature means plain softmax sampling.
PLAIN_SAMPLING = {
    "top_k": 0,
    "top_p": 1.0,
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}


def _params(path: pathlib.Path, *, n_ctx: int, threads: int | None, port: int) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.port = port
    params.verbosity = -1
    count = threads or min(os.cpu_count() or 1, 4)
    params.cpuparams.n_threads = count
    params.cpuparams_batch.n_threads = count
    return params


def _server(path: pathlib.Path, spec: str, *, n_ctx: int, threads: int | None, port: int) -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise missing_extra(spec, "xllamacpp") from None
    if not path.is_file():
        raise ModelError(f"model {spec!r}: {path} is not a file")
    try:
        return xllamacpp.Server(_params(path, n_ctx=n_ctx, threads=threads, port=port))
    except RuntimeError as error:
        raise ModelError(f"model {spec!r}: the GGUF file {path} does not load ({error})") from None


class LlamaCppModel(TokenModel):
    """A GGUF model run by llama.cpp in this process (see the module docstring).

    Args:
        path: the GGUF file.
        spec: the model spec it was loaded from.
        n_ctx: context length in tokens (prompt and reply together).
        threads: CPU threads (default: up to 4).
        sample_top_k: how many tokens :meth:`sample` considers at each step.
    """

    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        spec: str | None = None,
        n_ctx: int = 4096,
        threads: int | None = None,
        sample_top_k: int = 64,
    ) -> None:
        self.path = pathlib.Path(path)
        self.spec = spec or f"llamacpp:{self.path}"
        self.sample_top_k = sample_top_k
        self._server = _server(self.path, self.spec, n_ctx=n_ctx, threads=threads, port=0)
        self._address = str(self._server.listening_address)
        # The server code serves one request at a time per slot; callers from several
        # threads (the openai benchmark's comparison) queue here.
        self._lock = threading.Lock()
        self._stops: set[int] | None = None
        self._vocab: int | None = None

    # -- plumbing ---------------------------------------------------------------------

    def _call(self, handler: str, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reply = getattr(self._server, handler)(request)
        if not isinstance(reply, dict) or "choices" not in reply:
            raise EndpointError(f"model {self.spec!r}: llama.cpp answered {str(reply)[:200]}")
        return reply

    def _http(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._address + route,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    # -- generation -------------------------------------------------------------------

    def _generate(self, chats: list[Chat], how: Decoding) -> list[Generation]:
        out = []
        for chat in chats:
            request = {
                "messages": [m.as_dict() for m in chat],
                "max_tokens": how.max_new_tokens,
                "temperature": how.temperature,
                "seed": int(how.rng.integers(2**31 - 1)) if how.temperature > 0 else 0,
                **PLAIN_SAMPLING,
            }
            reply = self._call("handle_chat_completions", request)
            choice = reply["choices"][0]
            usage = reply.get("usage", {})
            out.append(
                Generation(
                    text=choice["message"].get("content") or "",
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                    finish="length" if choice.get("finish_reason") == "length" else "stop",
                )
            )
        return out

    # -- scorer -----------------------------------------------------------------------

    def encode(self, chat: ChatLike) -> tuple[int, ...]:
        messages = [m.as_dict() for m in as_chat(chat)]
        prompt = self._http("/apply-template", {"messages": messages})["prompt"]
        tokens = self._http(
            "/tokenize", {"content": prompt, "add_special": False, "parse_special": True}
        )["tokens"]
        return tuple(int(t) for t in tokens)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._http("/detokenize", {"tokens": [int(t) for t in ids]})["content"])

    def _top(self, ids: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
        reply = self._call(
            "handle_completions",
            {"prompt": ids, "max_tokens": 1, "n_probs": k, "temperature": 0, **PLAIN_SAMPLING},
        )
        entries = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        return (
            np.array([e["id"] for e in entries], dtype=np.int64),
            np.array([e["logprob"] for e in entries], dtype=np.float32),
        )

    def _logprobs(self, rows: list[tuple[int, ...]], top_k: int | None) -> list[NextToken]:
        if top_k is None:
            raise ModelError(
                f"model {self.spec!r} reports only the top tokens: pass top_k (e.g. 20)"
            )
        out = []
        for row in rows:
            ids, logprobs = self._top(list(row), top_k)
            out.append(NextToken(ids=ids, logprobs=logprobs, full=False))
        return out

    def _sample(self, rows: list[tuple[int, ...]], how: Decoding) -> list[tuple[int, ...]]:
        stop = self._stop_ids()
        out = []
        for row in rows:
            ids = list(row)
            new: list[int] = []
            for _ in range(how.max_new_tokens):
                top, logprobs = self._top(ids + new, self.sample_top_k)
                if how.processor is not None:
                    full = np.full((1, self.vocab_size), -np.inf, dtype=np.float32)
                    full[0, top] = logprobs
                    full = np.asarray(how.processor(np.array([ids + new]), full), np.float32)
                    logprobs = full[0, top]
                if how.temperature == 0:
                    token = int(top[int(np.argmax(logprobs))])
                else:
                    scaled = logprobs / how.temperature
                    p = np.exp(scaled - scaled.max())
                    token = int(top[int(how.rng.choice(len(top), p=p / p.sum()))])
                new.append(token)
                if token in stop:
                    break
            out.append(tuple(new))
        return out

    def _get(self, route: str) -> dict[str, Any]:
        with urllib.request.urlopen(self._address + route, timeout=60) as response:
            return json.loads(response.read())

    def _stop_ids(self) -> set[int]:
        if self._stops is None:
            eos = self._get("/props").get("eos_token") or ""
            tokens = self._http("/tokenize", {"content": eos, "parse_special": True})["tokens"]
            self._stops = {int(t) for t in tokens}
        return self._stops

    @property
    def vocab_size(self) -> int:
        """The model's vocabulary size (from the server's model list)."""
        if self._vocab is None:
            self._vocab = int(self._get("/v1/models")["data"][0]["meta"]["n_vocab"])
        return self._vocab


def load_gguf(
    path: str | pathlib.Path, *, spec: str | None = None, **options: Any
) -> LlamaCppModel:
    """A GGUF file run in-process by llama.cpp (one-line errors when it does not load)."""
    return LlamaCppModel(path, spec=spec, **options)


def serve(
    path: str | pathlib.Path, *, port: int, n_ctx: int = 4096, threads: int | None = None
) -> None:
    """Run llama.cpp's OpenAI-compatible server on 127.0.0.1:``port`` until SIGTERM/SIGINT."""
    path = pathlib.Path(path)
    server = _server(path, f"llamacpp:{path}", n_ctx=n_ctx, threads=threads, port=port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(server.listening_address, flush=True)
    stop.wait()
    del server
