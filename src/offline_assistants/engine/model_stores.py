"""The GGUF files already on this machine, under the names the programs that keep them use.

A laptop that runs local models has them in other programs' folders. Each store here
knows one layout, and :func:`find_models` lists every file, first name wins:

- ``models``: this project's ``models/NAME.gguf`` as ``NAME``;
- ``ollama``: Ollama's store (``$OLLAMA_MODELS``, else ``~/.ollama/models``): a manifest
  ``manifests/registry.ollama.ai/library/qwen3/8b`` names its model layer's blob
  ``blobs/sha256-...``, listed as ``qwen3:8b`` (``user/model:tag`` outside the library,
  ``host/user/model:tag`` from another registry);
- ``lmstudio``: LM Studio's ``~/.lmstudio/models/PUBLISHER/REPO/FILE.gguf`` as
  ``PUBLISHER/REPO/FILE``;
- ``huggingface``: the Hugging Face cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``): ``models--ORG--REPO/snapshots/REV/FILE.gguf`` (a link
  into ``blobs/``) as ``ORG/REPO/FILE``, the revision ``refs/main`` names first;
- ``llama.cpp``: llama.cpp's download cache (``$LLAMA_CACHE``, else
  ``~/.cache/llama.cpp``), and ``folder``: each of ``$OFFLINE_ASSISTANTS_MODEL_DIRS``,
  every ``.gguf`` below as its file name without ``.gguf``.

Files are read where they lie, never copied or changed. Only the first part of a split
model (``-00001-of-00003.gguf``) is listed; llama.cpp finds the rest. A store that is
missing or unreadable lists nothing, a manifest that cannot be read is listed with its
problem, so a listing never fails. ``Settings.model_stores`` (config.py) says which
stores there are; :mod:`.engine_cache` resolves names with this, :mod:`.model_catalog`
describes each file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OLLAMA_LIBRARY = ("registry.ollama.ai", "library")
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_LATER_PART = re.compile(r"-(\d{5})-of-\d{5}\.gguf$")


@dataclass(frozen=True)
class FoundModel:
    """A model file a store holds: its name there, its path, and why it cannot be read."""

    name: str
    path: Path
    store: str
    problem: str | None = None


def find_models(stores: tuple[tuple[str, Path], ...]) -> list[FoundModel]:
    """Every model file in ``stores``, in their order; a name already found is skipped."""
    found: dict[str, FoundModel] = {}
    for store, root in stores:
        try:
            if not root.is_dir():
                continue
            entries = list(_LAYOUTS[store](root))
        except OSError:
            continue  # a store we may not read lists nothing
        for name, path, problem in entries:
            found.setdefault(name, FoundModel(name, path, store, problem))
    return list(found.values())


def _own(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    for path in sorted(root.glob("*.gguf")):
        yield path.stem, path, None


def _files(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    for path in sorted(root.rglob("*.gguf")):
        if not _LATER_PART.search(path.name):
            yield path.stem, path, None


def _lmstudio(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    for path in sorted(root.rglob("*.gguf")):
        if not _LATER_PART.search(path.name):
            yield path.relative_to(root).with_suffix("").as_posix(), path, None


def _ollama(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    manifests = root / "manifests"
    for manifest in sorted(manifests.rglob("*")):
        parts = manifest.relative_to(manifests).parts
        if len(parts) != 4 or not manifest.is_file():
            continue
        host, namespace, model, tag = parts
        if (host, namespace) == OLLAMA_LIBRARY:
            name = f"{model}:{tag}"
        elif host == OLLAMA_LIBRARY[0]:
            name = f"{namespace}/{model}:{tag}"
        else:
            name = f"{host}/{namespace}/{model}:{tag}"
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8"))["layers"]
            digest = next(x["digest"] for x in layers if x["mediaType"] == OLLAMA_MODEL_LAYER)
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            yield name, manifest, "its Ollama manifest names no model layer we can read"
            continue
        yield name, root / "blobs" / str(digest).replace(":", "-"), None


def _huggingface(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    for repo in sorted(root.glob("models--*")):
        snapshots = repo / "snapshots"
        if not snapshots.is_dir():
            continue
        try:
            main = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
        except OSError:
            main = ""
        revisions = sorted(snapshots.iterdir(), key=lambda p: (p.name != main, p.name))
        org_repo = repo.name.removeprefix("models--").replace("--", "/")
        for revision in revisions:
            for path in sorted(revision.rglob("*.gguf")):
                if not _LATER_PART.search(path.name):
                    yield f"{org_repo}/{path.stem}", path, None


_LAYOUTS = {
    "models": _own,
    "ollama": _ollama,
    "lmstudio": _lmstudio,
    "huggingface": _huggingface,
    "llama.cpp": _files,
    "folder": _files,
}
