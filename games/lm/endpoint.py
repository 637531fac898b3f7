"""An OpenAI-compatible chat endpoint as a language model, through the official ``openai`` client.

``openai:BASE_URL#MODEL`` (``openai:http://127.0.0.1:8080/v1#smollm2``) sends each chat
to ``BASE_URL/chat/completions`` for ``MODEL``. The API key comes from an environment
variable (``OPENAI_API_KEY`` by default; a local server needs none). Requests have a
timeout; HTTP 429, 5xx, timeouts, dropped connections and malformed replies are retried
with exponential backoff, and after the last retry the trial fails
(:class:`~games.lm.base.EndpointError`: counted and reported, never a win or a loss); a
request the endpoint refuses as such (HTTP 400, 413, 422: a prompt over its context) is the
query's error (:class:`~games.lm.base.QueryRefused`), which the adversary sees. A
per-run request budget caps what a run may spend: once spent, every further request fails
its trial the same way. Making the model checks that the endpoint answers, so an
unreachable one is a one-line error before any trial.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from games.lm.base import (
    Chat,
    ChatModel,
    Decoding,
    EndpointError,
    Generation,
    ModelError,
    QueryRefused,
    missing_extra,
)
from oracles import InvalidArgument

__all__ = ["OpenAIModel"]

#: The statuses that refuse the request itself (its size, its form): the query's fault.
_QUERY_FAULTS = frozenset({400, 413, 422})


class OpenAIModel(ChatModel):
    """A chat endpoint (see the module docstring).

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8080/v1``.
        model: the model name sent with each request.
        api_key_env: the environment variable holding the API key.
        timeout: seconds per request.
        max_retries: retries after a failed request (429, 5xx, timeout, malformed reply).
        backoff: seconds before the first retry; doubled for each further one.
        request_budget: requests this model may send in all (None: unlimited).
        concurrency: requests in flight at once while generating a batch.
        check: ask the endpoint for its models first (an unreachable one raises
            :class:`~games.lm.base.ModelError`).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        spec: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        request_budget: int | None = None,
        concurrency: int = 4,
        check: bool = True,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise missing_extra(spec or "openai:", "openai") from None
        self.spec = spec or f"openai:{base_url}#{model}"
        for name, value in (("max_retries", max_retries), ("concurrency", concurrency)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (name == "concurrency")
            ):
                raise InvalidArgument(
                    f"{name}={value!r} must be a {'positive' if name == 'concurrency' else 'non-negative'} integer"
                )
        if request_budget is not None and (
            isinstance(request_budget, bool)
            or not isinstance(request_budget, int)
            or request_budget < 0
        ):
            raise InvalidArgument(
                f"request_budget={request_budget!r} must be None or a non-negative integer"
            )
        if not timeout > 0 or not backoff >= 0:
            raise InvalidArgument(f"timeout={timeout!r} must be > 0 and backoff={backoff!r} >= 0")
        self.base_url = base_url
        self.model = model
        self.max_retries = max_retries
        self.backoff = backoff
        self.request_budget = request_budget
        self.concurrency = concurrency
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=os.environ.get(api_key_env) or "not-needed",
            timeout=timeout,
            max_retries=0,  # retries are ours: counted against the budget, with our backoff
        )
        self._lock = threading.Lock()
        self._requests = 0
        if check:
            self._check()

    def __repr__(self) -> str:
        return f"OpenAIModel({self.spec!r}, requests={self._requests})"

    @property
    def requests(self) -> int:
        """Requests sent so far (retries included)."""
        return self._requests

    def _check(self) -> None:
        try:
            self._client.models.list()
        except self._openai.APIConnectionError as error:
            raise ModelError(
                f"model {self.spec!r}: endpoint {self.base_url} is unreachable ({_cause(error)})"
            ) from None
        except self._openai.AuthenticationError:
            raise ModelError(
                f"model {self.spec!r}: endpoint {self.base_url} refused the API key "
                "(set it in the environment variable the model names, OPENAI_API_KEY by default)"
            ) from None
        except self._openai.APIError:
            # Some compatible servers have no /models route; the first request will tell.
            pass

    def _spend(self) -> None:
        with self._lock:
            if self.request_budget is not None and self._requests >= self.request_budget:
                raise EndpointError(
                    f"model {self.spec!r}: the run's request budget of {self.request_budget} is spent"
                )
            self._requests += 1

    def _request(self, arguments: dict[str, Any], tools: bool = False) -> Any:
        """One chat completion (``arguments`` less the model), with our retries and budget.

        A reply without message content (nor, when ``tools``, tool calls) is malformed."""
        openai = self._openai
        retryable = (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APIConnectionError,  # includes timeouts
            openai.APIResponseValidationError,
            ValueError,  # a body that is not JSON
            KeyError,
            IndexError,
            TypeError,  # JSON without the fields a chat completion has
        )
        last: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            self._spend()
            try:
                reply = self._client.chat.completions.create(model=self.model, **arguments)
                message = reply.choices[0].message
                if not isinstance(message.content, str) and not (
                    tools and getattr(message, "tool_calls", None)
                ):
                    raise TypeError("the reply has no message content")
                return reply
            except retryable as error:
                last = error
            except openai.APIStatusError as error:
                fault = QueryRefused if error.status_code in _QUERY_FAULTS else EndpointError
                raise fault(
                    f"model {self.spec!r}: HTTP {error.status_code} ({_cause(error)})"
                ) from None
        raise EndpointError(
            f"model {self.spec!r}: {_cause(last)} after {self.max_retries} retries"
        ) from last

    def chat_with_tools(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        max_new_tokens: int,
        temperature: float,
        seed: int | None = None,
    ) -> Any:
        """The reply message to ``messages`` (OpenAI dicts) offering ``tools`` (OpenAI tool
        schemas): its ``content`` or its ``tool_calls``, through the official client."""
        arguments: dict[str, Any] = {
            "messages": messages,
            "tools": tools,
            "max_tokens": max_new_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            arguments["seed"] = seed
        return self._request(arguments, tools=True).choices[0].message

    def _complete(
        self, chat: Any, max_new_tokens: int, temperature: float, seed: int | None
    ) -> Generation:
        arguments: dict[str, Any] = {
            "messages": [m.as_dict() for m in chat],
            "max_tokens": max_new_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            arguments["seed"] = seed
        reply = self._request(arguments)
        choice, usage = reply.choices[0], reply.usage
        return Generation(
            text=choice.message.content,
            prompt_tokens=int(usage.prompt_tokens) if usage else 0,
            completion_tokens=int(usage.completion_tokens) if usage else 0,
            finish="length" if choice.finish_reason == "length" else "stop",
        )

    def _generate(self, batch: list[Chat], how: Decoding) -> list[Generation]:
        max_new_tokens, temperature = how.max_new_tokens, how.temperature
        # Seeds are drawn in order before any request, so replies do not depend on timing.
        seeds = [int(how.rng.integers(2**31 - 1)) if temperature > 0 else None for _ in batch]
        if self.concurrency == 1 or len(batch) == 1:
            return [
                self._complete(c, max_new_tokens, temperature, s)
                for c, s in zip(batch, seeds, strict=True)
            ]
        with ThreadPoolExecutor(min(self.concurrency, len(batch))) as pool:
            futures = [
                pool.submit(self._complete, c, max_new_tokens, temperature, s)
                for c, s in zip(batch, seeds, strict=True)
            ]
            return [f.result() for f in futures]


def _cause(error: BaseException | None) -> str:
    if error is None:
        return "no reply"
    status = getattr(error, "status_code", None)
    text = " ".join(str(error).split())[:200] or type(error).__name__
    return f"HTTP {status}: {text}" if status else f"{type(error).__name__}: {text}"
