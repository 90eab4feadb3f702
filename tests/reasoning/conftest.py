"""Fixtures of the reasoning tests: GGUF copies of reasoning families and a server on one.

:func:`reasoning_files` writes the copies (tests/model_families.py: a DeepSeek-R1
distill's template and Qwen3's, ``<think>``/``</think>`` single added tokens, and
gpt-oss's Harmony); :func:`sdk` serves the distill's as the default model, with the
reasoning budget of ``helpers.BUDGET`` and the Dashboard's API key, and yields the
official client on it; :func:`harmony` does the same with gpt-oss's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

from offline_assistants.config import Settings
from offline_assistants.server import create_app
from offline_assistants.service import Runtime

from ..browser import API_KEY
from ..http_harness import running_server
from ..model_families import REASONING_FAMILIES, write_family
from .helpers import BUDGET


@pytest.fixture(scope="module")
def reasoning_files(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reasoning-families")
    return {
        f.name: str(write_family(model_path, folder / f"{f.name}.gguf", f))
        for f in REASONING_FAMILIES
    }


@contextmanager
def _served(tmp_path_factory: pytest.TempPathFactory, model: str) -> Iterator[openai.OpenAI]:
    settings = dataclasses.replace(
        Settings.from_env(data_dir=tmp_path_factory.mktemp("reasoning-data"), n_ctx=2048),
        default_model=Path(model),
        reasoning_budget=BUDGET,
    )
    runtime = Runtime(settings)
    try:
        with running_server(create_app(runtime, api_key=API_KEY)) as url:
            yield openai.OpenAI(base_url=url, api_key=API_KEY, max_retries=0)
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def sdk(
    tmp_path_factory: pytest.TempPathFactory, reasoning_files: dict[str, str]
) -> Iterator[openai.OpenAI]:
    with _served(tmp_path_factory, reasoning_files["deepseek-r1-distill"]) as client:
        yield client


@pytest.fixture(scope="module")
def harmony(
    tmp_path_factory: pytest.TempPathFactory, reasoning_files: dict[str, str]
) -> Iterator[openai.OpenAI]:
    with _served(tmp_path_factory, reasoning_files["gpt-oss"]) as client:
        yield client
