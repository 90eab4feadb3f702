"""A reasoning model on a serving engine: the reasoning first, the grammar after it.

llama-cpp-python's own server (tests/servers.py) serves the DeepSeek-R1 distill's GGUF
copy, then gpt-oss's (Harmony, whose analysis the runtime opens); the runtime, configured with ``engine_url`` as a user would and the reasoning
budget of ``helpers.BUDGET``, sends it the prompts. A forced call and a JSON schema
still reason first and stay valid (the answer goes out again under the grammar, with
the reasoning in its prompt: engine/remote_reasoning.py), and the budget ends the
reasoning as it does on the embedded engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client

from ..servers import SERVED_NAME, LlamaServer, remote_settings
from .helpers import BUDGET, no_tags, point, reasoning_of, weather_called


@pytest.fixture(scope="module", params=["deepseek-r1-distill", "gpt-oss"])
def remote(
    request: pytest.FixtureRequest,
    reasoning_files: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    model = Path(reasoning_files[request.param])
    log = tmp_path_factory.mktemp("distill-engine") / "server.log"
    with LlamaServer(model, log) as server:
        settings = dataclasses.replace(
            remote_settings(
                tmp_path_factory.mktemp("remote-data"), server.url, engine_tokenizer=model
            ),
            reasoning_budget=BUDGET,
        )
        with Client(settings=settings) as client:
            yield client


def test_a_forced_call_on_a_serving_engine_reasons_first(remote: Any) -> None:
    called = weather_called(remote, SERVED_NAME)
    spent = called.usage.completion_tokens_details.reasoning_tokens
    assert BUDGET <= spent <= BUDGET + 3 < called.usage.completion_tokens, called.usage


def test_a_json_schema_and_a_plain_answer_on_a_serving_engine(remote: Any) -> None:
    message = point(remote, SERVED_NAME)
    assert reasoning_of(message)
    plain = remote.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "Say hello."}],
        temperature=0,
        max_completion_tokens=40,
    )
    said = plain.choices[0].message
    assert reasoning_of(said) and said.content, plain
    no_tags(said.content)
    no_tags(reasoning_of(said))
