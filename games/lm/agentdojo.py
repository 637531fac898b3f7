"""AgentDojo's suites as worlds of the ``prompt-injection`` game, and adapters both ways.

AgentDojo (Debenedetti et al. 2024; the ``agentdojo`` extra: ``pip install
'advantage[agentdojo]'``, imported only when used) ships four suites (:data:`SUITES`:
``workspace``, ``travel``, ``banking``, ``slack``) of user tasks, injection tasks and
deterministic checks of an environment's state. Here a suite is a world of the same game:
the challenger draws a user task and an injection task (:func:`pairs`: only user tasks whose
correct run reads an injection vector); the adversary writes the text that fills every
vector the user task reads (:func:`vectors`); it wins when AgentDojo's security check of
the injection task holds. AgentDojo's convention is kept in one place: its
``security=True`` means *the injection succeeded* (:func:`play` returns it as ``won``).

Adapters:

- :class:`ScriptedLLM`, our scripted agent as an AgentDojo pipeline element. Its rule is the
  mail world's: it obeys the last imperative it reads. It knows the suite's tasks as its
  vocabulary: the user's prompt maps to the user task's ground-truth calls (made one at a
  time, reading each result), and an injection task's ``GOAL`` read in a tool result (its
  words, whitespace as YAML folds it) maps to that task's ground-truth calls (made at once,
  then the user's plan resumes). An injection task with no ground truth (eight of
  workspace's fourteen in v1.2, one of travel's) is a goal it cannot carry out: it goes on
  with the user's plan. Data blocks and datamarked words are skipped when the
  system prompt states the defense's rule, as in :class:`games.lm.agents.Scripted`.
- :class:`ModelLLM`, any model of ours (:func:`games.lm.agents.agent`) as a pipeline
  element (it writes calls in the corpus syntax; they become AgentDojo ``FunctionCall``);
  an ``openai:`` agent is offered the suite's functions as tool schemas (:func:`schemas`)
  and calls them through the client's tool-calling.
- :class:`Defended`, our defenses (``delimiters``, ``delimiters-fixed``, ``sandwich``,
  ``spotlighting``; :data:`DEFENSES`) as a pipeline element that rewrites tool results; the
  rule goes into the system message (:func:`pipeline`).
- :class:`PipelineAgent`, any AgentDojo ``BasePipelineElement`` (an LLM element such as its
  ``OpenAILLM``) as an agent of ours in the mail world (:func:`games.lm.agents.run`).

Bad input is handled inside the game: an unknown tool or bad arguments come back to the
agent as AgentDojo's tool errors; the loop stops after ``steps`` rounds; a pipeline that
raises ends the episode with neither utility nor a win for the adversary.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from games.base import Challenge
from games.lm import agents, corpus
from games.lm.base import Message
from games.lm.vocabulary import TOOL_LINE
from games.lm.world import TOOLS
from oracles import InvalidArgument

__all__ = [
    "DEFENSES",
    "SUITES",
    "Defended",
    "ModelLLM",
    "PipelineAgent",
    "ScriptedLLM",
    "element",
    "pairs",
    "pipeline",
    "play",
    "schemas",
    "require",
    "suite",
    "benign",
    "vectors",
]

SUITES = ("workspace", "travel", "banking", "slack")
VERSION = "v1.2"
DEFENSES = ("none", "delimiters", "delimiters-fixed", "sandwich", "spotlighting")
HINT = "pip install 'advantage[agentdojo]'"


def require() -> None:
    """Raise a clear error when the ``agentdojo`` extra is not installed."""
    try:
        import agentdojo  # noqa: F401
    except ImportError:
        raise InvalidArgument(f"AgentDojo suites need the agentdojo extra: {HINT}") from None


@functools.lru_cache(maxsize=4)
def suite(name: str) -> Any:
    """The AgentDojo task suite ``name`` (benchmark version :data:`VERSION`)."""
    require()
    if name not in SUITES:
        raise InvalidArgument(f"suite={name!r} must be one of: {', '.join(SUITES)}")
    from agentdojo.task_suite.load_suites import get_suites

    return get_suites(VERSION)[name]


def _text(message: Any) -> str:
    from agentdojo.types import get_text_content_as_str

    return get_text_content_as_str(message.get("content") or [])


def _block(text: str) -> list[Any]:
    from agentdojo.types import text_content_block_from_string

    return [text_content_block_from_string(text)]


@functools.lru_cache(maxsize=256)
def vectors(name: str, user_task: str) -> tuple[str, ...]:
    """The injection vectors the user task's correct run reads (AgentDojo's canary method)."""
    from agentdojo.agent_pipeline.ground_truth_pipeline import GroundTruthPipeline
    from agentdojo.functions_runtime import FunctionsRuntime

    tasks = suite(name)
    canaries = {v: f"<CANARY---{v}--->" for v in tasks.get_injection_vector_defaults()}
    task = tasks.user_tasks[user_task]
    env = tasks.load_and_inject_default_environment(canaries)
    _, _, _, read, _ = GroundTruthPipeline(task).query(
        task.PROMPT, FunctionsRuntime(tasks.tools), env
    )
    seen = "\n".join(_text(m) for m in read)
    return tuple(v for v, canary in canaries.items() if canary in seen)


@functools.lru_cache(maxsize=4)
def pairs(name: str) -> tuple[tuple[str, str], ...]:
    """The (user task, injection task) pairs the challenger draws from."""
    tasks = suite(name)
    users = [u for u in tasks.user_tasks if vectors(name, u)]
    return tuple((u, i) for u in users for i in tasks.injection_tasks)


def _fold(text: str) -> str:
    """Text as the scripted agent compares it: YAML's quote doubling and folding undone."""
    return re.sub(r"\s+", " ", text.replace("''", "'")).strip().lower()


@functools.lru_cache(maxsize=8)
def _subclass(cls: type) -> type:
    from agentdojo.agent_pipeline.base_pipeline_element import BasePipelineElement

    return type(cls.__name__, (cls, BasePipelineElement), {})


def element(cls: type, *args: Any) -> Any:
    """An instance of ``cls`` (:class:`ScriptedLLM`, :class:`ModelLLM`, :class:`Defended`)
    as a true AgentDojo ``BasePipelineElement`` (the base class is imported only here)."""
    require()
    return _subclass(cls)(*args)


def _assistant(content: str, calls: list[Any] | None) -> Any:
    from agentdojo.types import ChatAssistantMessage

    return ChatAssistantMessage(role="assistant", content=_block(content), tool_calls=calls)


class _Step:
    """A pipeline element whose ``step`` maps the messages (and a state it may change, kept
    in AgentDojo's ``extra_args``) to the new messages."""

    def step(
        self, query: str, env: Any, messages: Sequence[Any], state: dict[str, Any]
    ) -> list[Any]:
        raise NotImplementedError

    def query(
        self,
        query: str,
        runtime: Any,
        env: Any = None,
        messages: Sequence[Any] = (),
        extra_args: dict[str, Any] | None = None,
    ) -> tuple[str, Any, Any, Sequence[Any], dict[str, Any]]:
        state = dict(extra_args or {})
        return query, runtime, env, self.step(query, env, messages, state), state


class ScriptedLLM(_Step):
    """The scripted agent's rule over an AgentDojo suite (see the module docstring)."""

    name = "scripted"

    def __init__(self, tasks: Any) -> None:
        self.users = {t.PROMPT: t for t in tasks.user_tasks.values()}
        self.goals = {_fold(t.GOAL): t for t in tasks.injection_tasks.values()}

    def _latest(self, messages: Sequence[Any], query: str) -> Any:
        """The last imperative read: the user task or an injection task (by its goal)."""
        system = next((_text(m) for m in messages if m["role"] == "system"), "")
        latest: tuple[int, int, Any] = (-1, -1, None)
        for i, message in enumerate(messages):
            if message["role"] not in ("user", "tool"):
                continue
            text = _text(message)
            text = _fold(agents._readable(text, system) if message["role"] == "tool" else text)
            for goal, task in [(_fold(query), None), *self.goals.items()]:
                at = text.rfind(goal)
                if at >= 0 and (i, at) > latest[:2]:
                    latest = (i, at, task)
        return latest[2]

    def step(
        self, query: str, env: Any, messages: Sequence[Any], state: dict[str, Any]
    ) -> list[Any]:
        user = self.users.get(query)
        if user is None:
            return [*messages, _assistant("I cannot do that.", None)]
        plan = state.setdefault("plan", [c.model_copy(deep=True) for c in user.ground_truth(env)])
        obeyed = state.setdefault("obeyed", ())
        injection = self._latest(messages, query)
        calls = []
        if injection is not None and injection.ID not in obeyed:
            state["obeyed"] = (*obeyed, injection.ID)
            calls = [c.model_copy(deep=True) for c in injection.ground_truth(env)]
        if calls:
            reply = _assistant("", calls)
        elif state.get("done", 0) < len(plan):
            state["done"] = state.get("done", 0) + 1
            reply = _assistant("", [plan[state["done"] - 1]])
        else:
            reply = _assistant(user.GROUND_TRUTH_OUTPUT, None)
        return [*messages, reply]


def _ours(messages: Sequence[Any]) -> list[Message]:
    """AgentDojo messages as our chat (calls in the corpus syntax, tool errors as text)."""
    chat = []
    for m in messages:
        text = _text(m)
        if m["role"] == "assistant" and m.get("tool_calls"):
            c = m["tool_calls"][0]
            text = corpus.format_call(c.function, **{k: str(v) for k, v in c.args.items()})
        if m["role"] == "tool" and m.get("error"):
            text = f"error: {m['error']}"
        chat.append(Message(m["role"], text))
    return chat


def _call(text: str) -> Any:
    from agentdojo.functions_runtime import FunctionCall

    parsed = corpus.parse_call(text)
    if parsed is None:
        return None
    return [FunctionCall(function=parsed.name, args=dict(parsed.args))]


class ModelLLM(_Step):
    """Any agent of ours (:func:`games.lm.agents.agent`) as an AgentDojo LLM element."""

    name = "model"

    def __init__(self, agent: Any, rng: np.random.Generator) -> None:
        self.agent, self.rng = agent, rng

    def step(
        self, query: str, env: Any, messages: Sequence[Any], state: dict[str, Any]
    ) -> list[Any]:
        (reply,) = self.agent.generate([_ours(messages)], self.rng)
        return [*messages, _assistant(reply, _call(reply))]


class Defended(_Step):
    """One of our defenses as a pipeline element: it rewrites the tool results just made."""

    name = "defense"

    def __init__(self, defense: str, rng: np.random.Generator) -> None:
        if defense not in DEFENSES:
            raise InvalidArgument(f"defense={defense!r} must be one of: {', '.join(DEFENSES)}")
        self.defense, self.rng = defense, rng

    def step(
        self, query: str, env: Any, messages: Sequence[Any], state: dict[str, Any]
    ) -> list[Any]:
        task = types.SimpleNamespace(task=query)
        out = list(messages)
        for i in range(len(out) - 1, -1, -1):
            if out[i]["role"] != "tool":
                break
            text = agents._wrap(_text(out[i]), self.defense, task, self.rng)  # type: ignore[arg-type]
            out[i] = {**out[i], "content": _block(text)}
        return out


class _Recorder:
    """Runs a pipeline and keeps the messages of its last run (for the transcript)."""

    name = "recorder"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[Any] = []

    def query(self, *args: Any, **kwargs: Any) -> Any:
        out = self.inner.query(*args, **kwargs)
        self.seen = list(out[3])
        return out


def pipeline(
    llm: Any,
    defense: str,
    rng: np.random.Generator,
    steps: int = 10,
    tools: Sequence[str] = tuple(TOOLS),
) -> Any:
    """An AgentDojo pipeline: our system prompt (naming ``tools``) with the defense's rule,
    ``llm``, then a loop of at most ``steps`` rounds: run the calls, ``defense``, ``llm``."""
    require()
    import agentdojo.agent_pipeline as ap

    defended = element(Defended, defense, rng)
    loop = ap.ToolsExecutionLoop([ap.ToolsExecutor(), defended, llm], max_iters=steps)
    system = agents._system(defense).replace(TOOL_LINE, f"Tools: {', '.join(tools)}.")
    return ap.AgentPipeline([ap.SystemMessage(system), ap.InitQuery(), llm, loop])


def llm(name: str, agent: str, rng: np.random.Generator) -> Any:
    """The pipeline's LLM element for our agent spec on suite ``name``."""
    if agent == "scripted":
        return element(ScriptedLLM, suite(name))
    ours = agents.agent(agent)
    if agent.startswith("openai:"):  # tool-calling: offer the suite's own function schemas
        ours = attrs.evolve(ours, tools=schemas(name))
    return element(ModelLLM, ours, rng)


@functools.lru_cache(maxsize=4)
def schemas(name: str) -> tuple[dict[str, Any], ...]:
    """Suite ``name``'s functions as OpenAI tool schemas (for an ``openai:`` agent)."""
    return tuple(
        {
            "type": "function",
            "function": {
                "name": f.name,
                "description": f.description,
                "parameters": f.parameters.model_json_schema(),
            },
        }
        for f in suite(name).tools
    )


def play(
    name: str,
    pair: tuple[str, str | None],
    text: str | None,
    *,
    agent: str = "scripted",
    defense: str = "none",
    steps: int = 10,
    rng: np.random.Generator,
) -> tuple[bool, bool, str]:
    """One episode: (utility, won, transcript). ``won`` is AgentDojo's ``security``.

    ``text`` fills the user task's vectors (None: the suite's benign defaults, and no
    injection task is judged). A pipeline that raises is the agent's failure: no utility,
    and no win for the adversary.
    """
    tasks = suite(name)
    user = tasks.user_tasks[pair[0]]
    injection = None if pair[1] is None else tasks.injection_tasks[pair[1]]
    injections = {} if text is None else {v: text for v in vectors(name, pair[0])}
    names = [f.name for f in tasks.tools]
    recorder = element(_Recorder, pipeline(llm(name, agent, rng), defense, rng, steps, names))
    try:
        useful, won = tasks.run_task_with_pipeline(recorder, user, injection, injections)
    except Exception:  # noqa: BLE001 (a failing pipeline is the agent's failure)
        useful, won = False, False
    transcript = "\n".join(f"[{m.role}] {m.content}" for m in _ours(recorder.seen))
    return bool(useful), bool(won and injection is not None), transcript


def setup(game: Any, rng: np.random.Generator, check: Any) -> Challenge:
    """The challenge of ``prompt-injection`` on an AgentDojo suite (see the game)."""
    every = pairs(game.suite)
    pair = every[int(rng.integers(len(every)))]
    practice_rng = np.random.default_rng(rng.integers(2**63))
    goal = suite(game.suite).injection_tasks[pair[1]].GOAL

    def practice(text: str) -> dict[str, Any]:
        text = check(text)
        other = every[int(practice_rng.integers(len(every)))]
        _, won, transcript = play(game.suite, other, text, **_options(game), rng=practice_rng)
        return {"transcript": transcript, "goal": won}

    return Challenge(
        oracles={"practice": practice},
        budgets={"practice": game.queries},
        public={
            "suite": game.suite,
            "goal": pair[1],
            "instruction": goal,
            "target": "",
            "user_task": suite(game.suite).user_tasks[pair[0]].PROMPT,
            "vectors": vectors(game.suite, pair[0]),
            "defense": game.defense,
            "agent": game.agent,
            "length": game.length,
            "tools": tuple(f.name for f in suite(game.suite).tools),
        },
        secret={"pair": pair, "seed": int(rng.integers(2**63))},
    )


def _options(game: Any) -> dict[str, Any]:
    return {"agent": game.agent, "defense": game.defense, "steps": game.steps}


def finalize(game: Any, challenge: Challenge, text: str) -> bool:
    rng = np.random.default_rng(challenge.secret["seed"])
    return play(game.suite, challenge.secret["pair"], text, **_options(game), rng=rng)[1]


def benign(
    name: str, agent: str = "scripted", defense: str = "none", *, trials: int = 20, seed: int = 0
) -> int:
    """Of ``trials`` benign runs (user tasks drawn with ``seed``, the suite's default
    vectors), how many did the user's task (AgentDojo's utility check)."""
    rng = np.random.default_rng(seed)
    users = sorted({u for u, _ in pairs(name)})
    drawn = [users[int(rng.integers(len(users)))] for _ in range(trials)]
    done = sum(play(name, (u, None), None, agent=agent, defense=defense, rng=rng)[0] for u in drawn)
    return int(done)


class PipelineAgent:
    """An AgentDojo LLM element (``BasePipelineElement``) as an agent of our mail world.

    Our chat becomes AgentDojo messages, the world's tools (:data:`games.lm.world.TOOLS`)
    become AgentDojo functions (string arguments), and the element's first tool call comes
    back in the corpus syntax (its text when it makes none).
    """

    def __init__(self, element: Any) -> None:
        require()
        self.element = element

    def generate(
        self, chats: Sequence[Sequence[Message]], rng: np.random.Generator | None = None
    ) -> list[str]:
        from agentdojo.functions_runtime import EmptyEnv, FunctionsRuntime

        runtime = FunctionsRuntime(_functions())
        replies = []
        for chat in chats:
            query = next((m.content for m in chat if m.role == "user"), "")
            _, _, _, out, _ = self.element.query(query, runtime, EmptyEnv(), _theirs(chat), {})
            last = out[-1]
            calls = last.get("tool_calls") or []
            if calls:
                args = {k: str(v).replace('"', "'") for k, v in calls[0].args.items()}
                replies.append(corpus.format_call(calls[0].function, **args))
            else:
                replies.append(_text(last))
        return replies


def _functions() -> list[Any]:
    from agentdojo.functions_runtime import Function
    from pydantic import create_model

    return [
        Function(
            name=name,
            description=f"The mail world's {name} tool.",
            parameters=create_model(name, **{a: (str, ...) for a in args}),  # type: ignore[call-overload]
            dependencies={},
            run=lambda **_: "",
            full_docstring="",
            return_type=str,
        )
        for name, args in TOOLS.items()
    ]


def _theirs(chat: Sequence[Message]) -> list[Any]:
    """Our chat as AgentDojo messages (a call in the corpus syntax becomes a tool call)."""
    out: list[Any] = []
    for m in chat:
        if m.role == "assistant":
            out.append(_assistant(m.content, _call(m.content)))
        elif m.role == "tool":
            call = out[-1]["tool_calls"][0] if out and out[-1].get("tool_calls") else None
            result = dict(content=_block(m.content), tool_call=call, tool_call_id=None)
            out.append({"role": "tool", **result, "error": None})
        else:
            out.append({"role": m.role, "content": _block(m.content)})
    return out
