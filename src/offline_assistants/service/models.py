"""Models: the names ``model`` may take, as the Models API lists them.

``default`` (the configured default model) comes first, then every ``NAME.gguf``
in the models directory as ``NAME``, then the files other programs keep (Ollama's
``qwen3:8b``, LM Studio's and the Hugging Face cache's ``ORG/REPO/FILE``: see
``engine/model_stores.py``; ``owned_by`` names the store): exactly the names
:func:`resolve_model` serves from files. ``created`` is the file's modification time. Any other name
still runs on the default model (apps written for the hosted API name theirs),
but only these are listed, and ``retrieve`` of another is a 404.

With a serving engine (``engine_url``), the list is ``default`` and the models
that engine lists (``owned_by`` as it says); a run naming one of those goes to it, any
other to the configured one (``engine/engine_cache.py``).
"""

from __future__ import annotations

from pathlib import Path

from openai.types.model import Model

from ..config import DEFAULT_MODEL_NAME, Settings
from ..engine.model_stores import find_models
from ..errors import NotFoundError

OWNER = "offline-assistants"


class ModelService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def list(self) -> list[Model]:
        if self.settings.engine_url is not None:
            return _served(self.settings.engine_url, self.settings)
        models = [_model(DEFAULT_MODEL_NAME, self.settings.default_model)]
        for found in find_models(self.settings.stores):
            if found.problem is None and found.name != DEFAULT_MODEL_NAME:
                owner = OWNER if found.store in ("models", "folder") else found.store
                models.append(_model(found.name, found.path, owner))
        return models

    def retrieve(self, model: str) -> Model:
        for found in self.list():
            if found.id == model:
                return found
        raise NotFoundError(
            f"The model '{model}' does not exist: list the models with GET /v1/models "
            f"(GGUF files in {self.settings.models_dir}).",
            param="model",
            code="model_not_found",
        )


def _served(url: str, settings: Settings) -> list[Model]:
    from ..engine.remote_wire import served_models  # httpx: only with an engine elsewhere

    listed = served_models(url, settings.engine_timeout)
    return [
        _model(DEFAULT_MODEL_NAME, settings.engine_tokenizer or settings.default_model),
        *(
            Model(
                id=entry["id"],
                created=int(entry.get("created") or 0),
                object="model",
                owned_by=str(entry.get("owned_by") or url),
            )
            for entry in listed
            if entry["id"] != DEFAULT_MODEL_NAME
        ),
    ]


def _model(name: str, path: Path, owner: str = OWNER) -> Model:
    try:
        created = int(path.stat().st_mtime)
    except OSError:
        created = 0
    return Model(id=name, created=created, object="model", owned_by=owner)
