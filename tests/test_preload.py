"""A cold start: ``serve`` loads the default model while it imports the rest (engine/preload.py).

The runtime takes the preloaded engine for its first run instead of loading the file
again; a load that fails fails that first run exactly as a load on demand would; an
engine nobody took is freed when the runtime closes; and the command line reaches the
preload without importing the service layer (which is what the wait overlaps).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import Engine, Sampling
from offline_assistants.engine.engine_cache import llama_factory
from offline_assistants.engine.llama import LlamaEngine, template_of
from offline_assistants.engine.preload import Preload
from offline_assistants.errors import OfflineAssistantsError
from offline_assistants.service import Runtime

from .http_harness import HttpClient

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def settings_for(tmp_path: Path, model: Path) -> Settings:
    settings = Settings.from_env(data_dir=tmp_path / "data", n_ctx=2048)
    return dataclasses.replace(settings, default_model=model)


def assert_freed(engine: Engine | None) -> None:
    """Generating on a freed engine ends in an error (its model's thread is gone), and
    nothing reaches the freed llama.cpp context."""
    assert isinstance(engine, LlamaEngine)
    with pytest.raises(OfflineAssistantsError, match="unloaded"):
        list(engine.generate([1, 2, 3], max_tokens=2, sampling=Sampling(temperature=0.0)))


def test_the_first_run_answers_on_the_preloaded_engine(tmp_path: Path, model_path: Path) -> None:
    settings = settings_for(tmp_path, model_path)
    preload = Preload(settings, progress=False)
    http = HttpClient(Runtime(settings, preload=preload))
    try:
        done = http.chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION, max_tokens=8, temperature=0
        )
        assert done.choices[0].message.content
        assert preload.engine is not None
        # The one engine the runtime holds is the preloaded one: the file was not loaded twice.
        assert http.runtime.engines.loaded() == [model_path]
        assert http.runtime.engines.get(model_path) is preload.engine
        assert preload.take(model_path) is None  # taken once, by that first run
    finally:
        http.close()
    # Closing the runtime freed it (the engine cache owns it once taken).
    assert_freed(preload.engine)


def test_a_failed_preload_fails_the_first_run_as_a_load_would(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)  # the magic, and nothing a loader can read
    settings = settings_for(tmp_path, broken)
    with pytest.raises(OfflineAssistantsError) as on_demand:
        llama_factory(settings, progress=False)(broken)
    preload = Preload(settings, progress=False)
    with pytest.raises(OfflineAssistantsError) as preloaded:
        preload.take(broken)
    assert type(preloaded.value) is type(on_demand.value)
    assert preloaded.value.message == on_demand.value.message
    # Once raised, the error is not kept: the next run tries the file again (and fails alike).
    assert preload.take(broken) is None
    http = HttpClient(Runtime(settings, preload=Preload(settings, progress=False)))
    try:
        with pytest.raises(OfflineAssistantsError) as first_run:
            http.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=4)
        assert type(first_run.value) is type(on_demand.value)
    finally:
        http.close()


def test_serve_hears_the_template_from_the_preload(tmp_path: Path, model_path: Path) -> None:
    """``serve`` checks the file's template through the preload (not a second read on the
    import thread): the same template ``template_of`` finds, and for a file that cannot
    be read, ``template_of``'s refusal, while the first run still gets the load's own."""
    preload = Preload(settings_for(tmp_path, model_path), progress=False)
    try:
        assert preload.template() == template_of(model_path, None)
    finally:
        preload.close()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    preload = Preload(settings_for(tmp_path, broken), progress=False)
    with pytest.raises(OfflineAssistantsError) as refused:
        preload.template()
    with pytest.raises(OfflineAssistantsError) as checked:
        template_of(broken, None)
    assert refused.value.message == checked.value.message
    with pytest.raises(OfflineAssistantsError) as loaded:
        preload.take(broken)
    assert loaded.value.message != refused.value.message  # the load's, as on demand


def test_an_engine_nobody_took_is_freed_on_close(tmp_path: Path, model_path: Path) -> None:
    preload = Preload(settings_for(tmp_path, model_path), progress=False)
    preload.close()  # waits for the load, then frees the engine
    assert_freed(preload.engine)
    assert preload.take(model_path) is None  # a closed preload hands out nothing


def printed_by(probe: str) -> list[str]:
    """The lines a fresh interpreter prints running ``probe`` (its imports its own)."""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_command_line_starts_the_preload_before_the_service_layer() -> None:
    """What ``serve`` imports before it starts the load (cli.py): not the ``openai`` SDK's
    types, FastAPI or the service layer, whose import the load overlaps."""
    probe = (
        "import sys, offline_assistants.cli, offline_assistants.engine.preload\n"
        "heavy = [m for m in ('openai', 'fastapi', 'offline_assistants.service') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
        "from offline_assistants import Client, CursorPage\n"
        "print(Client.__name__, CursorPage.__name__)\n"
    )
    assert printed_by(probe) == ["[]", "Client CursorPage"]


def test_the_server_imports_nothing_only_some_settings_need() -> None:
    """What every cold start imports: not httpx (an engine elsewhere only), jupyter_client
    (the first Code Interpreter kernel), ~0.1 s on the import thread, the MCP library
    (the first MCP call, ~0.2 s), nor jsonschema (the first schema checked, ~40 ms)."""
    probe = (
        "import sys\n"
        "from offline_assistants.server import create_app\n"
        "from offline_assistants.service import Runtime\n"
        "print([m for m in ('httpx', 'jupyter_client', 'mcp', 'mcp_types', 'jsonschema') "
        "if m in sys.modules])\n"
    )
    assert printed_by(probe) == ["[]"]


def test_serve_imports_with_the_collector_resting_and_freezes_what_it_made(
    tmp_path: Path, model_path: Path
) -> None:
    """``serve`` (cli.py, server/startup.py) up to the point where uvicorn would start
    listening: the collector is on again, the objects startup made are in the permanent
    generation (later collections skip them), the ``openai`` SDK came in without its
    optional aiohttp transport, and aiohttp can still be imported by whoever wants it."""
    probe = (
        "import gc, sys, uvicorn\n"
        "def listen(self, sockets=None):\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 100_000)\n"
        "    print('openai' in sys.modules, 'aiohttp' in sys.modules)\n"
        "    import aiohttp\n"
        "    print(aiohttp.__name__)\n"
        "uvicorn.Server.run = listen\n"
        "from offline_assistants.cli import main\n"
        f"main(['serve', '--port', '0', '--model', {str(model_path)!r}, "
        f"'--data-dir', {str(tmp_path / 'data')!r}])\n"
    )
    assert printed_by(probe) == ["True True", "True False", "aiohttp"]


def test_serve_runs_the_sdk_type_packages_init_only_once_a_name_is_looked_up(
    tmp_path: Path, model_path: Path
) -> None:
    """``serve`` builds the app without running ``openai.types.beta``'s ``__init__`` (it
    imports the Agents types, among hundreds: server/startup.py), and the first lookup of
    a name on such a package runs it: the same classes, ``import *`` included, as a plain
    import gives."""
    probe = (
        "import sys, uvicorn\n"
        "def listen(self, sockets=None):\n"
        "    import openai\n"
        "    beta = sys.modules['openai.types.beta']\n"
        "    print('openai.types.beta.agents' in sys.modules, 'Assistant' in vars(beta))\n"
        "    print(openai.types.beta is beta, beta.threads is sys.modules['openai.types.beta.threads'])\n"
        "    from openai.types.beta import Assistant\n"
        "    from openai.types.beta.assistant import Assistant as Exact\n"
        "    print(Assistant is Exact, 'openai.types.beta.agents' in sys.modules)\n"
        "    every = {}\n"
        "    exec('from openai.types.beta.threads.runs import *', every)\n"
        "    from openai.types.beta.threads.runs.run_step import RunStep\n"
        "    from openai.types import Batch\n"
        "    print(every['RunStep'] is RunStep, Batch.__name__)\n"
        "uvicorn.Server.run = listen\n"
        "from offline_assistants.cli import main\n"
        f"main(['serve', '--port', '0', '--model', {str(model_path)!r}, "
        f"'--data-dir', {str(tmp_path / 'data')!r}])\n"
    )
    assert printed_by(probe) == ["False False", "True True", "True True", "True Batch"]
