"""A run resumed after a restart keeps its tools' per-run state: it is read back from the
stored steps and run record, not from the memory of the process that started it.

The model's *choice* is scripted (tests/fakes.py ``ScriptedEngine``: a function call,
then an answer) so the test can look at what the second turn's prompt held; the
store, the index, the embedder, the kernel and the sandbox are real.
"""

from __future__ import annotations

import json
from pathlib import Path

from offline_assistants import Client

from .documents import PDF
from .fakes import ScriptedEngine, code_call

CONFIRM = {
    "type": "function",
    "function": {"name": "confirm", "parameters": {"type": "object", "properties": {}}},
}


def _function_call(name: str) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': {}})}\n</tool_call>"


def test_search_excerpts_survive_a_restart_between_turns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ScriptedEngine([_function_call("confirm")])
    with Client(data_dir=data, engine_factory=lambda path: first) as client:
        with PDF.open("rb") as handle:
            paper = client.files.create(file=handle, purpose="assistants")
        store = client.vector_stores.create(name="paper")
        row = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=paper.id)
        assert row.status == "completed"
        assistant = client.beta.assistants.create(
            model="default",
            tools=[{"type": "file_search"}, CONFIRM],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "What is multi-head attention?"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "requires_action", run.last_error
        [system] = [m.content for m in first.conversations[-1] if m.role == "system"]
        assert f"[1] {PDF.name}, p" in system
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    second = ScriptedEngine(["Multi-head attention attends to several subspaces."])
    with Client(data_dir=data, engine_factory=lambda path: second) as client:
        done = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
        )
        assert done.status == "completed", done.last_error
        [resumed] = [m.content for m in second.conversations[-1] if m.role == "system"]
        assert resumed == system  # the same excerpts, with their pages, after the restart


def test_files_written_by_code_are_cited_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write = code_call("open('/mnt/data/squares.csv', 'w').write('n,sq\\n2,4\\n')")
    first = ScriptedEngine([f"{write}\n{_function_call('confirm')}"])
    with Client(data_dir=data, engine_factory=lambda path: first) as client:
        assistant = client.beta.assistants.create(
            model="default",
            tools=[{"type": "code_interpreter"}, CONFIRM],
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Save it."}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "requires_action", run.last_error
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    second = ScriptedEngine(["Saved as sandbox:/mnt/data/squares.csv for you."])
    with Client(data_dir=data, engine_factory=lambda path: second) as client:
        done = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
        )
        assert done.status == "completed", done.last_error
        text = client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text  # type: ignore[union-attr]
        [annotation] = text.annotations
        assert annotation.type == "file_path"
        assert text.value[annotation.start_index : annotation.end_index] == (
            "sandbox:/mnt/data/squares.csv"
        )
        written = annotation.file_path.file_id  # type: ignore[union-attr]
        assert client.files.content(written).content == b"n,sq\n2,4\n"
