"""file_search in runs, end to end with the real model, embeddings, Chroma and DuckDB.

The overview's Retrieval flow on the real paper through both faces, message
attachments making the thread's vector store, the tool's options, and the
citations' indices.
"""

from __future__ import annotations

import io
from typing import Any

from offline_assistants.runs.citations import Source, cite

from .documents import PDF

CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
QUESTION = "What BLEU score did the big Transformer get on English-to-German translation?"
VOLCANO = (
    "Mount Etna in Sicily is one of the most active volcanoes on Earth. Lava flows from its "
    "craters reach the towns below every few years."
)


def _answer(client: Any, thread_id: str) -> Any:
    return client.beta.threads.messages.list(thread_id, order="desc").data[0]


def _search_call(client: Any, run: Any, include: list[str] | None = None) -> Any:
    steps = client.beta.threads.runs.steps.list(
        run.id, thread_id=run.thread_id, order="asc", **({"include": include} if include else {})
    ).data
    calls = [
        call
        for step in steps
        if step.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "file_search"
    ]
    assert len(calls) == 1
    return calls[0]


def _assert_citations(message: Any, file_ids: set[str]) -> list[Any]:
    text = message.content[-1].text
    cited = [a for a in text.annotations if a.type == "file_citation"]
    assert cited, text.value
    for annotation in cited:
        assert text.value[annotation.start_index : annotation.end_index] == annotation.text
        assert annotation.file_citation.file_id in file_ids
    return cited


def test_the_overview_retrieval_flow_on_the_paper(client: Any, tutor: Any) -> None:
    paper = client.files.create(file=open(PDF, "rb"), purpose="assistants")  # noqa: SIM115
    vs = client.vector_stores.create(name="papers")
    row = client.vector_stores.files.create_and_poll(vector_store_id=vs.id, file_id=paper.id)
    assert row.status == "completed"
    assistant = client.beta.assistants.update(
        tutor.id,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [vs.id]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=60
    )
    assert run.status in ("completed", "incomplete"), run.last_error

    call = _search_call(client, run)
    results = call.file_search.results
    assert results and all(r.file_id == paper.id for r in results)
    assert results[0].file_name == PDF.name
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert all(r.content is None for r in results)  # not included unless asked
    assert call.file_search.ranking_options.score_threshold == 0.0
    with_content = _search_call(client, run, include=[CONTENT]).file_search.results
    assert [r.file_id for r in with_content] == [r.file_id for r in results]
    # the chunk holding Table 2 (28.4 BLEU on EN-DE) is among the best three
    assert any("28.4" in r.content[0].text for r in with_content[:3])

    step_ids = [
        s.type
        for s in client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    ]
    assert step_ids == ["tool_calls", "message_creation"]
    cited = _assert_citations(_answer(client, thread.id), {paper.id})
    assert f"{PDF.name}, p" in cited[0].text


def test_a_message_attachment_makes_the_threads_vector_store(client: Any, tutor: Any) -> None:
    note = client.files.create(file=("etna.md", io.BytesIO(VOLCANO.encode())), purpose="assistants")
    client.beta.assistants.update(tutor.id, tools=[{"type": "file_search"}])
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Which volcano is very active?",
                "attachments": [{"file_id": note.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    store_ids = thread.tool_resources.file_search.vector_store_ids
    assert len(store_ids) == 1
    store = client.vector_stores.retrieve(store_ids[0])
    assert store.file_counts.total == 1
    assert store.expires_after.anchor == "last_active_at" and store.expires_after.days == 7

    later = client.files.create(
        file=("bread.md", b"Sourdough bread needs a starter."), purpose="assistants"
    )
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="And bread?",
        attachments=[{"file_id": later.id, "tools": [{"type": "file_search"}]}],
    )
    assert (
        client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
        == store_ids
    )

    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=40
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    results = _search_call(client, run, include=[CONTENT]).file_search.results
    assert {r.file_id for r in results} == {note.id, later.id}  # both ingested before the search
    assert results[0].file_id == later.id  # the latest question is about bread
    assert client.vector_stores.retrieve(store_ids[0]).file_counts.completed == 2
    _assert_citations(_answer(client, thread.id), {note.id, later.id})


def test_tool_options_and_tool_choice(client: Any, tutor: Any) -> None:
    notes = [
        client.files.create(file=(f"n{i}.md", text.encode()), purpose="assistants").id
        for i, text in enumerate(
            [VOLCANO, "Sourdough bread needs a starter.", "Tides follow the moon."]
        )
    ]
    vs = client.vector_stores.create(file_ids=notes)
    for file_id in notes:
        client.vector_stores.files.poll(file_id, vector_store_id=vs.id)
    resources = {"file_search": {"vector_store_ids": [vs.id]}}
    ask = [{"role": "user", "content": "Tell me about volcanoes."}]

    limited = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": ask, "tool_resources": resources},
        tools=[{"type": "file_search", "file_search": {"max_num_results": 2}}],
        max_completion_tokens=20,
    )
    results = _search_call(client, limited).file_search.results
    assert len(results) == 2 and results[0].file_id == notes[0]

    strict = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": ask, "tool_resources": resources},
        tools=[
            {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 0.99}}}
        ],
        max_completion_tokens=20,
    )
    call = _search_call(client, strict)
    assert (
        call.file_search.results == [] and call.file_search.ranking_options.score_threshold == 0.99
    )
    plain = _answer(client, strict.thread_id).content[-1].text
    assert plain.annotations == []  # nothing found, nothing cited

    silent = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": ask, "tool_resources": resources},
        tools=[{"type": "file_search"}],
        tool_choice="none",
        max_completion_tokens=20,
    )
    steps = client.beta.threads.runs.steps.list(silent.id, thread_id=silent.thread_id).data
    assert [s.type for s in steps] == ["message_creation"]

    forced = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": ask, "tool_resources": resources},
        tools=[{"type": "file_search"}],
        tool_choice={"type": "file_search"},
        max_completion_tokens=20,
    )
    assert forced.tool_choice.type == "file_search"
    assert _search_call(client, forced).file_search.results


def test_a_deleted_store_is_skipped_not_fatal(client: Any, tutor: Any) -> None:
    vs = client.vector_stores.create()
    client.beta.assistants.update(
        tutor.id,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    client.vector_stores.delete(vs.id)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": [{"role": "user", "content": "Hello"}]},
        max_completion_tokens=10,
    )
    assert run.status in ("completed", "incomplete")
    assert _search_call(client, run).file_search.results == []


def test_citations_point_at_the_sentence_that_quotes_a_source() -> None:
    sources = [
        Source(
            "file_a", "paper.pdf", 8, 8, "The big model reaches 28.4 BLEU on English-to-German."
        ),
        Source("file_b", "notes.md", 1, 2, "Mount Etna is an active volcano in Sicily."),
    ]
    text = "It reaches 28.4 BLEU on English-to-German. Etna is an active volcano in Sicily! Bye."
    cited, annotations = cite(text, sources)
    assert [a["file_citation"]["file_id"] for a in annotations] == ["file_a", "file_b"]
    for a in annotations:
        assert cited[a["start_index"] : a["end_index"]] == a["text"]
    first = annotations[0]
    assert cited[: first["start_index"]] == "It reaches 28.4 BLEU on English-to-German."
    assert first["text"] == "【0:0†paper.pdf, p. 8】"
    assert annotations[1]["text"] == "【0:1†notes.md, pp. 1-2】"
    assert cited.endswith(" Bye.")
    # an answer quoting nothing still cites what it was given first, at its end
    fallback, [only] = cite("No idea, sorry.", sources)
    assert (
        fallback == "No idea, sorry." + only["text"]
        and only["file_citation"]["file_id"] == "file_a"
    )
    assert cite("text", []) == ("text", [])


def test_streamed_search_step_shows_content_only_when_included(client: Any, tutor: Any) -> None:
    note = client.files.create(file=("etna.md", VOLCANO.encode()), purpose="assistants")
    vs = client.vector_stores.create(file_ids=[note.id])
    client.vector_stores.files.poll(note.id, vector_store_id=vs.id)
    client.beta.assistants.update(
        tutor.id,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    for include, shown in (([], None), ([CONTENT], VOLCANO)):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Etna?"}])
        events = list(
            client.beta.threads.runs.create(
                thread.id,
                assistant_id=tutor.id,
                stream=True,
                max_completion_tokens=10,
                **({"include": include} if include else {}),
            )
        )
        done = [
            e.data
            for e in events
            if e.event == "thread.run.step.completed" and e.data.type == "tool_calls"
        ]
        [result] = done[0].step_details.tool_calls[0].file_search.results
        assert result.file_id == note.id
        assert (result.content[0].text if result.content else None) == shown
        assert (
            events[-1].event == "thread.run.completed"
            or events[-1].event == "thread.run.incomplete"
        )
