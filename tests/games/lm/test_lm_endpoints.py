"""The openai: adapter (retries, backoff, request budget, failures as failed trials) against a
scripted local server, and against llama.cpp's real server serving SmolLM2: at temperature 0
its replies equal the in-process llama.cpp run."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from games import TrialFailed, lm
from oracles import InvalidArgument

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openai") is None, reason="needs openai: pip install -e '.[lm]'"
)

OK = {
    "id": "x",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "hello there"},
        }
    ],
    "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
}


class Scripted:
    """A local HTTP server answering chat completions from a script of replies."""

    def __init__(self, script):
        self.script = list(script)
        self.hits = 0
        self.bodies = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, kind="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": []})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                outer.hits += 1
                step = outer.script.pop(0) if outer.script else "ok"
                if step == "ok":
                    self._send(200, OK)
                elif step == "garbage":
                    self._send(200, b"{not json", "application/json")
                elif step == "empty":
                    self._send(200, {"choices": []})
                else:
                    self._send(int(step), {"error": {"message": f"status {step}"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(*script):
        server = Scripted(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def model(server, **options):
    return lm.load(f"openai:{server.url}#m", fresh=True, backoff=0.001, timeout=5, **options)


def generate(m, prompts=("hi",), temperature=0.0, seed=0):
    return m.generate(
        list(prompts), max_new_tokens=8, temperature=temperature, rng=np.random.default_rng(seed)
    )


def test_a_reply_and_its_tokens(scripted):
    server = scripted("ok")
    (g,) = generate(model(server))
    assert g.text == "hello there" and g.prompt_tokens == 7 and g.completion_tokens == 2
    body = server.bodies[0]
    assert body["model"] == "m" and body["max_tokens"] == 8 and body["temperature"] == 0
    assert body["messages"] == [{"role": "user", "content": "hi"}] and "seed" not in body


def test_sampling_sends_seeds_from_the_generator(scripted):
    server = scripted()
    m = model(server, concurrency=1)
    generate(m, ["a", "b"], temperature=0.7, seed=3)
    generate(m, ["a", "b"], temperature=0.7, seed=3)
    seeds = [b["seed"] for b in server.bodies]
    assert seeds[:2] == seeds[2:] and seeds[0] != seeds[1]


@pytest.mark.parametrize("failure", ["429", "500", "503", "garbage", "empty"])
def test_transient_failures_are_retried(scripted, failure):
    server = scripted(failure, failure, "ok")
    m = model(server, max_retries=3)
    assert generate(m)[0].text == "hello there"
    assert server.hits == 3 and m.requests == 3


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("429", r"HTTP 429.*after 2 retries"),
        ("500", r"HTTP 500.*after 2 retries"),
        ("garbage", r"after 2 retries"),
    ],
)
def test_persistent_failures_fail_the_trial(scripted, failure, message):
    server = scripted(failure, failure, failure)
    with pytest.raises(lm.EndpointError, match=message) as error:
        generate(model(server, max_retries=2))
    assert isinstance(error.value, TrialFailed) and server.hits == 3


def test_client_errors_are_not_retried(scripted):
    server = scripted("400")
    # The request's own fault (over the context, say): the query's error, which the
    # adversary sees, never a challenger failure that would drop the trial it is losing.
    with pytest.raises(lm.QueryRefused, match="HTTP 400") as error:
        generate(model(server, max_retries=3))
    assert not isinstance(error.value, TrialFailed) and server.hits == 1
    server = scripted("404")  # the model's name is wrong: the challenger's set-up
    with pytest.raises(lm.EndpointError, match="HTTP 404"):
        generate(model(server, max_retries=3))


def test_the_request_budget_caps_a_run(scripted):
    server = scripted("500")
    m = model(server, request_budget=3, concurrency=1)
    generate(m)  # a failure and a retry: 2 requests
    generate(m)
    with pytest.raises(lm.EndpointError, match="request budget of 3 is spent"):
        generate(m)
    assert server.hits == 3


def test_concurrent_requests_keep_their_order(scripted):
    server = scripted()
    m = model(server, concurrency=4)
    out = generate(m, [f"p{i}" for i in range(8)])
    assert len(out) == 8 and server.hits == 8


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "max_retries=-1 must be a non-negative integer"),
        ({"concurrency": 0}, "concurrency=0 must be a positive integer"),
        ({"request_budget": -2}, "request_budget=-2 must be None or a non-negative"),
    ],
)
def test_bad_options(scripted, options, message):
    with pytest.raises(InvalidArgument, match=message):
        model(scripted(), **options)


# --- the real server -----------------------------------------------------------------------

PROMPTS = [
    "What is the capital of France?",
    [lm.Message("system", "Answer in one word."), lm.Message("user", "Name a colour.")],
]


@pytest.mark.slow
def test_openai_over_llamacpp_server_equals_in_process_llamacpp(llamacpp_server, gguf):
    remote = lm.load(f"openai:{llamacpp_server}#smollm2", fresh=True, concurrency=1)
    local = lm.load("smollm2:llamacpp", threads=1)
    over_http = generate(remote, PROMPTS)
    in_process = generate(local, PROMPTS)
    assert [g.text for g in over_http] == [g.text for g in in_process]
    assert all(g.text for g in in_process)
    assert [g.completion_tokens for g in over_http] == [g.completion_tokens for g in in_process]


@pytest.mark.slow
def test_llamacpp_logprobs_and_sampling(gguf):
    local = lm.load("smollm2:llamacpp", threads=1)
    assert isinstance(local, lm.Scorer) and not isinstance(local, lm.WhiteBox)
    prompt = local.encode("What is the capital of France?")
    (top,) = local.logprobs([prompt], top_k=5)
    assert not top.full and len(top.ids) == 5 and np.all(np.diff(top.logprobs) <= 1e-6)
    (tokens,) = local.sample(
        [prompt], max_new_tokens=3, temperature=0, rng=np.random.default_rng(0)
    )
    assert tokens[0] == top.ids[0]

    def second(ids, logits):  # a processor sees the top tokens only, the rest at -inf
        out = np.full_like(logits, -np.inf)
        out[0, top.ids[1]] = 0.0
        return out

    (forced,) = local.sample(
        [prompt], max_new_tokens=1, temperature=1.0, rng=np.random.default_rng(0), processor=second
    )
    assert forced == (top.ids[1],)
    with pytest.raises(lm.ModelError, match="reports only the top tokens"):
        local.logprobs([prompt])
    with pytest.raises(lm.ModelError, match="has no torch module"):
        lm.white_box(local)
