"""Chat Completions: ``chat.completions.create``, whole or streamed, on the runs' engines.

Stateless, as the API is: the request's ``messages`` are the conversation
(:mod:`.chat_messages`), nothing is stored. The request is checked against the
SDK's ``CompletionCreateParams`` and then, before anything streams, turned into
a prompt with the model's own template and tool format. Generation shares
everything with runs: the loaded engine (a completion is one more sequence in
the engine's batch), the sampling guards against runaway text, the grammar
that makes every tool call parse and fit its schema, ``response_format``
(``json_object`` / ``json_schema``) enforced by grammar, and the splitting of
text from calls (``engine/reply.py``), and a reasoning model's reasoning kept
apart from its answer, as ``reasoning_content`` (the field of vLLM, llama.cpp's
server and DeepSeek's API) in the message and in stream deltas, counted in
``usage.completion_tokens_details.reasoning_tokens``. A thread of conversation keeps its
prefix: requests with the same ``prompt_cache_key`` (or, without one, the same
opening messages) go to the slot that holds their earlier prompt.

Parameters that would change the answer in ways we cannot honour (``n`` > 1,
``logprobs``, ``logit_bias``, audio, the deprecated ``functions``, ``store``)
are refused by name, never silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openai.types.chat.chat_completion import ChatCompletion
from openai.types.chat.chat_completion_chunk import ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsBase

from ..config import Settings
from ..engine import EngineCache, FunctionSpec, Grammar, Sampling, ToolChoice, resolve_model
from ..engine.engine_cache import ModelKey
from ..engine.reasoning import ReasoningSplitter
from ..engine.reply import ReplySplitter, StopStrings
from ..errors import InvalidRequestError
from ..ids import random_token
from ..runs.generation import function_specs, output_grammar, reasoning_budget, sampling
from .chat_messages import chat_turns
from .checks.formats import check_tool_choice, check_tools, parse_response_format
from .checks.params import check_params
from .checks.validation import MAX_MODEL_NAME, check_positive_int, check_sampling, check_text
from .responses.request import check_service_tier

MAX_STOPS = 4
# Parameters the local models cannot honour, and what to do instead.
REFUSED = {
    "functions": "deprecated; use 'tools'",
    "function_call": "deprecated; use 'tool_choice'",
    "audio": "the local models write text only",
    "logit_bias": "not supported by this runtime",
    "top_logprobs": "log probabilities are not returned by this runtime",
    "web_search_options": "there is no web search offline",
}


@dataclass(frozen=True)
class ChatRequest:
    """A checked request, ready to generate."""

    model: str  # the name the caller asked for, echoed back
    path: ModelKey
    prompt: list[int]
    functions: list[FunctionSpec]
    grammar: Grammar | None
    sampling: Sampling
    max_tokens: int
    stops: list[str]
    include_usage: bool
    cache_key: str


@dataclass
class Generated:
    """Where a completion got to: its text, calls, finish reason and token counts."""

    text: str = ""
    calls: list[dict[str, Any]] | None = None
    finish_reason: str = "stop"
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens a kept prefix covered
    reasoning_tokens: int | None = None  # None: the model does not reason


class ChatCompletionService:
    def __init__(self, engines: EngineCache, settings: Settings) -> None:
        self.engines = engines
        self.settings = settings

    def create(self, params: Mapping[str, Any]) -> ChatCompletion:
        request = self._prepare(params)
        ident, created = _completion_id(), int(time.time())
        done = Generated()
        pieces = list(self._generate(request, done))
        text = "".join(piece for kind, piece in pieces if kind == "content")
        message: dict[str, Any] = {"role": "assistant", "content": text if not done.calls else None}
        if done.reasoning_tokens:
            message["reasoning_content"] = "".join(p for k, p in pieces if k == "reasoning")
        if done.calls:
            message["tool_calls"] = done.calls
        return ChatCompletion.model_validate(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": request.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": done.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": _usage(len(request.prompt), done),
            }
        )

    def stream(self, params: Mapping[str, Any]) -> Iterator[ChatCompletionChunk]:
        """Checked and prompted now (errors raise here); chunks as the model writes them."""
        return self._chunks(self._prepare(params))

    def _chunks(self, request: ChatRequest) -> Iterator[ChatCompletionChunk]:
        ident, created = _completion_id(), int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
            return ChatCompletionChunk.model_validate(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": request.model,
                    "choices": [
                        {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                    ],
                }
            )

        yield chunk({"role": "assistant", "content": ""})
        done = Generated()
        for kind, piece in self._generate(request, done):
            yield chunk({"reasoning_content" if kind == "reasoning" else "content": piece})
        for index, call in enumerate(done.calls or []):
            yield chunk({"tool_calls": [{"index": index, **call}]})
        yield chunk({}, done.finish_reason)
        if request.include_usage:
            yield ChatCompletionChunk.model_validate(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": request.model,
                    "choices": [],
                    "usage": _usage(len(request.prompt), done),
                }
            )

    def _generate(self, request: ChatRequest, done: Generated) -> Iterator[tuple[str, str]]:
        """The answer's text piece by piece, as ("content", text), after any reasoning, as
        ("reasoning", text); ``done`` holds calls and counts at the end."""
        with self.engines.lease(request.path) as engine:
            reply = ReplySplitter(engine.tool_format.opener, bool(request.functions))
            stops = StopStrings(request.stops)
            stream = engine.generate(
                request.prompt,
                max_tokens=request.max_tokens,
                sampling=request.sampling,
                grammar=request.grammar,
                cache_key=request.cache_key,
            )
            thinking = ReasoningSplitter.for_stream(stream)
            try:
                for piece in stream:
                    if thinking is not None:
                        thought, piece = thinking.feed(piece)
                        if thought:
                            yield "reasoning", thought
                    text = stops.feed(reply.feed(piece).text) if piece else ""
                    if text:
                        yield "content", text
                    if stops.stopped:
                        break
                if thinking is not None and (held := thinking.flush()):
                    yield "reasoning", held
            finally:
                stream.close()
            done.completion_tokens = stream.completion_tokens
            done.cached_tokens = stream.reused_tokens
            if thinking is not None:
                done.reasoning_tokens = stream.reasoning_tokens
            if stops.stopped:
                return
            if stream.finish_reason == "length":
                done.finish_reason = "length"
            if reply.calling:  # a call cut short by the budget is dropped, not shown as text
                parsed = (
                    engine.tool_format.parse(reply.held) if done.finish_reason == "stop" else []
                )
                if parsed:
                    done.calls = [_call(name, arguments) for name, arguments in parsed]
                    done.finish_reason = "tool_calls"
                return
            rest = stops.feed(reply.held) + stops.flush()  # output that never decided is text
            if rest:
                yield "content", rest

    # -- checking a request ----------------------------------------------------------------

    def _prepare(self, params: Mapping[str, Any]) -> ChatRequest:
        p = check_params(CompletionCreateParamsBase, params)
        _refuse_unsupported(p)
        model = check_text(p.get("model"), "model", MAX_MODEL_NAME, required=True)
        assert model is not None
        path = resolve_model(model, self.settings)
        turns = chat_turns(p["messages"])
        functions, choice = _tools(p)
        parallel = p.get("parallel_tool_calls", True)
        fmt = parse_response_format(p["response_format"]) if "response_format" in p else None
        wanted = check_positive_int(
            p.get("max_completion_tokens"), "max_completion_tokens"
        ) or check_positive_int(p.get("max_tokens"), "max_tokens")
        offered = functions if choice.mode != "none" else []
        with self.engines.lease(path) as engine:
            prompt = engine.prompt_tokens(turns, offered, p.get("reasoning_effort"))
            room = engine.context_length - len(prompt)
            if room <= 0:
                raise InvalidRequestError(
                    f"This model's maximum context length is {engine.context_length} tokens. "
                    f"However, your messages resulted in {len(prompt)} tokens. "
                    "Please reduce the length of the messages.",
                    param="messages",
                    code="context_length_exceeded",
                )
            grammar = output_grammar(engine, offered, choice, bool(parallel), fmt)
        budget = wanted or self.settings.max_completion_tokens or room
        return ChatRequest(
            model=model,
            path=path,
            prompt=prompt,
            functions=offered,
            grammar=grammar,
            sampling=_sampling(
                p,
                bool(offered),
                reasoning_budget(p.get("reasoning_effort"), self.settings.reasoning_budget),
            ),
            max_tokens=min(budget, room),
            stops=_stops(p.get("stop")),
            include_usage=bool((p.get("stream_options") or {}).get("include_usage")),
            cache_key=_cache_key(p, turns[:2]),
        )


def _refuse_unsupported(p: dict[str, Any]) -> None:
    check_service_tier(p)
    for name, why in REFUSED.items():
        if p.get(name) not in (None, {}, []):
            raise InvalidRequestError(f"Unsupported parameter '{name}': {why}.", param=name)
    if p.get("n") not in (None, 1):
        raise InvalidRequestError(
            "Unsupported value for 'n': only 1 choice per request is generated.", param="n"
        )
    if p.get("logprobs"):
        raise InvalidRequestError(
            "Unsupported value for 'logprobs': log probabilities are not returned by this runtime.",
            param="logprobs",
        )
    if "audio" in (p.get("modalities") or []):
        raise InvalidRequestError(
            "Unsupported value for 'modalities': the local models write text only.",
            param="modalities",
        )
    if p.get("store"):
        raise InvalidRequestError(
            "Unsupported value for 'store': chat completions are not stored here; keep the "
            "conversation in a Conversation (Responses API) or a thread.",
            param="store",
        )


def _tools(p: dict[str, Any]) -> tuple[list[FunctionSpec], ToolChoice]:
    raw = p.get("tools") or []
    for index, tool in enumerate(raw):
        if tool.get("type") != "function":
            raise InvalidRequestError(
                f"Invalid 'tools[{index}].type': only 'function' tools are supported.",
                param=f"tools[{index}].type",
            )
    tools = check_tools(raw)
    choice = p.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in ("function", None):
        raise InvalidRequestError(
            f"Unsupported 'tool_choice' type {choice.get('type')!r}: use 'none', 'auto', "
            "'required' or a named function.",
            param="tool_choice",
        )
    checked = check_tool_choice(choice or ("auto" if tools else "none"), tools)
    functions = function_specs(tools)
    if isinstance(checked, dict):
        return functions, ToolChoice("function", checked["function"]["name"])
    return functions, ToolChoice(checked)


def _sampling(p: dict[str, Any], tools: bool, budget: int | None) -> Sampling:
    given = check_sampling(p)
    return sampling(
        given.temperature,
        given.top_p,
        tools=tools,
        presence_penalty=given.presence_penalty,
        frequency_penalty=given.frequency_penalty,
        seed=p.get("seed"),
        reasoning_budget=budget,
    )


def _stops(value: Any) -> list[str]:
    stops = [value] if isinstance(value, str) else list(value or [])
    if len(stops) > MAX_STOPS:
        raise InvalidRequestError(
            f"Invalid 'stop': at most {MAX_STOPS} stop sequences, got {len(stops)}.", param="stop"
        )
    return stops


def _cache_key(p: dict[str, Any], opening: list[Any]) -> str:
    """Which slot's saved prompt to try: the caller's ``prompt_cache_key``, else the
    conversation's opening turns (a wrong guess costs nothing: only equal tokens are reused)."""
    given = p.get("prompt_cache_key")
    if isinstance(given, str) and given:
        return f"chat:{given}"
    digest = hashlib.sha256(repr(opening).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"chat:{digest}"


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"call_{random_token()}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def _completion_id() -> str:
    return f"chatcmpl-{random_token()}"


def _usage(prompt: int, done: Generated) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": done.completion_tokens,
        "total_tokens": prompt + done.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": done.cached_tokens},
        **(
            {}
            if done.reasoning_tokens is None
            else {"completion_tokens_details": {"reasoning_tokens": done.reasoning_tokens}}
        ),
    }
