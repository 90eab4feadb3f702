"""Reasoning in Responses, reasoning_effort, the Dashboard and other clients, on the real server.

On the distill's GGUF copy (tests/reasoning/conftest.py): a response's
``reasoning`` item before its message or calls, whole, streamed (events checked
against the SDK's types and the Open Responses schemas) and retrieved; its sealed
``encrypted_content`` sent back, and a forged one refused; ``reasoning_effort``
none/minimal turning the thinking off in chat, runs, assistants and Responses,
and a model that cannot reason saying so; the Dashboard's folded view of a run's
reasoning (Chromium); LangChain and litellm reading the reasoning apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from ..browser import API_KEY, Tab
from ..conftest import EQUATION
from ..open_responses import check_event, check_response
from ..test_client_frameworks import framework
from ..tools_fixtures import GET_WEATHER
from .helpers import BUDGET, no_tags, reasoning_of, solved


def _streamed(sdk: openai.OpenAI, ask: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of ``ask`` streamed, each checked against the SDK's types and the Open
    Responses schemas."""
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
    return events


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
    no_tags(part.text)
    no_tags(response.output_text)
    assert response.output_text and part.text.strip() not in response.output_text
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > BUDGET
    assert sdk.responses.retrieve(response.id).output == response.output

    events = _streamed(sdk, ask)
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


def test_a_reasoning_summary_is_written_by_the_model_whole_and_streamed(
    sdk: openai.OpenAI,
) -> None:
    ask = {
        "model": "default",
        "input": EQUATION,
        "temperature": 0,
        "max_output_tokens": 48,
        "reasoning": {"summary": "auto"},
    }
    response = sdk.responses.create(**ask)  # type: ignore[call-overload]
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and message.type == "message", response.output
    (summary,) = reasoning.summary
    (thought,) = reasoning.content or []
    assert summary.type == "summary_text" and summary.text.strip(), reasoning
    assert summary.text != thought.text  # the model's own words on it, not a copy
    no_tags(summary.text)
    assert sdk.responses.retrieve(response.id).output[0] == reasoning
    plain = sdk.responses.create(**{**ask, "reasoning": {}})  # type: ignore[call-overload]
    assert plain.output[0].type == "reasoning" and plain.output[0].summary == []
    assert plain.output[0].content == reasoning.content  # a summary changes no reasoning

    events = _streamed(sdk, ask)
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.reasoning_summary_text.delta")
    assert deltas >= 1, kinds
    closed = kinds.index("response.content_part.done")
    assert kinds[closed - 1 : closed + 1 + 1 + deltas + 3] == [
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * deltas,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    streamed = "".join(
        e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"
    )
    assert streamed.rstrip() == summary.text
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["summary"] == [{"type": "summary_text", "text": summary.text}]
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(**{**ask, "reasoning": {"summary": "verbose"}})  # type: ignore[call-overload]
    assert refused.value.body["param"] == "reasoning.summary"  # type: ignore[index]


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
    assert (reasoning_of(chat.choices[0].message) or "").strip() == ""
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
    # So do an assistant and a run of one asking more than none of it; none is fine.
    plain = str(model_path)
    asking = (
        lambda: beta.assistants.create(model=plain, reasoning_effort="low"),
        lambda: beta.assistants.update(tutor.id, model=plain, reasoning_effort="high"),
        lambda: beta.threads.runs.create(
            thread_id=thread.id, assistant_id=tutor.id, model=plain, reasoning_effort="medium"
        ),
    )
    for ask in asking:
        with pytest.raises(openai.BadRequestError) as refused:
            ask()
        assert refused.value.body["param"] == "reasoning_effort"  # type: ignore[index]
        assert "does not reason" in refused.value.body["message"]  # type: ignore[index]
    fine = beta.assistants.create(model=plain, reasoning_effort="none")
    assert (fine.model_extra or {}).get("reasoning_effort") == "none"
    assert beta.assistants.retrieve(tutor.id).model == "default"  # the refused update kept nothing


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


def test_the_dashboard_shows_a_runs_reasoning_folded_in_its_step(
    browser: Any, sdk: openai.OpenAI
) -> None:
    beta = sdk.beta
    thread, run = solved(sdk, max_completion_tokens=48)
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
        # A response's reasoning summary shows on the fold of its step.
        conversation = sdk.conversations.create()
        summarized = sdk.responses.create(
            model="default", input=EQUATION, conversation=conversation.id, temperature=0,
            max_output_tokens=48, reasoning={"summary": "auto"},
        )  # fmt: skip
        gist = summarized.output[0].summary[0].text  # type: ignore[union-attr]
        (answered,) = beta.threads.runs.list(conversation.id).data
        tab.open(f"threads/{conversation.id}")
        page.click(f"details.run[data-run-id={answered.id}] > summary")
        fold = page.locator(f"details.run[data-run-id={answered.id}] details.reasoning > summary")
        fold.wait_for()
        assert fold.text_content() == f"Reasoning: {gist}"
        tab.done("reasoning")
    finally:
        tab.close()


def test_langchain_and_litellm_read_the_reasoning_apart(sdk: openai.OpenAI) -> None:
    url = str(sdk.base_url).removesuffix("/")
    chain = framework("langchain-reasoning", url, API_KEY)
    assert chain["reasoning"] and all(chain["reasoning"]), chain
    no_tags(chain["text"])
    assert all(text.strip() not in chain["text"] for text in chain["reasoning"])
    lite = framework("litellm-reasoning", url, API_KEY)
    for model in ("openai/default", "hosted_vllm/default"):
        said = lite[model]
        assert said["reasoning"], (model, said)
        no_tags(said["text"])
