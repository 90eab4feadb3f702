"""What the reasoning tests share besides fixtures: the budget, the checks, five requests,
and the splitter fed a text every way it may fall.

The server (``conftest.py``) gives the distill's copy a reasoning budget of
:data:`BUDGET` tokens: the tiny weights never close their reasoning themselves,
so the runtime writes the closing tag, then the real model answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import openai

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.reasoning import ReasoningSplitter, ThinkTags

from ..conftest import EQUATION
from ..model_families import REASONING_FAMILIES
from ..tools_fixtures import GET_WEATHER

BUDGET = 12  # reasoning tokens before the runtime closes the tag for the model
TAGS = ("<think>", "</think>")
POINT = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "why": {"type": "string", "maxLength": 40}},
    "required": ["x", "why"],
    "additionalProperties": False,
}


def splits_every_way(tags: ThinkTags, text: str, opened: bool, expected: tuple[str, str]) -> None:
    """``text`` splits into ``expected`` (reasoning, answer) whole, one character at a
    time and cut anywhere in two."""
    assert _split(tags, [text], opened) == expected
    assert _split(tags, list(text), opened) == expected
    for cut in range(1, len(text)):
        assert _split(tags, [text[:cut], text[cut:]], opened) == expected, cut


def _split(tags: ThinkTags, pieces: list[str], opened: bool) -> tuple[str, str]:
    splitter = ReasoningSplitter(tags, opened=opened)
    reasoning, answer = [], []
    for piece in pieces:
        thought, text = splitter.feed(piece)
        reasoning.append(thought)
        answer.append(text)
    reasoning.append(splitter.flush())
    return "".join(reasoning), "".join(answer)


def no_tags(text: str | None) -> None:
    """Neither think tag nor any template token of the families shows in ``text``."""
    markers = {*TAGS, *(m for family in REASONING_FAMILIES for m in family.markers)}
    assert not any(marker in (text or "") for marker in markers), text


def reasoning_of(obj: Any) -> str | None:
    return (obj.model_extra or {}).get("reasoning_content")


def solved(sdk: openai.OpenAI, **run: Any) -> tuple[Any, Any]:
    """A thread asking EQUATION and its run (of an assistant at temperature 0), polled."""
    beta = sdk.beta
    tutor = beta.assistants.create(model="default", temperature=0)
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    return thread, beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, **run
    )


def answered_apart(sdk: openai.OpenAI) -> Any:
    """A run :func:`solved`, checked: its message holds the answer, its step the reasoning
    (each without a tag, neither in the other)."""
    beta = sdk.beta
    thread, run = solved(sdk, max_completion_tokens=48)
    assert run.status in ("completed", "incomplete"), run.last_error
    (message,) = beta.threads.messages.list(thread.id, run_id=run.id).data
    answer = message.content[0].text.value
    assert answer
    no_tags(answer)
    (step,) = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    reasoning = (step.step_details.model_extra or {})["reasoning"]["content"][0]["text"]
    assert reasoning and reasoning not in answer
    no_tags(reasoning)
    return run


def calling_run(beta: Any) -> tuple[Any, Any]:
    """A thread asking for Oslo's weather and its run, made to call ``get_weather``:
    polled until it requires the call's output."""
    weather = beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=weather.id, tool_choice="required",
        max_completion_tokens=120,
    )  # fmt: skip
    assert run.status == "requires_action", run.last_error
    return thread, run


def weather_called(sdk: Any, model: str = "default", tool_choice: Any = "required") -> Any:
    """A chat completion made to call ``get_weather`` for Oslo, checked: it called it (every
    call valid) after reasoning, with no text."""
    called = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What's the weather in Oslo?"}],
        tools=[{"type": "function", "function": GET_WEATHER}],
        tool_choice=tool_choice,
        temperature=0,
        max_completion_tokens=120,
    )
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls", called
    assert reasoning_of(choice.message) and not choice.message.content, choice.message
    no_tags(reasoning_of(choice.message))
    assert choice.message.tool_calls, choice.message
    for call in choice.message.tool_calls:
        assert call.function.name == "get_weather"
        jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])
    return called


def point(sdk: openai.OpenAI, model: str) -> Any:
    """The answer to EQUATION under the POINT schema: checked to be valid."""
    shaped = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": EQUATION}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "point", "schema": POINT, "strict": True},
        },
        temperature=0,
        max_completion_tokens=120,
    )
    assert shaped.choices[0].finish_reason == "stop", shaped
    message = shaped.choices[0].message
    jsonschema.validate(json.loads(message.content or ""), POINT)
    return message


def engine_of(path: str) -> LlamaEngine:
    """The real engine on a reasoning family's GGUF copy (close it after)."""
    return LlamaEngine(Path(path), n_threads=2, n_ctx=2048, progress=False)
