"""Models already on the laptop: Ollama's, LM Studio's and the Hugging Face cache's files,
found under the names those programs give them, described, and run where they lie.

Each test writes real layouts into a temporary HOME (an Ollama manifest and blob store,
an LM Studio folder, an HF cache snapshot linking into its blobs), holding copies of
the test models, plus a truncated file and a broken manifest that must be listed as
refused with the reason, never crash the listing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline_assistants import Client, ModelFileError
from offline_assistants.config import Settings
from offline_assistants.engine.engine_cache import resolve_model
from offline_assistants.engine.gguf_metadata import GGUFError, read_metadata
from offline_assistants.engine.model_catalog import catalog

OLLAMA = "smollm2:135m"
OLLAMA_HF = "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_1"
LMSTUDIO = "lmstudio-community/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_1"
HUGGINGFACE = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1"
TRUNCATED = "lmstudio-community/Broken-GGUF/broken-Q4_0"
BROKEN_MANIFEST = "broken:latest"
BASE_MODEL = "gemma-base"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def _ollama(root: Path, model: Path) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    blob = root / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir(parents=True)
    shutil.copyfile(model, blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.ollama.image.model",
                "digest": f"sha256:{digest}",
                "size": blob.stat().st_size,
            },
            {
                "mediaType": "application/vnd.ollama.image.template",
                "digest": "sha256:" + "1" * 64,
                "size": 10,
            },
        ],
    }
    for parts in (
        ("registry.ollama.ai", "library", "smollm2", "135m"),
        ("hf.co", "bartowski", "SmolLM2-135M-Instruct-GGUF", "Q4_1"),
    ):
        path = root.joinpath("manifests", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest))
    broken = root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    return blob


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    _ollama(home / ".ollama" / "models", model_path)
    studio = home / ".lmstudio" / "models" / "lmstudio-community"
    (studio / "SmolLM2-135M-Instruct-GGUF").mkdir(parents=True)
    shutil.copyfile(
        model_path, studio / "SmolLM2-135M-Instruct-GGUF" / "SmolLM2-135M-Instruct-Q4_1.gguf"
    )
    (studio / "Broken-GGUF").mkdir()
    with model_path.open("rb") as whole:  # an unfinished download: the first 2 MB
        (studio / "Broken-GGUF" / "broken-Q4_0.gguf").write_bytes(whole.read(2 << 20))
    repo = (
        home
        / ".cache"
        / "huggingface"
        / "hub"
        / "models--HuggingFaceTB--SmolLM2-135M-Instruct-GGUF"
    )
    (repo / "blobs").mkdir(parents=True)
    shutil.copyfile(model_path, repo / "blobs" / "feedface")
    (repo / "snapshots" / REVISION).mkdir(parents=True)
    (repo / "snapshots" / REVISION / "smollm2-135m-instruct-q4_1.gguf").symlink_to(
        Path("..", "..", "blobs", "feedface")
    )
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    folder = home / "more-models"
    folder.mkdir()
    gemma = model_path.parent / "gemma-3-270m-q4_k_m.gguf"
    if gemma.is_file():
        os.link(gemma, folder / f"{BASE_MODEL}.gguf")  # a base model: no chat template
    (folder / "split-00002-of-00002.gguf").write_bytes(b"GGUF")  # a later part: not listed
    return home


def settings_for(home: Path, tmp_path: Path) -> Settings:
    env = {"HOME": str(home), "OFFLINE_ASSISTANTS_MODEL_DIRS": str(home / "more-models")}
    return Settings.from_env(env, data_dir=tmp_path / "data")


def test_every_store_is_listed_with_its_names_formats_and_problems(
    home: Path, tmp_path: Path, model_path: Path
) -> None:
    entries = {e.name: e for e in catalog(settings_for(home, tmp_path))}
    for name, store in [
        (OLLAMA, "ollama"),
        (OLLAMA_HF, "ollama"),
        (LMSTUDIO, "lmstudio"),
        (HUGGINGFACE, "huggingface"),
        (model_path.stem, "models"),
    ]:
        entry = entries[name]
        assert entry.store == store and entry.ok, entry
        assert (entry.family, entry.context, entry.tool_format) == ("llama", 8192, "generic")
        assert entry.size == model_path.stat().st_size and entry.problem is None
    assert entries[OLLAMA].path.startswith(str(home / ".ollama" / "models" / "blobs" / "sha256-"))
    assert entries[HUGGINGFACE].path.endswith(
        f"snapshots/{REVISION}/smollm2-135m-instruct-q4_1.gguf"
    )
    assert not entries[TRUNCATED].ok and "truncated" in str(entries[TRUNCATED].problem)
    assert not entries[BROKEN_MANIFEST].ok and "manifest" in str(entries[BROKEN_MANIFEST].problem)
    if (model_path.parent / "gemma-3-270m-q4_k_m.gguf").is_file():
        base = entries[BASE_MODEL]
        assert base.store == "folder" and base.family == "gemma3" and not base.ok
        assert "no chat template" in str(base.problem) and "--chat-template" in str(base.problem)
    assert not any("split" in name for name in entries)


def test_the_command_lists_the_same(home: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(home),
        "OFFLINE_ASSISTANTS_MODEL_DIRS": str(home / "more-models"),
    }
    for name in ("HF_HOME", "HF_HUB_CACHE", "OLLAMA_MODELS", "LLAMA_CACHE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "offline_assistants", "models", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    listed = {e["name"]: e for e in json.loads(done.stdout)}
    assert {OLLAMA, OLLAMA_HF, LMSTUDIO, HUGGINGFACE, TRUNCATED, BROKEN_MANIFEST} <= set(listed)
    assert listed[OLLAMA]["ok"] and not listed[TRUNCATED]["ok"]
    table = subprocess.run(
        [sys.executable, "-m", "offline_assistants", "models", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert (
        OLLAMA in table
        and "refused: cannot be read: the file ends" in table
        and "read in place" in table
    )


def test_a_run_on_each_stores_file_reads_it_in_place(
    home: Path, tmp_path: Path, model_path: Path
) -> None:
    settings = settings_for(home, tmp_path)
    before = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}
    with Client(settings=settings) as client:
        listed = {m.id: m.owned_by for m in client.models.list()}
        assert listed[OLLAMA] == "ollama" and listed[LMSTUDIO] == "lmstudio"
        assert listed[HUGGINGFACE] == "huggingface" and TRUNCATED in listed
        assert BROKEN_MANIFEST not in listed  # nothing a run could use
        for name in (OLLAMA, LMSTUDIO, HUGGINGFACE):
            path = resolve_model(name, settings)
            assert isinstance(path, Path) and path.is_relative_to(home), (name, path)
            assistant = client.beta.assistants.create(model=name, temperature=0)
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi!"}])
            run = client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=8
            )
            assert run.status in ("completed", "incomplete"), (name, run.last_error)
            assert run.model == name and run.usage is not None and run.usage.completion_tokens > 0
        with pytest.raises(ModelFileError) as refused:  # named, never run on another model
            client.beta.assistants.create(model=BROKEN_MANIFEST)
        assert "manifest" in refused.value.message and BROKEN_MANIFEST in refused.value.message
        assert refused.value.param == "model"
    after = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}
    assert after == before  # read where they lie: nothing copied, nothing changed
    assert not any(p.is_file() for p in settings.data_dir.rglob("*.gguf"))


def test_a_header_is_read_to_its_tensor_directory_and_refused_where_cut(
    tmp_path: Path, model_path: Path
) -> None:
    """The header read (the catalog's, and the memory budget's on a cold start's way to
    the first answer) skips the vocabulary's strings without reading them, and still
    refuses a file cut inside them, inside a key or before its last tensor."""
    metadata = read_metadata(model_path)
    assert metadata["general.architecture"] == "llama"
    assert metadata["tokenizer.ggml.tokens"] == 49152  # an array: its length
    assert "{{" in metadata["tokenizer.chat_template"]
    whole = model_path.read_bytes()
    for cut, said in ((300_000, "inside its header"), (40, "inside its header"),
                      (len(whole) // 2, "before its last tensor")):  # fmt: skip
        part = tmp_path / f"cut-{cut}.gguf"
        part.write_bytes(whole[:cut])
        with pytest.raises(GGUFError, match=said):
            read_metadata(part)
