"""``offline-assistants models check PATH``: what the runtime will do with a GGUF file.

Loads the file as a run would (:class:`~.llama.LlamaEngine`, so a file without a
chat template is refused with the same message a run gets), then reports where
the template came from, the tool format it speaks, the tokens that end an answer,
the context length, the reasoning convention (:mod:`.reasoning`), what the
template does with the system role and with turns that do not alternate (see :mod:`.chat_template`), and a tiny greedy generation.
:func:`check_model` returns the report; :func:`format_report` prints it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ModelFileError
from .base import ChatMessage, Sampling
from .harmony import HarmonyFormat
from .llama import LlamaEngine
from .tool_format import HermesFormat, Llama3Format, MistralFormat, ToolFormatChoice

SMOKE_QUESTION = "Say hello in one short sentence."
SMOKE_TOKENS = 32


@dataclass
class ModelReport:
    """What :func:`check_model` found; ``problem`` is set when the runtime refuses the file."""

    path: str
    ok: bool = False
    problem: str | None = None
    template: str | None = None  # where the template came from
    tool_format: str | None = None
    reasoning: str | None = None
    stop_tokens: list[str] = field(default_factory=list)
    context_trained: int = 0
    context_used: int = 0
    system_role: str | None = None
    alternation: str | None = None
    smoke: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_format(fmt: ToolFormatChoice) -> str:
    if isinstance(fmt, MistralFormat):
        return "Mistral (native: [TOOL_CALLS] [...], rendered by the template)"
    if isinstance(fmt, HarmonyFormat):
        return "Harmony (native: commentary to=functions.NAME, rendered by the template)"
    if isinstance(fmt, Llama3Format):
        return 'Llama 3.x (native: {"name": ..., "parameters": ...}, rendered by the template)'
    if isinstance(fmt, HermesFormat) and fmt.native:
        return "Hermes/Qwen (native: <tool_call> blocks, rendered by the template)"
    return "generic (tools described in the system message; <tool_call> blocks)"


def check_model(path: Path, settings: Settings, *, smoke: bool = True) -> ModelReport:
    """Load ``path`` as the runtime would and report what it will do with it."""
    report = ModelReport(path=str(path))
    try:
        engine = LlamaEngine(
            path,
            n_threads=settings.n_threads,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            chat_template=settings.chat_template,
            progress=False,
            flash_attention=settings.flash_attention,
            kv_cache_type=settings.kv_cache_type,
        )
    except ModelFileError as exc:
        report.problem = exc.message
        return report
    try:
        traits = engine.traits
        report.template = engine.template.origin
        report.tool_format = describe_format(engine.tool_format)
        tags = engine.reasoning
        report.reasoning = (
            "none (the template shows no reasoning)" if tags is None else tags.describe()
        )
        report.stop_tokens = [
            f"{engine.token_text(token)} ({token})" for token in engine.end_tokens()
        ]
        report.context_trained = engine.trained_context
        report.context_used = engine.context_length
        report.system_role = (
            "kept"
            if traits.system
            else "folded into the first user turn (the template drops or refuses it)"
        )
        report.alternation = (
            "required: consecutive turns of one role are merged, a user turn opens the thread"
            if traits.alternation
            else "not required"
        )
        if smoke:
            report.smoke = _smoke(engine)
        report.ok = True
    finally:
        engine.close()
    return report


def _smoke(engine: LlamaEngine) -> dict[str, Any]:
    prompt = engine.prompt_tokens(
        [ChatMessage("system", "You are a helpful assistant."), ChatMessage("user", SMOKE_QUESTION)]
    )
    started = time.perf_counter()
    stream = engine.generate(prompt, max_tokens=SMOKE_TOKENS, sampling=Sampling(temperature=0.0))
    text = "".join(stream)
    return {
        "question": SMOKE_QUESTION,
        "answer": text,
        "tokens": stream.completion_tokens,
        "seconds": round(time.perf_counter() - started, 2),
        "stopped": stream.finish_reason == "stop",
    }


def format_report(report: ModelReport) -> str:
    """The report as lines a person reads."""
    lines = [f"model:          {report.path}"]
    if report.problem:
        return "\n".join([*lines, f"refused:        {report.problem}"])
    lines += [
        f"chat template:  {report.template}",
        f"tool format:    {report.tool_format}",
        f"reasoning:      {report.reasoning}",
        f"stop tokens:    {', '.join(report.stop_tokens) or '(none found)'}",
        f"context:        {report.context_used} tokens used of {report.context_trained} trained",
        f"system role:    {report.system_role}",
        f"alternation:    {report.alternation}",
    ]
    if report.smoke is not None:
        smoke = report.smoke
        ending = "stopped at an end token" if smoke["stopped"] else "hit the token cap"
        lines.append(
            f"smoke test:     {smoke['question']!r} -> {smoke['answer'].strip()!r} "
            f"({smoke['tokens']} tokens, {smoke['seconds']} s, {ending})"
        )
        if not smoke["stopped"]:
            lines.append(
                "warning:        the answer did not end within "
                f"{SMOKE_TOKENS} tokens: is this a chat model, and is its template right?"
            )
    return "\n".join(lines)
