"""The Dashboard and Playground in a real headless Chromium, against the real server and model.

A person's path through the page: give the API key, create the overview's Math
Tutor in the form and watch its answer stream in, cancel a run, build a function
tool in the schema editor (which says what is wrong), answer the call from the
page, and read the run's steps on the Threads page. The official client checks
what the page did. Each test saves a screenshot (tests/browser.py).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import openai
import pytest

from .browser import API_KEY, KEY_ITEM, WATCH, Tab, client_for, plain
from .conftest import ENDLESS, ENDLESS_FORMAT, EQUATION, MATH_TUTOR


@pytest.fixture
def sdk(dashboard_origin: str) -> openai.OpenAI:
    return client_for(dashboard_origin)


ENDED = ("completed", "failed", "incomplete", "cancelled", "expired")


def wait_for_status(tab: Tab, *expected: str, timeout: float = 120_000) -> str:
    """Wait until the page shows one of ``expected`` or the run's end, and check it is one
    of ``expected``: a run that ended otherwise fails here with what the page showed (its
    run panel, with any error or incomplete reason, and the stream's events)."""
    selector = ", ".join(f"#pg-run-details[data-status={s}]" for s in {*ENDED, *expected})
    tab.page.wait_for_selector(selector, timeout=timeout)
    status = str(tab.page.get_attribute("#pg-run-details", "data-status"))
    assert status in expected, shown(tab)
    return status


def shown(tab: Tab) -> str:
    """The run panel's text and the stream's events, for an assertion's message."""
    panel = tab.page.text_content("#pg-run-details") or ""
    events = tab.page.locator("#pg-events li").all_text_contents()
    return f"run panel: {' '.join(panel.split())!r}; events: {events}"


def test_the_page_asks_for_the_key_and_keeps_it_in_the_tab(
    browser: Any, dashboard_origin: str
) -> None:
    tab = Tab(browser, dashboard_origin, key=None)
    try:
        tab.open("assistants")
        dialog = tab.page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        assert not tab.page.is_visible("#key-reason")  # no key given yet: nothing was wrong
        tab.page.fill("#key-input", "sk-wrong")
        tab.page.press("#key-input", "Enter")  # keyboard: Enter submits the dialog's form
        dialog.wait_for(state="visible")  # refused again: asked again, saying why
        assert "Incorrect API key" in (tab.page.text_content("#key-reason") or "")
        assert tab.page.is_visible("#key-reason")
        tab.page.fill("#key-input", API_KEY)
        tab.page.click("#key-save")
        tab.page.wait_for_selector("#assistant-form")
        assert tab.page.evaluate(f"sessionStorage.getItem({KEY_ITEM!r})") == API_KEY
        assert API_KEY not in tab.page.url
        api_calls = [(url, auth) for url, auth in tab.requests if "/v1/" in url]
        assert api_calls and all(API_KEY not in url for url, _ in api_calls)
        assert api_calls[-1][1] == f"Bearer {API_KEY}"
        # Keyboard only: Tab reaches the navigation, Enter follows a link.
        for _ in range(10):
            tab.page.keyboard.press("Tab")
            if tab.page.evaluate("document.activeElement.textContent") == "Threads":
                break
        tab.page.keyboard.press("Enter")
        tab.page.wait_for_selector("#view h1 >> text=Threads")
        assert tab.page.url.endswith("#/threads")
        tab.errors.clear()  # the refused calls are what this test is about
        tab.done("api-key")
    finally:
        tab.close()


def test_math_tutor_made_in_the_page_streams_its_answer(tab: Tab, sdk: openai.OpenAI) -> None:
    page = tab.page
    tab.open("assistants/new")
    models = [m.id for m in sdk.models.list().data]
    # The picker fills from /v1/models after the form shows: wait for it (a busy machine;
    # a selector wait, as the page's CSP refuses evaluated strings).
    page.wait_for_selector("#as-model option", state="attached")
    assert page.eval_on_selector_all("#as-model option", "o => o.map(e => e.value)") == models
    page.fill("#as-name", "Math Tutor")
    page.fill("#as-instructions", MATH_TUTOR)
    page.fill("#as-temperature", "0")
    page.check("#as-code-interpreter")
    page.click("#as-save")
    page.wait_for_selector("#assistant-list >> text=Math Tutor")
    tutor = next(a for a in sdk.beta.assistants.list().data if a.name == "Math Tutor")
    assert tutor.instructions == MATH_TUTOR and tutor.temperature == 0
    assert [t.type for t in tutor.tools] == ["code_interpreter"]

    page.click("text=Open in Playground")
    page.wait_for_selector("#pg-input")
    assert page.input_value("#pg-assistant") == tutor.id
    page.fill("#pg-max-tokens", "200")
    page.evaluate(WATCH)
    page.fill("#pg-input", EQUATION)
    page.press("#pg-input", "Control+Enter")
    assert wait_for_status(tab, "completed") == "completed"

    thread_id = page.text_content("#pg-thread a")
    messages = sdk.beta.threads.messages.list(str(thread_id)).data
    answer = messages[0].content[0].text.value  # type: ignore[union-attr]
    shown = page.locator(
        ".message.assistant .text"
    ).last.inner_text()  # as drawn: blocks on their own lines
    assert " ".join(shown.split()) == plain(answer)
    # It streamed: the text grew in several steps while the run was still in progress.
    seen = page.evaluate("window.seen")
    partial = {
        length for length, status in seen if 0 < length < len(shown) and status == "in_progress"
    }
    assert len(partial) >= 3, seen[:20]
    run = sdk.beta.threads.runs.list(str(thread_id)).data[0]
    assert run.usage is not None
    panel = page.text_content("#pg-run-details") or ""
    assert f"{run.usage.prompt_tokens} prompt + {run.usage.completion_tokens} completion" in panel
    assert "First token" in panel and "tokens/s" in panel
    events = page.locator("#pg-events li").all_text_contents()
    assert events[0] == "thread.run.created" and events[-2:] == ["thread.run.completed", "done"]
    assert any(e.startswith("thread.message.delta ×") for e in events)
    tab.done("playground")


def test_a_run_is_cancelled_from_the_page(tab: Tab, sdk: openai.OpenAI) -> None:
    counter = sdk.beta.assistants.create(
        name="Counter", model="default", temperature=0, response_format=ENDLESS_FORMAT
    )
    tab.open(f"playground?assistant={counter.id}")
    page = tab.page
    page.fill("#pg-input", ENDLESS)
    page.click("#pg-send")
    page.wait_for_function(
        "() => (document.querySelector('.message.assistant .text')?.textContent || '').length > 20"
    )
    page.click("#pg-cancel")
    assert wait_for_status(tab, "cancelled") == "cancelled"
    run = sdk.beta.threads.runs.list(str(page.text_content("#pg-thread a"))).data[0]
    assert run.status == "cancelled", (run, shown(tab))
    assert page.is_disabled("#pg-cancel") and page.is_enabled("#pg-send")
    tab.done("cancelled")


def test_a_cancel_reply_that_comes_after_the_runs_end_does_not_undo_it(
    tab: Tab, sdk: openai.OpenAI
) -> None:
    """The cancel request answers ``cancelling``; the run's stream may tell ``cancelled``
    first. The page keeps the end it was told, whichever comes last."""
    counter = sdk.beta.assistants.create(
        name="Counter", model="default", temperature=0, response_format=ENDLESS_FORMAT
    )
    tab.open(f"playground?assistant={counter.id}")
    page = tab.page
    held: list[tuple[Any, Any]] = []  # the cancel request, sent on, its reply held back

    def hold(route: Any) -> None:
        held.append((route, route.fetch()))

    page.route("**/cancel", hold)
    page.fill("#pg-input", ENDLESS)
    page.click("#pg-send")
    page.wait_for_function(
        "() => (document.querySelector('.message.assistant .text')?.textContent || '').length > 20"
    )
    page.click("#pg-cancel")
    assert wait_for_status(tab, "cancelled") == "cancelled"  # told by the stream
    ((route, reply),) = held
    assert reply.json()["status"] == "cancelling"
    with page.expect_response("**/cancel"):
        route.fulfill(response=reply)
    page.wait_for_timeout(500)  # the reply's handler has run (it would redraw at once)
    assert page.get_attribute("#pg-run-details", "data-status") == "cancelled", shown(tab)
    assert page.is_disabled("#pg-cancel") and page.is_enabled("#pg-send")
    run = sdk.beta.threads.runs.retrieve(reply.json()["id"], thread_id=reply.json()["thread_id"])
    assert run.status == "cancelled", (run, shown(tab))


def test_a_function_tool_is_built_called_and_answered_in_the_page(
    tab: Tab, sdk: openai.OpenAI
) -> None:
    page = tab.page
    tab.open("assistants/new")
    page.fill("#as-name", "Weather")
    page.fill("#as-instructions", "You report the weather. Call get_weather.")
    page.fill("#as-temperature", "0")
    page.click("#as-add-function")
    editor, verdict = page.locator(".function-schema"), page.locator(".schema-verdict")
    assert verdict.text_content() == "Valid function."  # the template
    editor.fill('{"name": "get_weather", ')
    assert "Not valid JSON" in (verdict.text_content() or "")
    editor.fill('{"name": "get weather"}')
    assert "name:" in (verdict.text_content() or "")
    # Past the page's own checks, the server's meta-schema check names the parameter.
    wrong = {"name": "get_weather", "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "minLength": "three"}}}}  # fmt: skip
    editor.fill(json.dumps(wrong))
    page.click("#as-save")
    notice = page.locator("#notice[role=alert]")
    notice.wait_for()
    assert "Error 400" in (notice.text_content() or "") and "tools[0]" in (
        notice.text_content() or ""
    )
    assert "minLength" in (verdict.text_content() or "")
    assert not [a for a in sdk.beta.assistants.list().data if a.name == "Weather"]
    wrong["parameters"]["properties"]["location"] = {"type": "string"}  # type: ignore[index]
    wrong["parameters"]["required"] = ["location"]  # type: ignore[index]
    editor.fill(json.dumps(wrong))
    page.click("#as-save")
    page.wait_for_selector("#assistant-list >> text=Weather")

    page.click("text=Open in Playground")
    page.select_option("#pg-tool-choice", "required")
    page.fill("#pg-max-tokens", "120")
    page.fill("#pg-input", "What's the weather in Paris?")
    page.click("#pg-send")
    assert wait_for_status(tab, "requires_action") == "requires_action"
    arguments = json.loads(page.text_content("#pg-action .arguments") or "")
    assert isinstance(arguments.get("location"), str)
    page.fill("#pg-action .tool-output", '{"temperature_c": 22, "sky": "clear"}')
    page.click("#pg-submit-outputs")
    assert wait_for_status(tab, "completed", "incomplete") in ("completed", "incomplete")
    thread_id = str(page.text_content("#pg-thread a"))
    run = sdk.beta.threads.runs.list(thread_id).data[0]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc").data
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.function.output == '{"temperature_c": 22, "sky": "clear"}'  # type: ignore[union-attr]
    assert page.locator(".message.assistant").count() == 1
    tab.done("function-call")

    # The Threads page: this thread first (newest), its run's steps open to show the call.
    tab.go("threads")
    page.wait_for_selector("#thread-list")
    assert page.locator("#thread-list li").first.text_content().startswith(thread_id)  # type: ignore[union-attr]
    page.click(f"details.run[data-run-id={run.id}] > summary")
    output = page.locator(f"details.run[data-run-id={run.id}] .function-output")
    output.wait_for()
    assert output.text_content() == '{"temperature_c": 22, "sky": "clear"}'
    assert page.locator(f"details.run[data-run-id={run.id}] .arguments").text_content()
    tab.done("threads")

    # Deleting asks twice, then the assistant is gone.
    weather = next(a for a in sdk.beta.assistants.list().data if a.name == "Weather")
    tab.go(f"assistants/{weather.id}")
    page.click("#assistant-form button.danger")
    assert page.text_content("#assistant-form button.danger") == "Really delete?"
    page.click("#assistant-form button.danger")
    page.wait_for_selector("#notice >> text=Deleted Weather")
    with pytest.raises(openai.NotFoundError):
        sdk.beta.assistants.retrieve(weather.id)


def test_files_attached_in_the_form_become_the_assistants_vector_store(
    tab: Tab, sdk: openai.OpenAI
) -> None:
    notes = sdk.files.create(
        file=("notes.md", b"# Notes\nThe launch code is 4711."), purpose="assistants"
    )
    page = tab.page
    tab.open("assistants/new")
    page.fill("#as-name", "Notes")
    page.check("#as-file-search")
    page.check(f"#assistant-form input[value={notes.id}]")
    page.click("#as-save")
    page.wait_for_selector("#assistant-list >> text=Notes")
    made = next(a for a in sdk.beta.assistants.list().data if a.name == "Notes")
    assert [t.type for t in made.tools] == ["file_search"]
    (store_id,) = made.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert [f.id for f in sdk.vector_stores.files.list(store_id).data] == [notes.id]
    # The form shows the new store as attached when the assistant is opened again.
    assert page.is_checked(f"#assistant-form input[value={store_id}]")


def test_api_text_is_shown_as_text_and_errors_as_messages(tab: Tab, sdk: openai.OpenAI) -> None:
    hostile = '<img src=x onerror="window.pwned = 1"> **bold** and `code`'
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": hostile}])
    tab.open(f"threads/{thread.id}")
    page = tab.page
    shown = page.locator("#thread-detail .message.user .text")
    shown.wait_for()
    assert shown.text_content() == '<img src=x onerror="window.pwned = 1"> bold and code'
    assert page.locator("#thread-detail .message.user strong").text_content() == "bold"
    assert page.locator("#thread-detail img").count() == 0
    assert page.evaluate("window.pwned") is None
    tab.go("threads/thread_missing")
    notice = page.locator("#notice[role=alert]")
    notice.wait_for()
    assert "Error 404" in (notice.text_content() or "") and "thread_missing" in (
        notice.text_content() or ""
    )
    assert page.locator("#view h1").text_content() == "This page could not load"
    tab.done("errors")
    # Were a page script ever to reach beyond its server, the browser would refuse. The
    # other origin is a listener of this test's own, which must see no connection.
    with socket.create_server(("127.0.0.1", 0)) as other:
        elsewhere = f"http://127.0.0.1:{other.getsockname()[1]}"
        page.evaluate("url => fetch(url + '/x').catch(() => null)", elsewhere)
        page.evaluate(
            "url => document.body.append(Object.assign(new Image(), {src: url + '/y.png'}))",
            elsewhere,
        )
        page.wait_for_function("window.blocked.length >= 2")
        other.settimeout(0.5)
        with pytest.raises(TimeoutError):
            other.accept()
    blocked = sorted(v.split()[0] for v in page.evaluate("window.blocked"))
    assert blocked == ["connect-src", "img-src"]
