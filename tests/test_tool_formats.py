"""Both prompt paths for tools: a template that knows tools (Hermes/Qwen) and one that does not.

The default model's ChatML template knows nothing of tools, so the generic path
describes them in the system message and tells earlier calls in prose. A
Hermes-style template (tests/data/templates/qwen2.5.jinja, the format Qwen 2.5
ships) renders tools, calls and results itself; the same weights run under it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, FunctionSpec, Grammar, Sampling, ToolCall
from offline_assistants.engine.grammar import literal
from offline_assistants.engine.llama import LlamaEngine

from .tools_fixtures import GET_WEATHER

TEMPLATE = (Path(__file__).parent / "data" / "templates" / "qwen2.5.jinja").read_text()
WEATHER = FunctionSpec(
    GET_WEATHER["name"], GET_WEATHER["description"], GET_WEATHER["parameters"], strict=True
)
HISTORY = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Weather in Oslo?"),
    ChatMessage("assistant", tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Oslo"}'),)),
    ChatMessage("tool", '{"temp": -3}', tool_call_id="call_1", name="get_weather"),
]


@pytest.fixture(scope="module")
def native_engine(model_path: Path) -> LlamaEngine:
    settings = Settings.from_env()
    return LlamaEngine(
        model_path, n_threads=settings.n_threads, n_ctx=4096, progress=False, chat_template=TEMPLATE
    )


def rendered(engine: LlamaEngine) -> str:
    tokens = engine.prompt_tokens(HISTORY, [WEATHER])
    return engine._llama.detokenize(tokens, special=True).decode()


def test_the_formats_are_chosen_from_the_template(
    real_engine: LlamaEngine, native_engine: LlamaEngine
) -> None:
    assert real_engine.tool_format.native is False
    assert native_engine.tool_format.native is True


def test_native_template_renders_tools_calls_and_results(native_engine: LlamaEngine) -> None:
    text = rendered(native_engine)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert json.dumps(WEATHER.as_tool(), ensure_ascii=False) in text  # the template's tojson
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>'
        in text
    )
    assert '<|im_start|>user\n<tool_response>\n{"temp": -3}\n</tool_response><|im_end|>' in text
    assert text.endswith("<|im_start|>assistant\n")


def test_generic_template_gets_tools_in_the_system_message(real_engine: LlamaEngine) -> None:
    text = rendered(real_engine)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert json.dumps(WEATHER.as_tool()) in text
    assert 'I called get_weather with {"city": "Oslo"}' in text
    assert 'get_weather returned: {"temp": -3}' in text
    assert "<tool_response>" not in text


@pytest.fixture
def native_client(tmp_path: Path, native_engine: LlamaEngine) -> Iterator[Client]:
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: native_engine) as c:
        yield c


def test_a_full_run_through_the_native_format(native_client: Client) -> None:
    client = native_client
    assistant = client.beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
    )
    assert run.status == "requires_action", run.last_error
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    for call in calls:
        assert call.function.name == "get_weather"
        jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": '{"temp": -3}'} for c in calls],
    )
    assert run.status in ("completed", "requires_action", "incomplete"), run.last_error
    steps = client.beta.threads.runs.steps.list(
        thread_id=thread.id, run_id=run.id, order="asc"
    ).data
    assert steps[0].type == "tool_calls" and steps[0].status == "completed"
    assert len(steps) == 2


def test_parse_reads_whole_json_objects(real_engine: LlamaEngine) -> None:
    text = (
        '<tool_call>\n{"name": "send_email", "arguments": {"to": "a}\\n</tool_call>", '
        '"n": {"x": [1, "}"]}}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": {}}\n</tool_call>'
    )
    assert real_engine.tool_format.parse(text) == [
        ("send_email", {"to": "a}\n</tool_call>", "n": {"x": [1, "}"]}}),
        ("b", {}),
    ]
    assert real_engine.tool_format.parse("Hello <tool_call> there") == []


LLAMA3_TEMPLATE = (Path(__file__).parent / "data" / "templates" / "llama3.1.jinja").read_text()


@pytest.fixture(scope="module")
def llama3_engine(model_path: Path) -> LlamaEngine:
    settings = Settings.from_env()
    return LlamaEngine(
        model_path,
        n_threads=settings.n_threads,
        n_ctx=4096,
        progress=False,
        chat_template=LLAMA3_TEMPLATE,
    )


def test_llama3_template_gets_the_llama3_format(llama3_engine: LlamaEngine) -> None:
    from offline_assistants.engine.tool_format import Llama3Format

    assert isinstance(llama3_engine.tool_format, Llama3Format)
    text = rendered(llama3_engine)
    assert "Environment: ipython" in text and '"name": "get_weather"' in text
    assert (
        '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Oslo"}}<|eot_id|>'
        in text
    )
    assert '<|start_header_id|>ipython<|end_header_id|>\n\n{"temp": -3}<|eot_id|>' in text


def test_a_full_run_through_the_llama3_format(tmp_path: Path, llama3_engine: LlamaEngine) -> None:
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: llama3_engine) as client:
        assistant = client.beta.assistants.create(
            model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
        )
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "Weather in Oslo?"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
        )
        assert run.status == "requires_action", run.last_error
        calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        assert len(calls) == 1 and calls[0].function.name == "get_weather"
        jsonschema.validate(json.loads(calls[0].function.arguments), GET_WEATHER["parameters"])
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": calls[0].id, "output": '{"temp": -3}'}],
        )
        assert run.status in ("completed", "requires_action", "incomplete"), run.last_error


def test_llama3_parse(llama3_engine: LlamaEngine) -> None:
    fmt = llama3_engine.tool_format
    assert fmt.parse('{"name": "f", "parameters": {"a": "}"}}') == [("f", {"a": "}"})]
    assert fmt.parse("Hello {there}") == []


def test_llama3_auto_grammar_admits_text_or_a_call(llama3_engine: LlamaEngine) -> None:
    from offline_assistants.engine import Sampling, ToolChoice

    fmt = llama3_engine.tool_format
    grammar = fmt.grammar([WEATHER], ToolChoice("auto"), parallel=True)
    assert grammar.trigger == '{"name"'
    prompt = llama3_engine.prompt_tokens([ChatMessage("user", "Hi!")], [WEATHER])
    stream = llama3_engine.generate(
        prompt, max_tokens=30, sampling=Sampling(temperature=0.0), grammar=grammar
    )
    text = "".join(stream)
    assert text and (fmt.parse(text) or not text.lstrip().startswith("{"))


def _greedy(engine: LlamaEngine, grammar: Grammar | None, max_tokens: int = 12) -> str:
    prompt = engine.prompt_tokens([ChatMessage("user", "Say something nice about Oslo.")])
    return "".join(
        engine.generate(
            prompt, max_tokens=max_tokens, sampling=Sampling(temperature=0.0), grammar=grammar
        )
    )


def test_a_lazy_grammar_waits_for_the_whole_marker(real_engine: LlamaEngine) -> None:
    """Under auto, output that merely starts like the call marker is not forced into a call."""
    free = _greedy(real_engine, None)
    assert free.strip()
    first = free.lstrip()[0]
    # A marker that begins with the answer's first character, then goes elsewhere.
    marker = first + "\x02call"
    lazy = Grammar(f"root ::= [ \\t\\n]* {literal(marker)}", trigger=marker)
    assert _greedy(real_engine, lazy) == free
    # The same grammar, held from the start, forces the marker.
    assert _greedy(real_engine, Grammar(lazy.gbnf)).lstrip() == marker


def test_a_lazy_grammar_holds_once_the_marker_is_written(real_engine: LlamaEngine) -> None:
    free = _greedy(real_engine, None)
    first = free.lstrip()[0]
    lazy = Grammar(f"root ::= [ \\t\\n]* {literal(first + ' FORCED')}", trigger=first)
    assert _greedy(real_engine, lazy).lstrip() == first + " FORCED"
