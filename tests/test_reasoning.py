"""Reasoning models (think tags) through the real engine: reasoning kept apart from the answer.

GGUF copies of the default model carry a DeepSeek-R1 distill's template (which
opens ``<think>`` in the generation prompt) and Qwen3's (which leaves it to the
model), with ``<think>``/``</think>`` as single added tokens (tests/model_families.py).
The tiny weights do not close their reasoning on their own: the runtime's
reasoning budget writes the closing tag for them, after which the real model
answers. Through the official client against the real server: Chat Completions'
``reasoning_content`` (whole and streamed), a forced call and a JSON schema
that take hold after the reasoning, an Assistants run whose message holds the
answer only, reasoning that uses up the tokens, and a response's ``reasoning``
item and its stream events (checked against the Open Responses schemas).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, ToolCall
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.model_check import check_model
from offline_assistants.engine.reasoning import ReasoningSplitter, ThinkTags, think_tags
from offline_assistants.runs.prompt import conversation
from offline_assistants.server import create_app
from offline_assistants.service import Runtime

from .browser import API_KEY, Tab
from .conftest import EQUATION
from .http_harness import running_server
from .model_families import FAMILIES, REASONING_FAMILIES, write_family
from .open_responses import check_event, check_response
from .test_model_families import INSTRUCTIONS, SHAPES, WEATHER
from .tools_fixtures import GET_WEATHER

BUDGET = 12  # reasoning tokens before the runtime closes the tag for the model
TAGS = ("<think>", "</think>")
POINT = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "why": {"type": "string", "maxLength": 40}},
    "required": ["x", "why"],
    "additionalProperties": False,
}


def _split(pieces: list[str], *, opened: bool) -> tuple[str, str]:
    splitter = ReasoningSplitter(ThinkTags(), opened=opened)
    reasoning, answer = [], []
    for piece in pieces:
        thought, text = splitter.feed(piece)
        reasoning.append(thought)
        answer.append(text)
    reasoning.append(splitter.flush())
    return "".join(reasoning), "".join(answer)


@pytest.mark.parametrize(
    ("text", "opened", "expected"),
    [
        ("<think>I add 3.</think>\n\nx = 3", False, ("I add 3.", "x = 3")),
        ("\n<think>a < b </thin</think>b", False, ("a < b </thin", "b")),
        ("I add 3.\n</think>\n\nx = 3", True, ("I add 3.\n", "x = 3")),
        ("<b>bold</b>", False, ("", "<b>bold</b>")),
        ("  <thinking aloud", False, ("", "  <thinking aloud")),
        ("no end to it <", True, ("no end to it <", "")),
    ],
)
def test_reasoning_splits_from_the_answer_however_the_pieces_fall(
    text: str, opened: bool, expected: tuple[str, str]
) -> None:
    assert _split([text], opened=opened) == expected
    assert _split(list(text), opened=opened) == expected  # one character at a time
    for cut in range(1, len(text)):
        assert _split([text[:cut], text[cut:]], opened=opened) == expected, cut


def test_templates_name_their_reasoning_convention() -> None:
    by_name = {f.name: f.template_text or "" for f in [*FAMILIES, *REASONING_FAMILIES]}
    assert think_tags(by_name["deepseek-r1-distill"]) == ThinkTags(switch=None)
    assert think_tags(by_name["qwen3"]) == ThinkTags(switch="enable_thinking")
    assert [n for n, t in by_name.items() if think_tags(t)] == ["deepseek-r1-distill", "qwen3"]


@pytest.fixture(scope="module")
def reasoning_files(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reasoning-families")
    return {
        f.name: str(write_family(model_path, folder / f"{f.name}.gguf", f))
        for f in REASONING_FAMILIES
    }


def test_models_check_names_the_convention(reasoning_files: dict[str, str]) -> None:
    settings = dataclasses.replace(Settings.from_env(), n_ctx=1024)
    report = check_model(Path(reasoning_files["qwen3"]), settings, smoke=False)
    assert report.ok and report.reasoning is not None
    assert "think tags" in report.reasoning and "enable_thinking" in report.reasoning


@pytest.fixture(scope="module")
def sdk(
    tmp_path_factory: pytest.TempPathFactory, reasoning_files: dict[str, str]
) -> Iterator[openai.OpenAI]:
    settings = dataclasses.replace(
        Settings.from_env(data_dir=tmp_path_factory.mktemp("reasoning-data"), n_ctx=2048),
        default_model=Path(reasoning_files["deepseek-r1-distill"]),
        reasoning_budget=BUDGET,
    )
    runtime = Runtime(settings)
    try:
        with running_server(create_app(runtime, api_key=API_KEY)) as url:
            yield openai.OpenAI(base_url=url, api_key=API_KEY, max_retries=0)
    finally:
        runtime.close()


def _no_tags(text: str | None) -> None:
    """Neither think tag nor any template token of the families shows in ``text``."""
    markers = {*TAGS, *(m for family in REASONING_FAMILIES for m in family.markers)}
    assert not any(marker in (text or "") for marker in markers), text


def _reasoning_of(obj: Any) -> str | None:
    return (obj.model_extra or {}).get("reasoning_content")


def _solved(sdk: openai.OpenAI, **run: Any) -> tuple[Any, Any]:
    """A thread asking EQUATION and its run (of an assistant at temperature 0), polled."""
    beta = sdk.beta
    tutor = beta.assistants.create(model="default", temperature=0)
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    return thread, beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, **run
    )


def _point(sdk: openai.OpenAI, model: str) -> Any:
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


def test_chat_completion_gives_reasoning_apart_whole_and_streamed(sdk: openai.OpenAI) -> None:
    ask: dict[str, Any] = {
        "model": "default",
        "messages": [{"role": "user", "content": EQUATION}],
        "temperature": 0,
        "max_completion_tokens": 48,
    }
    whole = sdk.chat.completions.create(**ask)
    message = whole.choices[0].message
    reasoning = _reasoning_of(message)
    assert reasoning and message.content, whole
    _no_tags(message.content)
    _no_tags(reasoning)
    assert reasoning.strip() not in message.content
    usage = whole.usage
    assert usage is not None and usage.completion_tokens_details is not None
    spent = usage.completion_tokens_details.reasoning_tokens
    # The budget, then the closing tag written for the model (a newline, </think>).
    assert spent is not None and BUDGET < spent <= BUDGET + 3 < usage.completion_tokens

    chunks = list(sdk.chat.completions.create(**ask, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    streamed_reasoning = "".join(_reasoning_of(d) or "" for d in deltas)
    streamed_answer = "".join(d.content or "" for d in deltas)
    assert (streamed_reasoning, streamed_answer) == (reasoning, message.content)
    first_answer = next(i for i, d in enumerate(deltas) if d.content)
    assert all(not _reasoning_of(d) for d in deltas[first_answer:])  # reasoning came first


def test_a_forced_call_and_a_json_schema_take_hold_after_the_reasoning(
    sdk: openai.OpenAI,
) -> None:
    called = sdk.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "What's the weather in Oslo?"}],
        tools=[{"type": "function", "function": GET_WEATHER}],
        tool_choice="required",
        temperature=0,
        max_completion_tokens=120,
    )
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls", called
    assert _reasoning_of(choice.message)
    for call in choice.message.tool_calls or []:
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])  # type: ignore[union-attr]
    message = _point(sdk, "default")
    assert _reasoning_of(message)


def test_a_model_that_answers_without_thinking_still_meets_the_grammar(
    sdk: openai.OpenAI, reasoning_files: dict[str, str]
) -> None:
    """Qwen3's template leaves <think> to the model; the tiny one answers at once, and
    the JSON grammar, held back while the output might open the tag, holds from its start."""
    _no_tags(_point(sdk, reasoning_files["qwen3"]).content)


def test_a_runs_message_holds_the_answer_and_its_step_the_reasoning(
    sdk: openai.OpenAI,
) -> None:
    beta = sdk.beta
    thread, run = _solved(sdk, max_completion_tokens=48)
    assert run.status in ("completed", "incomplete"), run.last_error
    (message,) = beta.threads.messages.list(thread.id, run_id=run.id).data
    answer = message.content[0].text.value  # type: ignore[union-attr]
    assert answer
    _no_tags(answer)
    (step,) = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    shown = (step.step_details.model_extra or {})["reasoning"]
    reasoning = shown["content"][0]["text"]
    assert reasoning and reasoning not in answer
    _no_tags(reasoning)
    assert run.usage is not None
    spent = (run.usage.model_extra or {})["completion_tokens_details"]["reasoning_tokens"]
    assert BUDGET < spent < run.usage.completion_tokens


def test_reasoning_that_uses_up_the_tokens_is_no_answer(sdk: openai.OpenAI) -> None:
    chat = sdk.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": EQUATION}],
        temperature=0,
        max_completion_tokens=BUDGET - 4,
    )
    choice = chat.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == "" and _reasoning_of(choice.message)
    beta = sdk.beta
    tutor = beta.assistants.create(model="default", temperature=0)
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=BUDGET - 4
    )
    assert run.status == "incomplete", run.last_error
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    texts = [
        part.text.value  # type: ignore[union-attr]
        for m in beta.threads.messages.list(thread.id, run_id=run.id).data
        for part in m.content
    ]
    assert all(not text for text in texts), texts


def test_a_response_has_a_reasoning_item_before_its_message_whole_and_streamed(
    sdk: openai.OpenAI,
) -> None:
    ask = {"model": "default", "input": EQUATION, "temperature": 0, "max_output_tokens": 48}
    whole = sdk.responses.with_raw_response.create(**ask)  # type: ignore[call-overload]
    check_response(whole.text)
    response = whole.parse()
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and message.type == "message", response.output
    (part,) = reasoning.content or []
    assert part.type == "reasoning_text" and part.text
    _no_tags(part.text)
    _no_tags(response.output_text)
    assert response.output_text and part.text.strip() not in response.output_text
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > BUDGET
    assert sdk.responses.retrieve(response.id).output == response.output

    with httpx.stream(
        "POST",
        f"{sdk.base_url}responses",
        json={**ask, "stream": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=120,
    ) as reply:
        assert reply.status_code == 200
        events = [json.loads(line[6:]) for line in reply.iter_lines() if line.startswith("data: ")]
    sdk_events = TypeAdapter(ResponseStreamEvent)
    for event in events:
        sdk_events.validate_python(event)
        # The Open Responses spec (as openresponses-types has it) names these two
        # response.reasoning.delta/done; the API, its SDKs and Codex use these names.
        if event["type"] not in ("response.reasoning_text.delta", "response.reasoning_text.done"):
            check_event(event)
    kinds = [e["type"] for e in events if e["type"] != "response.in_progress"]
    deltas = kinds.count("response.reasoning_text.delta")
    assert deltas >= 2, kinds  # it streamed, piece by piece
    opened = kinds.index("response.output_item.added")
    assert kinds[opened : opened + 2 + deltas + 3] == [
        "response.output_item.added",
        "response.content_part.added",
        *["response.reasoning_text.delta"] * deltas,
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert kinds[opened + 2 + deltas + 3] == "response.output_item.added"  # then the message
    streamed = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_text.delta")
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["content"] == [{"type": "reasoning_text", "text": streamed}]
    assert streamed == part.text  # the same greedy reasoning as the whole response
    final = events[-1]["response"]
    assert final["output"][0] == {**done["item"], "status": "completed"}
    assert sdk.responses.retrieve(final["id"]).output[0].model_dump(exclude_none=True) == {
        **done["item"],
        "status": "completed",
    }


def test_the_dashboard_shows_a_runs_reasoning_folded_in_its_step(
    browser: Any, sdk: openai.OpenAI
) -> None:
    beta = sdk.beta
    thread, run = _solved(sdk, max_completion_tokens=48)
    (step,) = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    reasoning = (step.step_details.model_extra or {})["reasoning"]["content"][0]["text"]
    tab = Tab(browser, str(sdk.base_url).removesuffix("/").removesuffix("/v1"))
    try:
        tab.open(f"threads/{thread.id}")
        page = tab.page
        page.click(f"details.run[data-run-id={run.id}] > summary")
        folded = page.locator(f"details.run[data-run-id={run.id}] details.reasoning")
        folded.wait_for()
        assert folded.get_attribute("open") is None  # folded until asked
        assert not page.is_visible(f"details.run[data-run-id={run.id}] .reasoning-text")
        folded.locator("summary").click()
        shown = folded.locator(".reasoning-text")
        assert shown.is_visible() and shown.text_content() == reasoning
        answer = page.locator("#thread-detail .message.assistant .text").last.inner_text()
        assert reasoning.strip() not in answer and "reasoning" in (
            page.text_content(f"details.run[data-run-id={run.id}]") or ""
        )
        tab.done("reasoning")
    finally:
        tab.close()


def test_reasoning_effort_none_turns_thinking_off_and_a_model_that_cannot_reason_says_so(
    sdk: openai.OpenAI, model_path: Path
) -> None:
    chat = sdk.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": EQUATION}],
        temperature=0,
        max_completion_tokens=32,
        reasoning_effort="none",
    )
    usage = chat.usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert (
        usage.completion_tokens_details.reasoning_tokens == 2
    )  # "\n" and </think>, written for it
    assert (_reasoning_of(chat.choices[0].message) or "").strip() == ""
    response = sdk.responses.create(
        model="default", input=EQUATION, temperature=0, max_output_tokens=32,
        reasoning={"effort": "minimal"},
    )  # fmt: skip
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 2
    assert response.reasoning is not None and response.reasoning.effort == "minimal"
    beta = sdk.beta
    tutor = beta.assistants.create(model="default", temperature=0)
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=32,
        reasoning_effort="none",
    )  # fmt: skip
    assert run.usage is not None
    assert (run.usage.model_extra or {})["completion_tokens_details"]["reasoning_tokens"] == 2
    quiet = beta.assistants.create(model="default", temperature=0, reasoning_effort="minimal")
    assert (quiet.model_extra or {}).get("reasoning_effort") == "minimal"
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=quiet.id, max_completion_tokens=32
    )  # the assistant's effort, as the run names none
    assert run.usage is not None
    assert (run.usage.model_extra or {})["completion_tokens_details"]["reasoning_tokens"] == 2
    # A higher effort reaches a reasoning model as its budget; one that does not reason
    # is told so, naming the parameter.
    low = sdk.responses.create(
        model="default",
        input=EQUATION,
        temperature=0,
        max_output_tokens=32,
        reasoning={"effort": "low"},
    )
    assert low.usage is not None and low.usage.output_tokens_details.reasoning_tokens > BUDGET
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model=str(model_path), input=EQUATION, reasoning={"effort": "high"})
    assert refused.value.body["param"] == "reasoning.effort"  # type: ignore[index]
    assert "does not reason" in refused.value.body["message"]  # type: ignore[index]


def test_a_responses_forced_call_comes_after_its_reasoning(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(
        model="default",
        input="What's the weather in Oslo?",
        tools=[{"type": "function", **GET_WEATHER}],  # type: ignore[list-item]
        tool_choice="required",
        temperature=0,
        max_output_tokens=120,
    )
    kinds = [item.type for item in response.output]
    assert kinds[0] == "reasoning" and kinds[1:] and set(kinds[1:]) == {"function_call"}, kinds
    for call in response.output[1:]:
        assert call.type == "function_call" and call.name == "get_weather"
        jsonschema.validate(json.loads(call.arguments), GET_WEATHER["parameters"])
    thread_steps = sdk.responses.retrieve(response.id).output
    assert thread_steps == response.output


def test_encrypted_reasoning_is_an_opaque_handle_sent_back_and_a_forged_one_is_refused(
    sdk: openai.OpenAI,
) -> None:
    ask: dict[str, Any] = {"model": "default", "temperature": 0, "max_output_tokens": 32}
    first = sdk.responses.create(
        **ask, input=EQUATION, store=False, include=["reasoning.encrypted_content"]
    )
    reasoning, answer = first.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    thought = (reasoning.content or [])[0].text
    assert thought.strip() and thought.strip() not in reasoning.encrypted_content  # opaque
    replayed = [
        {"role": "user", "content": EQUATION},
        reasoning.model_dump(exclude_none=True),
        answer.model_dump(exclude_none=True),
        {"role": "user", "content": "And if it were 3x + 11 = 20?"},
    ]
    again = sdk.responses.create(**ask, input=replayed, store=False)  # type: ignore[arg-type]
    assert again.status in ("completed", "incomplete") and again.output_text is not None
    handle = reasoning.encrypted_content
    forged = {
        **replayed[1],
        "encrypted_content": handle[:-8] + ("A" if handle[-8] != "A" else "B") + handle[-7:],
    }
    for bad in (forged, {**replayed[1], "encrypted_content": "gAAAAA-not-a-handle"}):
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.responses.create(**ask, input=[replayed[0], bad, *replayed[2:]], store=False)  # type: ignore[list-item]
        assert refused.value.body["param"] == "input[1].encrypted_content"  # type: ignore[index]


def test_earlier_reasoning_reaches_the_template_which_keeps_or_drops_it(
    reasoning_files: dict[str, str],
) -> None:
    """Qwen3's template shows the reasoning of the turns since the last question (a tool
    round) and drops the rest; the distill's drops all of it."""
    call = ToolCall("call_abc123XYZ", "get_weather", '{"city": "Oslo"}')
    this_round = [
        ChatMessage("user", "Weather in Oslo?"),
        ChatMessage("assistant", tool_calls=(call,), reasoning="I should look up Oslo."),
        ChatMessage("tool", '{"temp": -3}', tool_call_id=call.id, name="get_weather"),
    ]
    earlier = [
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello!", reasoning="Greet them back."),
        ChatMessage("user", "Weather in Oslo?"),
    ]
    for name, kept in (("qwen3", True), ("deepseek-r1-distill", False)):
        engine = LlamaEngine(Path(reasoning_files[name]), n_threads=2, n_ctx=1024, progress=False)
        try:
            text = engine._prompt.text(this_round, [WEATHER])
            assert ("<think>\nI should look up Oslo.\n</think>" in text) is kept, (name, text)
            assert "Greet them back." not in engine._prompt.text(earlier, [])
        finally:
            engine.close()


def test_a_runs_earlier_reasoning_and_a_chats_reach_the_next_prompt(sdk: openai.OpenAI) -> None:
    beta = sdk.beta
    weather = beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=weather.id, tool_choice="required",
        max_completion_tokens=120,
    )  # fmt: skip
    assert run.status == "requires_action", run.last_error
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    messages = beta.threads.messages.list(thread.id).data
    units = conversation(list(enumerate(messages)), list(enumerate(steps, 100)), run.id)
    (calling,) = [turn for _, unit in units for turn in unit if turn.tool_calls]
    kept = (steps[0].step_details.model_extra or {})["reasoning"]["content"][0]["text"]
    assert calling.reasoning == kept and kept
    # Chat Completions takes an assistant turn's reasoning_content back (vLLM's field).
    again = sdk.chat.completions.create(
        model="default",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet back."},  # type: ignore[typeddict-unknown-key]
            {"role": "user", "content": EQUATION},
        ],
        temperature=0,
        max_completion_tokens=24,
    )
    assert again.choices[0].finish_reason in ("stop", "length")


def test_every_conversation_shape_renders_with_earlier_reasoning_as_the_template_wants(
    reasoning_files: dict[str, str],
) -> None:
    for name in ("qwen3", "deepseek-r1-distill"):
        engine = LlamaEngine(Path(reasoning_files[name]), n_threads=2, n_ctx=2048, progress=False)
        try:
            for shape, plain in SHAPES.items():
                turns = [
                    dataclasses.replace(t, reasoning=f"Thought{i}.") if t.role == "assistant" else t
                    for i, t in enumerate(plain)
                ]
                last_question = max(i for i, t in enumerate(turns) if t.role == "user")
                for functions in ([], [WEATHER]):
                    text = engine._prompt.text(turns, functions)
                    assert INSTRUCTIONS in text and turns[-1].content in text, (name, shape)
                    for i, turn in enumerate(turns):
                        if turn.role != "assistant":
                            continue
                        shown = f"Thought{i}." in text
                        assert shown is (name == "qwen3" and i > last_question), (name, shape, text)
        finally:
            engine.close()
