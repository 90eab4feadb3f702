"""Whether a model may be asked to reason at an effort: ``reasoning_effort`` (runs and
assistants) and Responses' ``reasoning.effort``.

Any model may be asked for none. More than that reaches a model whose chat template
shows reasoning (think tags, Harmony: :func:`~...engine.model_catalog.model_reasoning`);
for one that shows none it is a 400 naming the parameter, as the hosted API answers a
model without reasoning. A model on a serving engine reasons on the engine's terms and
is not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...config import Settings
from ...engine import resolve_model
from ...engine.model_catalog import model_reasoning
from ...errors import InvalidRequestError


def check_effort(effort: Any, model: str, settings: Settings, param: str) -> str | None:
    """``effort`` as given, for ``model``; a 400 where that model cannot reason at it."""
    if effort is None or effort == "none":
        return effort  # type: ignore[no-any-return]
    path = resolve_model(model, settings)
    if isinstance(path, Path) and model_reasoning(path, settings.chat_template) is None:
        raise InvalidRequestError(
            f"Unsupported value for '{param}': {effort!r}; the model {model!r} does not "
            "reason (its chat template shows no reasoning). Send 'none' or leave it out, "
            "or use a reasoning model.",
            param=param,
        )
    return str(effort)
