"""Any GGUF a user brings: the template matrix, on files of other families (tests/model_families.py).

For each family (Qwen 2.5, Llama 3.1, Mistral v0.3, Gemma 2/3-IT, Phi-3 mini,
Phi-3.5 mini) a GGUF copy of the default model carries that family's chat
template and special tokens. Every conversation shape the API allows renders
(consecutive user turns, assistant-first threads, tool turns) with the
instructions in the prompt; through the real runtime each family runs the seed
flow, a thread with two user messages in a row, a function round trip under
``tool_choice="required"`` and a file_search run: none fails, and no message
shows a template token. A file without a template is refused, saying how to
give one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, FunctionSpec, ToolCall
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.tool_format import HermesFormat, Llama3Format, MistralFormat
from offline_assistants.errors import ModelFileError

from .conftest import EQUATION, MATH_TUTOR
from .model_families import FAMILIES, NO_TEMPLATE, Family, write_family
from .tools_fixtures import GET_WEATHER

INSTRUCTIONS = "You are Zorblax, a terse tutor. Always answer in one sentence."
WEATHER = FunctionSpec(GET_WEATHER["name"], GET_WEATHER["description"], GET_WEATHER["parameters"])
NOTE = "The Zorblax valley is famous for its purple lakes, which freeze every November."
IDS = [family.name for family in FAMILIES]
FORMATS = {
    "qwen2.5": (HermesFormat, True),
    "llama3.1": (Llama3Format, True),
    "mistral-v0.3": (MistralFormat, True),
    "gemma2-it": (HermesFormat, False),
    "gemma3-it": (HermesFormat, False),
    "phi3-mini": (HermesFormat, False),
    "phi3.5-mini": (HermesFormat, False),
}


@pytest.fixture(scope="module")
def family_files(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("families")
    return {
        family.name: write_family(model_path, folder / f"{family.name}.gguf", family)
        for family in [*FAMILIES, NO_TEMPLATE]
    }


def _engine(path: Path, chat_template: str | None = None) -> LlamaEngine:
    return LlamaEngine(path, n_threads=2, n_ctx=2048, progress=False, chat_template=chat_template)


def _rendered(engine: LlamaEngine, turns: list[ChatMessage], functions: list[FunctionSpec]) -> str:
    tokens = engine.prompt_tokens(turns, functions)
    return engine._llama.detokenize(tokens, special=True).decode()


ROUND_TRIP = [
    ChatMessage("user", "Weather in Oslo?"),
    ChatMessage(
        "assistant", tool_calls=(ToolCall("call_abc123XYZ", "get_weather", '{"city": "Oslo"}'),)
    ),
    ChatMessage("tool", '{"temp": -3}', tool_call_id="call_abc123XYZ", name="get_weather"),
]
SHAPES = {
    "two users": [
        ChatMessage("system", INSTRUCTIONS),
        ChatMessage("user", "Hello?"),
        ChatMessage("user", "Are you there? What is 2+2?"),
    ],
    "assistant first": [
        ChatMessage("system", INSTRUCTIONS),
        ChatMessage("assistant", "Welcome! Ask me anything."),
        ChatMessage("user", "What is 2+2?"),
    ],
    "tool turns": [
        ChatMessage("system", INSTRUCTIONS),
        *ROUND_TRIP,
    ],
    "after a cancelled run": [
        ChatMessage("system", INSTRUCTIONS),
        *ROUND_TRIP,
        ChatMessage("assistant", "It is cold."),
        ChatMessage("assistant", "Anything else?"),
        ChatMessage("user", "No."),
        ChatMessage("user", "Well, and in Rome?"),
    ],
}


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_every_conversation_shape_renders_with_the_instructions(
    family: Family, family_files: dict[str, Path]
) -> None:
    engine = _engine(family_files[family.name])
    try:
        kind, native = FORMATS[family.name]
        assert isinstance(engine.tool_format, kind) and engine.tool_format.native is native
        # The template's end-of-turn token (SmolLM2's id 2 renamed) ends an answer.
        assert 2 in engine.end_tokens()
        for shape, turns in SHAPES.items():
            for functions in ([], [WEATHER]):
                text = _rendered(engine, turns, functions)
                assert INSTRUCTIONS in text, (shape, text)
                assert turns[-1].content in text, (shape, text)
                if functions:
                    assert "get_weather" in text and "city" in text, (shape, text)
    finally:
        engine.close()


def test_the_formats_follow_the_templates_own_conventions(family_files: dict[str, Path]) -> None:
    tool_turns = SHAPES["tool turns"]
    mistral = _engine(family_files["mistral-v0.3"])
    try:
        text = _rendered(mistral, tool_turns, [WEATHER])
        # Mistral's template insists on nine-character ids: the call and its result agree.
        assert '[TOOL_CALLS] [{"name": "get_weather"' in text
        assert '"id": "abc123XYZ"' in text and '"call_id": "abc123XYZ"' in text
        assert "[AVAILABLE_TOOLS]" in text
    finally:
        mistral.close()
    gemma = _engine(family_files["gemma2-it"])
    try:
        assert not gemma.traits.system and gemma.traits.alternation
        text = _rendered(gemma, SHAPES["two users"], [])
        assert text.count("<start_of_turn>user") == 1  # merged, with the system text in it
        assert f"<start_of_turn>user\n{INSTRUCTIONS}\n\nHello?\n\nAre you there?" in text
    finally:
        gemma.close()
    phi = _engine(family_files["phi3-mini"])
    try:
        assert not phi.traits.system  # the template drops it: folded into the user turn
        assert f"<|user|>\n{INSTRUCTIONS}\n\nHello?" in _rendered(phi, SHAPES["two users"], [])
    finally:
        phi.close()


def test_a_file_without_a_template_is_refused_saying_how_to_give_one(
    family_files: dict[str, Path],
) -> None:
    path = family_files["no-template"]
    with pytest.raises(ModelFileError) as raised:
        _engine(path)
    assert raised.value.code == "no_chat_template"
    assert "OFFLINE_ASSISTANTS_CHAT_TEMPLATE" in raised.value.message
    assert "chatml" in raised.value.message  # the built-in names are listed
    engine = _engine(path, chat_template="chatml")  # a built-in name, rendered by llama.cpp
    try:
        text = _rendered(engine, SHAPES["two users"], [WEATHER])
        assert text.startswith(f"<|im_start|>system\n{INSTRUCTIONS}")
        assert text.endswith("<|im_start|>assistant\n")
    finally:
        engine.close()


def test_models_check_reports_and_refuses(family_files: dict[str, Path]) -> None:
    command = [sys.executable, "-m", "offline_assistants.cli", "models", "check"]
    refused = subprocess.run(
        [*command, str(family_files["no-template"])], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1
    assert "no chat template" in refused.stdout and "--chat-template" in refused.stdout
    checked = subprocess.run(
        [*command, str(family_files["gemma2-it"]), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] and report["template"] == "the GGUF file's metadata"
    assert report["tool_format"].startswith("generic")
    assert any(s.startswith("<end_of_turn> (2)") for s in report["stop_tokens"])
    assert report["system_role"].startswith("folded")
    assert report["alternation"].startswith("required")
    assert report["smoke"]["tokens"] <= 32


def test_serve_refuses_a_default_model_without_a_template(
    family_files: dict[str, Path], tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "offline_assistants.cli", "serve", "--port", "0"]
    command += ["--model", str(family_files["no-template"]), "--data-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "has no chat template" in done.stderr and "--chat-template" in done.stderr


@pytest.fixture(scope="module")
def family_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    settings = Settings.from_env(data_dir=tmp_path_factory.mktemp("family-data"), n_ctx=2048)
    with Client(settings=settings) as client:
        yield client


@pytest.fixture(scope="module")
def note_store(family_client: Client) -> str:
    file = family_client.files.create(file=("zorblax.txt", NOTE.encode()), purpose="assistants")
    store = family_client.vector_stores.create(name="notes")
    row = family_client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=file.id
    )
    assert row.status == "completed"
    return store.id


def _messages(client: Client, thread_id: str) -> list[str]:
    listed = client.beta.threads.messages.list(thread_id, order="asc").data
    return [part.text.value for m in listed for part in m.content if part.type == "text"]


def _finished(run: Any) -> None:
    assert run.status in ("completed", "incomplete", "requires_action"), run.last_error


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_each_family_runs_the_api_end_to_end(
    family: Family, family_files: dict[str, Path], family_client: Client, note_store: str
) -> None:
    client = family_client
    model = str(family_files[family.name])
    beta = client.beta
    tutor = beta.assistants.create(
        name="Math Tutor", instructions=MATH_TUTOR, model=model, temperature=0.2
    )
    budget = {"max_completion_tokens": 48}
    threads = []
    # The seed flow.
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    threads.append(thread.id)
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id, **budget)
    assert run.status in ("completed", "incomplete"), run.last_error
    # Two user messages in a row (as after a failed or cancelled run).
    beta.threads.messages.create(thread.id, role="user", content="Sorry, I mean 3x + 11 = 20.")
    beta.threads.messages.create(thread.id, role="user", content="What is x?")
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id, **budget)
    assert run.status in ("completed", "incomplete"), run.last_error
    # A function round trip under "required": the call validates, the answer follows.
    weather = beta.assistants.create(
        instructions=INSTRUCTIONS,
        model=model,
        temperature=0,
        tools=[{"type": "function", "function": GET_WEATHER}],
    )
    thread = beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    threads.append(thread.id)
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=weather.id,
        tool_choice="required",
        max_completion_tokens=128,
    )
    assert run.status == "requires_action", run.last_error
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert calls  # parallel calls are allowed (the default): each one validates
    for call in calls:
        assert call.function.name == "get_weather"
        jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])
    run = beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": '{"temp": -3}'} for c in calls],
    )
    _finished(run)
    # file_search over a note.
    searcher = beta.assistants.create(
        instructions=INSTRUCTIONS,
        model=model,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [note_store]}},
    )
    thread = beta.threads.create(
        messages=[{"role": "user", "content": "When do the Zorblax lakes freeze?"}]
    )
    threads.append(thread.id)
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=searcher.id, **budget)
    assert run.status in ("completed", "incomplete"), run.last_error
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert any(
        c.type == "file_search"
        for s in steps
        if s.step_details.type == "tool_calls"
        for c in s.step_details.tool_calls
    )
    for thread_id in threads:
        for text in _messages(client, thread_id):
            leaked = [marker for marker in family.markers if marker in text]
            assert not leaked, (leaked, text)
