"""Reasoning models (think tags) through the real engine: reasoning kept apart from the answer.

On GGUF copies of the default model with a DeepSeek-R1 distill's and Qwen3's
templates (tests/reasoning/conftest.py), through the official client against
the real server: the splitter however the pieces fall, the convention each
template names (and ``models check``), Chat Completions' ``reasoning_content``
(whole and streamed), a forced call and a JSON schema that take hold after the
reasoning, an Assistants run whose message holds the answer and whose step the
reasoning, reasoning that uses up the tokens, and earlier reasoning handed to the
templates, which keep or drop it as their families do, in every conversation
shape. Responses, ``reasoning_effort``, the Dashboard and other clients:
tests/reasoning/test_responses.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import openai
import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, ToolCall
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.model_check import check_model
from offline_assistants.engine.reasoning import ThinkTags, think_tags
from offline_assistants.runs.prompt import conversation

from ..conftest import EQUATION
from ..model_families import FAMILIES, REASONING_FAMILIES
from ..test_model_families import INSTRUCTIONS, SHAPES, WEATHER
from .helpers import (
    BUDGET,
    answered_apart,
    calling_run,
    no_tags,
    point,
    reasoning_of,
    splits_every_way,
    weather_called,
)


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
    splits_every_way(ThinkTags(), text, opened, expected)


def test_templates_name_their_reasoning_convention() -> None:
    by_name = {f.name: f.template_text or "" for f in [*FAMILIES, *REASONING_FAMILIES]}
    assert think_tags(by_name["deepseek-r1-distill"]) == ThinkTags(switch=None)
    assert think_tags(by_name["qwen3"]) == ThinkTags(switch="enable_thinking")
    assert think_tags(by_name["smollm3"]) == ThinkTags(switch="enable_thinking")
    thinking = [n for n, t in by_name.items() if think_tags(t)]
    assert thinking == ["deepseek-r1-distill", "qwen3", "smollm3"]


def test_none_and_minimal_turn_the_thinking_switch_off(reasoning_files: dict[str, str]) -> None:
    """Qwen3's and SmolLM3's templates take ``enable_thinking``: off, their generation
    prompts close the thinking at once (SmolLM3's system message says /no_think)."""
    ask = [ChatMessage("user", EQUATION)]
    closed = {"qwen3": "<think>\n\n</think>\n\n", "smollm3": "<think>\n\n</think>\n"}
    for name, ending in closed.items():
        engine = LlamaEngine(Path(reasoning_files[name]), n_threads=2, n_ctx=1024, progress=False)
        try:
            for effort in ("none", "minimal"):
                assert engine._prompt.text(ask, [], effort).endswith(ending), (name, effort)
            for effort in (None, "low", "high"):
                text = engine._prompt.text(ask, [], effort)
                assert not text.endswith(ending), (name, effort)
            if name == "smollm3":
                assert "Reasoning Mode: /no_think" in engine._prompt.text(ask, [], "none")
                assert "Reasoning Mode: /think" in engine._prompt.text(ask, [], "low")
                # Its template renders no "tools": the runtime tells them (the generic format).
                assert not engine.tool_format.native
                assert "get_weather" in engine._prompt.text(ask, [WEATHER])
        finally:
            engine.close()


def test_models_check_names_the_convention(reasoning_files: dict[str, str]) -> None:
    settings = dataclasses.replace(Settings.from_env(), n_ctx=1024)
    report = check_model(Path(reasoning_files["qwen3"]), settings, smoke=False)
    assert report.ok and report.reasoning is not None
    assert "think tags" in report.reasoning and "enable_thinking" in report.reasoning


def test_chat_completion_gives_reasoning_apart_whole_and_streamed(sdk: openai.OpenAI) -> None:
    ask: dict[str, Any] = {
        "model": "default",
        "messages": [{"role": "user", "content": EQUATION}],
        "temperature": 0,
        "max_completion_tokens": 48,
    }
    whole = sdk.chat.completions.create(**ask)
    message = whole.choices[0].message
    reasoning = reasoning_of(message)
    assert reasoning and message.content, whole
    no_tags(message.content)
    no_tags(reasoning)
    assert reasoning.strip() not in message.content
    usage = whole.usage
    assert usage is not None and usage.completion_tokens_details is not None
    spent = usage.completion_tokens_details.reasoning_tokens
    # The budget, then the closing tag written for the model (a newline, </think>).
    assert spent is not None and BUDGET < spent <= BUDGET + 3 < usage.completion_tokens

    chunks = list(sdk.chat.completions.create(**ask, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    streamed_reasoning = "".join(reasoning_of(d) or "" for d in deltas)
    streamed_answer = "".join(d.content or "" for d in deltas)
    assert (streamed_reasoning, streamed_answer) == (reasoning, message.content)
    first_answer = next(i for i, d in enumerate(deltas) if d.content)
    assert all(not reasoning_of(d) for d in deltas[first_answer:])  # reasoning came first


def test_a_forced_call_and_a_json_schema_take_hold_after_the_reasoning(
    sdk: openai.OpenAI,
) -> None:
    weather_called(sdk)
    message = point(sdk, "default")
    assert reasoning_of(message)


def test_a_model_that_answers_without_thinking_still_meets_the_grammar(
    sdk: openai.OpenAI, reasoning_files: dict[str, str]
) -> None:
    """Qwen3's template leaves <think> to the model; the tiny one answers at once, and
    the JSON grammar, held back while the output might open the tag, holds from its start.
    SmolLM3's too; and with the effort none, their thinking is closed in the prompt."""
    for name in ("qwen3", "smollm3"):
        no_tags(point(sdk, reasoning_files[name]).content)
        off = sdk.chat.completions.create(
            model=reasoning_files[name],
            messages=[{"role": "user", "content": EQUATION}],
            temperature=0,
            max_completion_tokens=24,
            reasoning_effort="none",
        )
        choice = off.choices[0]  # (the tiny model may end its answer at once)
        assert choice.finish_reason in ("stop", "length") and not reasoning_of(choice.message), off
        no_tags(choice.message.content)
        assert off.usage is not None and off.usage.completion_tokens_details is not None
        assert not off.usage.completion_tokens_details.reasoning_tokens, off.usage


def test_a_runs_message_holds_the_answer_and_its_step_the_reasoning(
    sdk: openai.OpenAI,
) -> None:
    run = answered_apart(sdk)
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
    assert choice.message.content == "" and reasoning_of(choice.message)
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
    thread, run = calling_run(beta)
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
    for name in ("qwen3", "deepseek-r1-distill", "smollm3"):
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
