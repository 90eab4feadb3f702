"""``offline-assistants models list``: every GGUF on this machine, described from its header.

:func:`catalog` takes what :mod:`.model_stores` finds (this project's ``models/``,
Ollama, LM Studio, the Hugging Face and llama.cpp caches, configured folders) and
reads each file's header (:mod:`.gguf_metadata`, never the weights): the family, the
trained context, the tool-call format its chat template speaks and how it reasons
(``<think>`` tags, gpt-oss's Harmony channels). ``ok`` says whether ``models check``
and a run would accept it; ``problem`` says why not (unreadable, truncated, not GGUF,
a vision projector, no chat template and none configured). A bad file is a row with
its reason, never a failed listing. :func:`model_reasoning` reads the same header for
one file, for a request that asks for a reasoning effort.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ModelFileError
from .chat_template import resolve_template
from .gguf_metadata import GGUFError, read_metadata
from .harmony import HarmonyFormat, is_harmony, reasoning_convention
from .model_stores import FoundModel, find_models
from .reasoning import ThinkTags
from .tool_format import HermesFormat, Llama3Format, MistralFormat, format_for_template


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    store: str
    path: str
    size: int
    family: str | None = None
    context: int | None = None
    tool_format: str | None = None
    reasoning: str | None = None
    ok: bool = False
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def catalog(settings: Settings) -> list[CatalogEntry]:
    """Every model file the settings' stores hold, described."""
    return [describe(found, settings) for found in find_models(settings.stores)]


def describe(found: FoundModel, settings: Settings) -> CatalogEntry:
    base = CatalogEntry(name=found.name, store=found.store, path=str(found.path), size=0)
    try:
        size = found.path.stat().st_size
    except OSError as exc:
        return replace(base, problem=found.problem or f"cannot be read: {exc.strerror}")
    if found.problem is not None:
        return replace(base, size=size, problem=found.problem)
    try:
        metadata = read_metadata(found.path)
    except (OSError, GGUFError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return replace(base, size=size, problem=f"cannot be read: {reason}")
    family = str(metadata.get("general.architecture") or "") or None
    context = metadata.get(f"{family}.context_length")
    template = metadata.get("tokenizer.chat_template")
    template = template if isinstance(template, str) else None
    problem = None
    if metadata.get("general.type") == "mmproj" or family == "clip":
        problem = "a vision projector (mmproj), not a language model"
    elif template is None and settings.chat_template is None:
        problem = (
            "no chat template (a base model): serve it with --chat-template FILE_OR_NAME "
            "or $OFFLINE_ASSISTANTS_CHAT_TEMPLATE"
        )
    return replace(
        base,
        size=size,
        family=family,
        context=int(context) if isinstance(context, int) else None,
        tool_format=_tool_format(template) if template else None,
        reasoning=_reasoning(template) if template else None,
        ok=problem is None,
        problem=problem,
    )


def _tool_format(template: str) -> str:
    fmt = format_for_template(template)
    if isinstance(fmt, MistralFormat):
        return "mistral"
    if isinstance(fmt, Llama3Format):
        return "llama3"
    if isinstance(fmt, HarmonyFormat):
        return "harmony"
    return "hermes" if isinstance(fmt, HermesFormat) and fmt.native else "generic"


def model_reasoning(path: Path, chat_template: str | None) -> ThinkTags | None:
    """How the model at ``path`` reasons with the template a run would use (None: it does
    not, or its template cannot be read: a run will say why)."""
    try:
        metadata = read_metadata(path)
        template = resolve_template(chat_template, metadata, path, ())
    except (OSError, GGUFError, ModelFileError):
        return None
    return reasoning_convention(template.text)


def _reasoning(template: str) -> str | None:
    if is_harmony(template):
        return "harmony"
    if reasoning_convention(template) is not None:
        return "think tags"
    return None


def format_catalog(entries: list[CatalogEntry]) -> str:
    """A table for a terminal: one row per file, the refused ones with their reason."""
    if not entries:
        return "No GGUF model files found."
    rows = [("NAME", "STORE", "SIZE", "FAMILY", "CONTEXT", "TOOLS", "REASONING", "STATUS")]
    for e in entries:
        status = "ok" if e.ok else f"refused: {e.problem}"
        rows.append(
            (
                e.name,
                e.store,
                _size(e.size),
                e.family or "-",
                str(e.context or "-"),
                e.tool_format or "-",
                e.reasoning or "-",
                status,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    ]
    paths = [f"  {e.name}: {e.path}" for e in entries]
    return "\n".join([*lines, "", "Files (read in place, never copied):", *paths])


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"
