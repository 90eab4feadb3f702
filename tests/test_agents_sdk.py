"""An agent written with the ``openai-agents`` SDK runs against the server unchanged.

The SDK speaks only the Responses API: it sends the whole history each turn
(function calls and their outputs included) and runs the tool itself. Tracing
is turned off: by default the SDK would upload traces to OpenAI, and offline
means offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from offline_assistants.engine.llama import LlamaEngine

from .http_harness import serving

agents = pytest.importorskip("agents", reason="openai-agents is a dev extra: pip install -e .[dev]")


@pytest.fixture
def base_url(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[str]:
    with serving(tmp_path / "data", real_engine) as (_, url):
        yield url


def test_an_agent_calls_its_tool_and_answers(base_url: str) -> None:
    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    calls: list[dict[str, str]] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append({"city": city})
        return f"It is 21 degrees and sunny in {city}."

    client = AsyncOpenAI(base_url=base_url, api_key="local", max_retries=0)
    agent = agents.Agent(
        name="Weather",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[get_weather],
        model=agents.OpenAIResponsesModel(model="default", openai_client=client),
        model_settings=agents.ModelSettings(tool_choice="required", temperature=0, max_tokens=400),
    )
    # On a thread of its own: run_sync refuses a thread whose event loop runs, as the main
    # thread's does once a browser test has started Playwright's sync API.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(agents.Runner.run_sync, agent, "What is the weather in Oslo?").result()
    assert len(calls) == 1 and calls[0]["city"].strip()
    kinds = [type(item).__name__ for item in result.new_items]
    assert kinds == ["ToolCallItem", "ToolCallOutputItem", "MessageOutputItem"]
    [call] = [item.raw_item for item in result.new_items if type(item).__name__ == "ToolCallItem"]
    assert json.loads(call.arguments) == calls[0]
    assert isinstance(result.final_output, str) and result.final_output.strip()
