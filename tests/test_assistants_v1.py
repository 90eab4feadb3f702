"""Assistants v1 clients run unchanged: the overview notebook's requests from openai==1.2.3.

The notebook's original edition names files directly (``file_ids`` on assistants and
messages) and uses the ``retrieval`` tool; it sends ``OpenAI-Beta: assistants=v1``.
``tests/v1/overview_v1.py`` makes the notebook's calls with the real openai 1.2.3
client, from the venv ``scripts/setup`` makes for it outside the repository (skipped,
saying so, where that venv could not be made). The shapes are also checked with
today's SDK sending the v1 header, which needs no extra venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from offline_assistants.engine.llama import LlamaEngine

from .documents import PDF
from .http_harness import serving
from .tools_fixtures import DISPLAY_QUIZ

SCRIPT = Path(__file__).parent / "v1" / "overview_v1.py"
V1 = {"OpenAI-Beta": "assistants=v1"}


def v1_python() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = Path(
        os.environ.get(
            "OFFLINE_ASSISTANTS_OPENAI_V1_VENV", default / "offline-assistants" / "openai-1.2.3"
        )
    )
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("v1") / "data", real_engine) as (_, url):
        yield url


def test_the_overview_notebook_v1_runs_with_openai_1_2_3(base_url: str, tmp_path: Path) -> None:
    python = v1_python()
    if not python.exists():
        pytest.skip(f"no openai==1.2.3 venv at {python.parent.parent}: scripts/setup makes it")
    (tmp_path / "data").mkdir()
    shutil.copy(PDF, tmp_path / "data" / "language_models_are_unsupervised_multitask_learners.pdf")
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "local"}
    done = subprocess.run(
        [str(python), str(SCRIPT), json.dumps(DISPLAY_QUIZ)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout)
    assert seen["assistant"]["file_ids"] == [] and seen["assistant"]["tools"] == []
    assert "tool_resources" not in seen["assistant"]
    assert seen["message"]["file_ids"] == [] and "attachments" not in seen["message"]
    assert seen["run_created"]["status"] == "queued" and seen["run_created"]["file_ids"] == []
    # Finished runs, either way: the notebook samples at temperature 1, and the 135M model
    # sometimes writes to the 1,024-token budget (incomplete); v1 reads both back.
    finished = ("completed", "incomplete")
    assert seen["run"]["status"] in finished
    roles = [m["role"] for m in seen["messages"]["data"]]
    assert roles == ["assistant", "user"]
    assert [m["role"] for m in seen["after"]["data"]] == ["assistant"]
    assert seen["code_run"]["status"] in finished
    file_id = seen["file"]["id"]
    retrieval = seen["retrieval_assistant"]
    assert retrieval["file_ids"] == [file_id]
    assert [t["type"] for t in retrieval["tools"]] == ["code_interpreter", "retrieval"]
    assert seen["retrieval_run"]["status"] in finished
    assert seen["retrieval_run"]["file_ids"] == [file_id]
    calls = [
        call["type"]
        for step in seen["retrieval_steps"]["data"]
        if step["step_details"]["type"] == "tool_calls"
        for call in step["step_details"]["tool_calls"]
    ]
    assert calls[:1] == ["retrieval"]
    answer = seen["retrieval_messages"]["data"][-1]
    assert answer["role"] == "assistant" and answer["content"][0]["text"]["value"]
    assert seen["message_with_file"]["file_ids"] == [file_id]
    tools = [t["type"] for t in seen["function_assistant"]["tools"]]
    assert tools == ["code_interpreter", "retrieval", "function"]
    # The model may answer in prose, call display_quiz, or (a 135M model under "auto")
    # write until its token budget ends the run: every one is a finished run the v1
    # client reads back, never one left in progress or failed.
    assert seen["quiz_run"]["status"] in ("requires_action", "completed", "incomplete")
    if seen["quiz_run"]["status"] == "requires_action":
        assert set(seen["quiz_arguments"]) >= {"title", "questions"}
        assert seen["quiz_after"]["status"] in ("completed", "requires_action", "incomplete")


def test_v1_shapes_with_todays_client(base_url: str) -> None:
    http = httpx2.Client(base_url=base_url, headers=V1, timeout=120)
    file = http.post(
        "/files", files={"file": ("n.txt", b"Oslo is cold.")}, data={"purpose": "assistants"}
    ).json()
    created = http.post(
        "/assistants",
        json={"model": "default", "tools": [{"type": "retrieval"}], "file_ids": [file["id"]]},
    ).json()
    assert created["file_ids"] == [file["id"]] and created["tools"] == [{"type": "retrieval"}]
    # The same assistant read through v2 has a vector store and Code Interpreter files.
    v2 = httpx2.get(f"{base_url}/assistants/{created['id']}").json()
    assert [t["type"] for t in v2["tools"]] == ["file_search"]
    assert v2["tool_resources"]["code_interpreter"]["file_ids"] == [file["id"]]
    assert len(v2["tool_resources"]["file_search"]["vector_store_ids"]) == 1
    listed = http.get("/assistants").json()
    assert all("file_ids" in a and "tool_resources" not in a for a in listed["data"])
    cleared = http.post(f"/assistants/{created['id']}", json={"file_ids": []}).json()
    assert cleared["file_ids"] == []
    bad = http.post("/assistants", json={"model": "default", "file_ids": ["file_nope"]})
    assert bad.status_code == 400 and "file_nope" in bad.json()["error"]["message"]
