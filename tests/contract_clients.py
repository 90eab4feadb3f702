"""Where set-up put the clients the contract tests drive, outside the repository.

``scripts/setup`` installs them into the user's cache (``~/.cache/offline-assistants``,
or ``$XDG_CACHE_HOME``): the Node packages (the openai SDK in three majors, Codex CLI,
the Vercel AI SDK) into ``node/``, and the Python agent frameworks into venvs:
LangChain, LangGraph, litellm and instructor into ``clients/``, pydantic-ai into
``pydantic-ai/`` (it wants a newer jiter than instructor allows). A test skips only where the
runtime itself is missing (no ``node``); a client set-up should have installed and
did not is a failure that says to run ``scripts/setup``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "offline-assistants"


def node_clients_dir() -> Path:
    return Path(os.environ.get("OFFLINE_ASSISTANTS_NODE_CLIENTS", cache_dir() / "node"))


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: the Node contract tests need Node.js 18+")
    return found


def node_agents_dir() -> Path:
    """The Agents SDK for JavaScript's own folder (it wants zod 4; the Node SDK 4, zod 3)."""
    return Path(os.environ.get("OFFLINE_ASSISTANTS_NODE_AGENTS", cache_dir() / "node-agents"))


def node_package(name: str, folder: Path | None = None) -> Path:
    """A package set-up installed into a Node clients folder (the main one by default)."""
    root = folder or node_clients_dir()
    path = root / "node_modules" / name
    assert path.is_dir(), f"run scripts/setup: {name} is missing in {root}"
    return path


def codex_binary() -> Path:
    node_binary()
    path = node_clients_dir() / "node_modules" / ".bin" / "codex"
    assert path.exists(), f"run scripts/setup: Codex CLI is missing in {node_clients_dir()}"
    return path


def frameworks_python(venv_name: str = "clients") -> Path:
    """The Python of an agent frameworks' venv: ``clients`` (LangChain, LangGraph, litellm,
    instructor) or ``pydantic-ai``."""
    variable = {"clients": "OFFLINE_ASSISTANTS_CLIENTS_VENV"}.get(
        venv_name, "OFFLINE_ASSISTANTS_PYDANTIC_AI_VENV"
    )
    venv = Path(os.environ.get(variable, cache_dir() / venv_name))
    python = venv / "bin" / "python"
    assert python.exists(), f"run scripts/setup: the {venv_name} venv is missing at {venv}"
    return python


# The README's config.toml for Codex on the default model (a small window), and for others.
SMALL_MODEL = """\
model = "default"
model_provider = "offline-assistants"
model_context_window = 8192
model_auto_compact_token_limit = {compact_at}
model_instructions_file = "{instructions}"
include_permissions_instructions = false
include_environment_context = false
web_search = "disabled"

[features]
goals = false
apps = false
plugins = false
skill_search = false

[agents]
enabled = false

[model_providers.offline-assistants]
name = "offline-assistants"
base_url = "{base_url}"
wire_api = "responses"
supports_websockets = {websockets}
"""
