"""A serving engine elsewhere behind the Engine protocol, over its OpenAI-compatible HTTP API.

For a team that has outgrown one machine: vLLM, llama.cpp's ``llama-server``,
llama-cpp-python's ``llama_cpp.server`` or SGLang generate the tokens, and
this runtime keeps everything else (store, tools, runs, streaming). What is
local and what is remote:

- The prompt is made here, by :class:`~.chat_prompt.ChatPrompt` from the
  served model's GGUF read vocabulary-only (no weights): the same template,
  tool format and token counts as the embedded engine. Token counts are this
  local tokenizer's (identical to the engine's for a GGUF-serving engine).
- The engine gets the prompt's text at ``/v1/completions`` (``stream``) and
  sends back one piece per token, which is yielded as it arrives.
- Constraints: a tool call's or JSON answer's grammar goes along in the
  engine's own field (``constraint``): ``grammar`` (GBNF: llama-server and
  llama_cpp.server), ``structured_outputs`` (vLLM), ``ebnf`` (SGLang). A
  lazy grammar (``Grammar.trigger``: free text or a call) becomes two
  requests: free text until the output either leaves the call marker's
  prefix (a message: it goes on unconstrained) or completes it (a call: the
  generation starts again under the grammar, so the call is valid by
  construction). With ``constraint="none"`` the output is checked against
  the grammar here (:meth:`ChatPrompt.matches`) and generated again, up to
  ``NONE_ATTEMPTS`` times, before the run fails: a bad call is never handed on.
- A reasoning model's reasoning comes first, unconstrained and within the
  reasoning budget, and its answer after it under the grammar, in requests of
  their own (:mod:`.remote_reasoning`).
- Failures (engine down, too slow, model unknown, prompt too long, the
  stream broken off) raise :class:`~offline_assistants.errors.EngineError`
  naming the engine and the cause; the run ends ``failed`` with that message.

``stop`` is honoured while waiting too: the HTTP stream is read on a thread of
its own (:mod:`.remote_wire` reads the SSE lines), and closing the stream closes
the connection, which tells the engine to stop generating.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import httpx

from ..errors import EngineError
from .base import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from .chat_prompt import ChatPrompt
from .remote_reasoning import reasoned_pieces
from .remote_wire import error_message, read_stream
from .tool_format import ToolFormatChoice

# How often a wait for the engine looks at ``stop`` (seconds).
STOP_POLL = 0.05
# Generations of one answer with constraint "none" before a call that breaks its grammar
# fails the run.
NONE_ATTEMPTS = 3


class RemoteEngine:
    """The model ``model`` as served at ``url`` (the API root, e.g. ``http://gpu-box:8000/v1``)."""

    def __init__(
        self,
        url: str,
        model: str,
        prompt: ChatPrompt,
        *,
        context_length: int,
        constraint: str = "grammar",
        timeout: float = 120.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self._prompt = prompt
        self._context_length = context_length
        self.constraint = constraint
        self.timeout = timeout
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))

    def close(self) -> None:
        self._http.close()

    @property
    def model_path(self) -> str:
        return f"{self.url} ({self.model})"

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def tool_format(self) -> ToolFormatChoice:
        return self._prompt.tool_format

    def prompt_tokens(
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec] = (),
        effort: str | None = None,
    ) -> list[int]:
        return self._prompt.tokens(messages, functions, effort)

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
        cache_key: str | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> TokenStream:
        """``cache_key`` is not sent: serving engines reuse a shared prefix on their own
        (vLLM's prefix caching, llama-server's slots)."""
        stream = TokenStream(pieces=iter(()))
        plan = self._prompt.reasoning_plan(prompt, sampling.reasoning_budget)
        request = _Request(self, stream, self.prompt_text(prompt), max_tokens, sampling, stop)
        stream.pieces = request.pieces(grammar)
        if plan is not None:
            stream.reasoning, stream.reasoning_opened = plan.tags, plan.opened
            if grammar is not None or plan.budget is not None or plan.start_tokens:
                texts = self._prompt.detokenize
                stream.pieces = reasoned_pieces(request, grammar, plan, texts)
        return stream

    def prompt_text(self, prompt: list[int]) -> str:
        """What the engine is sent for ``prompt``: its text, special tokens spelled out, less
        a leading BOS (the engine adds BOS itself where its tokenizer asks for one)."""
        if self._prompt.adds_bos and prompt and prompt[0] == self._prompt.bos:
            prompt = prompt[1:]
        return self._prompt.detokenize(prompt)

    def body(
        self,
        prompt: str,
        max_tokens: int,
        sampling: Sampling,
        gbnf: str | None,
        stops: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The ``/completions`` request: OpenAI's fields; for the engines this knows (every
        constraint but ``none``, which may be any OpenAI-compatible server, strict about
        unknown fields) the sampling extras they share, as the embedded sampler uses them;
        and the grammar in this engine's field."""
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "frequency_penalty": sampling.frequency_penalty,
            "presence_penalty": sampling.presence_penalty,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if self.constraint != "none":
            body["min_p"] = sampling.min_p
            body["top_k"] = 0 if self.constraint == "grammar" else -1  # off, in each one's terms
            # Always sent: llama_cpp.server's own default is 1.1. (llama.cpp's name, vLLM's.)
            body["repeat_penalty"] = body["repetition_penalty"] = sampling.repeat_penalty
        ends = [*stops]  # (Harmony's <|end|>, once the answer began)
        if self._prompt.stop_tokens:  # the template's end of turn, where it is a special token
            ends.append(self._prompt.traits.turn_end)
        if ends:
            body["stop"] = ends
        if gbnf is not None:
            if self.constraint == "grammar":
                body["grammar"] = gbnf
            elif self.constraint == "structured_outputs":
                body["structured_outputs"] = {"grammar": gbnf}
            elif self.constraint == "ebnf":
                body["ebnf"] = gbnf
        return body

    def open(self, body: dict[str, Any]) -> httpx.Response:
        """The streamed response to ``body``; :class:`EngineError` if the engine cannot be
        reached or refuses."""
        request = self._http.build_request("POST", f"{self.url}/completions", json=body)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise EngineError(
                f"The engine at {self.url} did not answer within {self.timeout:g} s ({exc!r})."
            ) from exc
        except httpx.HTTPError as exc:
            raise EngineError(
                f"The engine at {self.url} could not be reached ({exc}). Is it running?"
            ) from exc
        if response.status_code >= 400:
            try:
                response.read()
                detail = error_message(response)
            except httpx.HTTPError as exc:
                detail = str(exc)
            finally:
                response.close()
            raise self._refusal(response.status_code, detail)
        return response

    def _refusal(self, status: int, detail: str) -> EngineError:
        return EngineError(
            f"The engine at {self.url} refused the request for model '{self.model}' "
            f"(HTTP {status}): {detail}"
        )

    def diagnose(self, body: dict[str, Any]) -> None:
        """Ask again without streaming, for the refusal an engine did not stream (a prompt
        longer than its window, say): :class:`EngineError` with it, if there is one."""
        once = {**body, "stream": False, "max_tokens": 1}
        once.pop("stream_options", None)
        try:
            # On a connection of its own: the one the stream broke off may be reset.
            response = httpx.post(f"{self.url}/completions", json=once, timeout=self.timeout)
        except httpx.HTTPError:
            return
        if response.status_code >= 400:
            raise self._refusal(response.status_code, error_message(response))

    def matches(self, gbnf: str, text: str) -> bool:
        return self._prompt.matches(gbnf, text)


class _Request:
    """One answer's generation: its stream, and the requests it takes."""

    def __init__(
        self,
        engine: RemoteEngine,
        stream: TokenStream,
        prompt: str,
        max_tokens: int,
        sampling: Sampling,
        stop: Callable[[], bool] | None,
    ) -> None:
        self.engine = engine
        self.stream = stream
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.sampling = sampling
        self.stop = stop
        self.spent = 0  # tokens of this answer generated by earlier requests (its reasoning)
        self.stops: tuple[str, ...] = ()  # texts that end it besides the engine's own

    def free(self, prompt: str, max_tokens: int) -> Generator[str, None, None]:
        """Free text after ``prompt`` (a reasoning model's reasoning, :mod:`.remote_reasoning`)."""
        return self._generate(None, prompt, max_tokens)

    def answer(
        self, prompt: str, max_tokens: int, grammar: Grammar | None, stops: Sequence[str] = ()
    ) -> Iterator[str]:
        """The answer after ``prompt`` (the reasoning in it), as :meth:`pieces` makes one;
        ``stops``: texts that end it."""
        after = _Request(self.engine, self.stream, prompt, max_tokens, self.sampling, self.stop)
        after.spent, after.stops = self.spent, tuple(stops)
        return after.pieces(grammar)

    def pieces(self, grammar: Grammar | None) -> Iterator[str]:
        if grammar is None:
            return self._generate(None)
        if self.engine.constraint == "none":
            return self._checked(grammar)
        if grammar.trigger is None:
            return self._generate(grammar.gbnf)
        return self._lazy(grammar.gbnf, grammar.trigger)

    def _lazy(self, gbnf: str, trigger: str) -> Iterator[str]:
        """Free text, unless it opens with ``trigger``: then again, under ``gbnf``."""
        held = yield from self._free_until_call(trigger, whole=False)
        if held is None:
            return  # a message, streamed
        if not held.lstrip().startswith(trigger):
            yield held  # ended while it could still have been a call
            return
        self.stream.finish_reason = None
        yield from self._generate(gbnf)  # the call, written again under its grammar

    def _checked(self, grammar: Grammar) -> Iterator[str]:
        """Without a constraint at the engine: a message streams as it comes; a call is
        held until it is whole, then handed on only if it matches the grammar."""
        for _ in range(NONE_ATTEMPTS):
            held = yield from self._free_until_call(grammar.trigger, whole=True)
            if held is None:
                return
            stripped = held.lstrip()
            cut = self.stream.finish_reason == "length" or (self.stop is not None and self.stop())
            is_call = grammar.trigger is None or stripped.startswith(grammar.trigger)
            if cut or not is_call or self.engine.matches(grammar.gbnf, stripped):
                yield held  # cut short, the run ends incomplete and no call is read
                return
            self.stream.completion_tokens = self.spent
        raise EngineError(
            f"The engine at {self.engine.url} wrote {NONE_ATTEMPTS} tool calls in a row that "
            "do not match their schemas (it applies no constraint: constraint 'none'). Use "
            "an engine with structured output, or a model that follows the tool format."
        )

    def _free_until_call(
        self, trigger: str | None, *, whole: bool
    ) -> Generator[str, None, str | None]:
        """Free text: yielded as it comes once it cannot be a call (``trigger`` None: every
        answer is one), then None; else the text held, once it opens with ``trigger``
        (``whole``: once it ends)."""
        held: list[str] = []
        free = self._generate(None)
        try:
            for piece in free:
                held.append(piece)
                text = "".join(held).lstrip()
                if trigger is None:
                    continue
                if not (text.startswith(trigger) or trigger.startswith(text)):
                    yield "".join(held)  # a message
                    yield from free
                    return None
                if text.startswith(trigger) and not whole:
                    break
        finally:
            free.close()
        return "".join(held)

    def _generate(
        self, gbnf: str | None, prompt: str | None = None, max_tokens: int | None = None
    ) -> Generator[str, None, None]:
        """One request's pieces, as they arrive; ``stop`` is looked at while waiting."""
        engine, stream = self.engine, self.stream
        body = engine.body(
            self.prompt if prompt is None else prompt,
            self.max_tokens if max_tokens is None else max_tokens,
            self.sampling,
            gbnf,
            self.stops,
        )
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        response = engine.open(body)
        reader = threading.Thread(
            target=read_stream,
            args=(engine.timeout, response, events),
            name="remote-engine",
            daemon=True,
        )
        reader.start()
        stream.completion_tokens = self.spent
        try:
            while True:
                try:
                    kind, value = events.get(timeout=STOP_POLL)
                except queue.Empty:
                    kind, value = "wait", None
                if self.stop is not None and self.stop():
                    stream.finish_reason = "stop"
                    return
                if kind == "piece":
                    stream.completion_tokens += 1
                    yield value
                elif kind == "usage":
                    stream.completion_tokens = self.spent + int(value)
                elif kind == "end":
                    stream.finish_reason = value
                    return
                elif kind == "empty":  # some engines (llama_cpp.server) stream no refusal
                    engine.diagnose(body)
                    raise EngineError(f"The engine at {engine.url} {value}")
                elif kind == "error":
                    raise EngineError(f"The engine at {engine.url} {value}")
        finally:
            response.close()  # ends the connection: the engine stops generating
