"""The chat template a model is prompted with: where it comes from and what it accepts.

Where it comes from, first found wins:

1. the template the user gave (``OFFLINE_ASSISTANTS_CHAT_TEMPLATE``, ``--chat-template``,
   ``Settings.chat_template``): a file of Jinja text, Jinja text itself, or the name of
   one of llama.cpp's built-in templates (``gemma``, ``llama3``, ``mistral-v7``, ...);
2. the GGUF file's own ``tokenizer.chat_template``.

A file with neither is refused (:class:`~offline_assistants.errors.ModelFileError`,
code ``no_chat_template``): it is a base model, and guessing a format for another
vocabulary only makes a run that never stops.

What it accepts differs by family: some templates raise unless user and assistant
alternate (Gemma, Mistral), some drop the system role without a word (Phi-3).
:func:`probe` asks the template once, at load, with tiny conversations, and
:func:`conform` reshapes every prompt to what it accepts: consecutive turns of one
role merged, a user turn before an assistant-first thread, system text folded into
the first user turn (also when a render shows the system text is gone:
:func:`shows_system`). :func:`probe` also reads how the template ends an assistant
turn, which is a stop token next to the GGUF's end-of-generation tokens, and
:func:`separators` what it writes between messages (prompt chunks end there).

The llama.cpp built-ins are rendered by llama.cpp itself (:mod:`.llama`, the only
module that imports ``llama_cpp``, hands the library over).
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import jinja2
import jinja2.sandbox

from ..errors import InternalError, ModelFileError

Messages = list[dict[str, Any]]


class Render(Protocol):
    """Renders (messages, tools, add_generation_prompt) into prompt text; ``variables`` are
    the template's own (gpt-oss's ``reasoning_effort``), which a built-in ignores."""

    def __call__(
        self,
        messages: Messages,
        tools: list[dict[str, Any]] | None,
        prompt: bool,
        /,
        **variables: Any,
    ) -> str: ...


# Words no template writes: how the probes find their messages in the rendered text.
PROBE_SYSTEM = "Probe7system"
PROBE_FIRST = "Probe7first"
PROBE_SECOND = "Probe7second"
PROBE_REPLY = "Probe7reply"
# A user's text, the answer, the user again: where separators and the answer opener show.
PROBE_EXCHANGE = [("user", PROBE_FIRST), ("assistant", PROBE_REPLY), ("user", PROBE_SECOND)]


@dataclass(frozen=True)
class TemplateSource:
    """The template's text (Jinja, or a built-in's name) and where it came from."""

    text: str
    origin: str
    builtin: bool = False


@dataclass(frozen=True)
class TemplateTraits:
    """What :func:`probe` found the template accepts."""

    system: bool = True  # a system message's text reaches the prompt
    alternation: bool = False  # user and assistant turns must alternate, a user turn first
    turn_end: str = ""  # what the template writes after an assistant turn ("" unknown)


def no_template_message(path: Path, builtins: Sequence[str]) -> str:
    return (
        f"{path.name} has no chat template (tokenizer.chat_template is missing from its "
        "metadata): it is a base model, not a chat model, and a guessed format would make "
        "runs that never stop. Use an instruction-tuned GGUF, or give the template: set "
        "OFFLINE_ASSISTANTS_CHAT_TEMPLATE (or serve --chat-template) to a Jinja file, or to "
        f"one of llama.cpp's built-in names: {', '.join(builtins)}."
    )


def resolve_template(
    given: str | None,
    metadata: Mapping[str, str],
    path: Path,
    builtins: Sequence[str],
) -> TemplateSource:
    """The template for the GGUF at ``path`` (see the module docstring for the order)."""
    if given:
        if given in builtins:
            return TemplateSource(given, f"llama.cpp built-in template {given!r}", builtin=True)
        if "{{" in given or "{%" in given:
            return TemplateSource(given, "the chat template given as text")
        file = Path(given).expanduser()
        try:
            return TemplateSource(file.read_text(encoding="utf-8"), f"the chat template in {file}")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelFileError(
                f"The chat template {given!r} is neither a readable Jinja file ({exc}), Jinja "
                f"text, nor one of llama.cpp's built-in names: {', '.join(builtins)}.",
                param="chat_template",
                code="invalid_chat_template",
            ) from exc
    text = metadata.get("tokenizer.chat_template")
    if text:
        return TemplateSource(text, "the GGUF file's metadata")
    raise ModelFileError(
        no_template_message(path, builtins), param="model", code="no_chat_template"
    )


def _raise(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _strftime_now(pattern: str) -> str:
    return datetime.now().strftime(pattern)


def jinja_render(source: str, bos_token: str, eos_token: str) -> Render:
    """A renderer for Jinja template text, with the globals HF chat templates use."""
    environment = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    environment.filters["tojson"] = lambda value, indent=None, **_: json.dumps(
        value, indent=indent, ensure_ascii=False
    )
    try:
        compiled = environment.from_string(source)
    except jinja2.exceptions.TemplateError as exc:
        raise ModelFileError(
            f"The chat template does not parse as Jinja: {exc}",
            param="chat_template",
            code="invalid_chat_template",
        ) from exc

    def render(
        messages: Messages, tools: list[dict[str, Any]] | None, prompt: bool, /, **variables: Any
    ) -> str:
        return compiled.render(
            **variables,
            messages=messages,
            tools=tools,
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=prompt,
            raise_exception=_raise,
            strftime_now=_strftime_now,
        )

    return render


def builtin_names(lib: ModuleType) -> list[str]:
    """The names of llama.cpp's built-in chat templates (``lib`` is ``llama_cpp``)."""
    count = lib.llama_chat_builtin_templates(None, 0)
    names = (ctypes.c_char_p * count)()
    lib.llama_chat_builtin_templates(names, count)
    return [name.decode() for name in names if name]


def builtin_render(name: str, lib: ModuleType) -> Render:
    """A renderer for a llama.cpp built-in template (plain roles only; tools go in text),
    applied by llama.cpp itself (``lib`` is ``llama_cpp``, handed over by :mod:`.llama`)."""

    def render(
        messages: Messages, tools: list[dict[str, Any]] | None, prompt: bool, /, **variables: Any
    ) -> str:
        chat = (lib.llama_chat_message * max(1, len(messages)))()
        kept = []  # the encoded strings must outlive the call
        for index, message in enumerate(messages):
            role, content = message["role"].encode(), str(message.get("content") or "").encode()
            kept += [role, content]
            chat[index].role, chat[index].content = role, content
        size = lib.llama_chat_apply_template(name.encode(), chat, len(messages), prompt, None, 0)
        if size < 0:
            raise InternalError(f"llama.cpp could not apply its built-in template {name!r}")
        buffer = ctypes.create_string_buffer(size + 1)
        lib.llama_chat_apply_template(name.encode(), chat, len(messages), prompt, buffer, size + 1)
        return buffer.raw[:size].decode("utf-8", errors="replace")

    return render


def _renders(render: Render, messages: Messages, *needles: str, prompt: bool = True) -> bool:
    """Whether ``messages`` render without error and every needle reaches the text."""
    try:
        text = render(messages, None, prompt)
    except Exception:  # noqa: BLE001 - any failure of a user's template means "not accepted"
        return False
    return all(needle in text for needle in needles)


def probe(render: Render) -> TemplateTraits:
    """Ask the template, with tiny conversations, what it accepts (see the module docstring)."""
    system = _renders(
        render,
        [{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": PROBE_FIRST}],
        PROBE_SYSTEM,
    )
    two_users = [
        {"role": "user", "content": PROBE_FIRST},
        {"role": "user", "content": PROBE_SECOND},
    ]
    assistant_first = [
        {"role": "assistant", "content": PROBE_FIRST},
        {"role": "user", "content": PROBE_SECOND},
    ]
    alternation = not (
        _renders(render, two_users, PROBE_FIRST, PROBE_SECOND)
        and _renders(render, assistant_first, PROBE_FIRST, PROBE_SECOND)
    )
    return TemplateTraits(system=system, alternation=alternation, turn_end=_turn_end(render))


def _turn_end(render: Render) -> str:
    """What the template writes right after an assistant's text, up to the next turn's
    text (e.g. ``<|im_end|>\n<|im_start|>user\n``); its first token ends a turn."""
    exchange = [
        {"role": "user", "content": PROBE_FIRST},
        {"role": "assistant", "content": PROBE_REPLY},
        {"role": "user", "content": PROBE_SECOND},
    ]
    try:
        text = render(exchange, None, True)
    except Exception:  # noqa: BLE001 - a template that cannot say this has no known marker
        return ""
    if PROBE_REPLY not in text:
        return ""
    return text.split(PROBE_REPLY, 1)[1].split(PROBE_SECOND, 1)[0].strip()


def separators(render: Render, traits: TemplateTraits) -> list[tuple[str, str]]:
    """What the template writes between one message's text and the next one's, and after
    the last user text (the generation prompt), each with the whole render it came from:
    prompt chunks end there (:mod:`.prompt_chunks`). Pure whitespace (a system text
    folded into the user turn) is no separator."""
    conversations = [[("system", PROBE_SYSTEM), ("user", PROBE_FIRST)], PROBE_EXCHANGE]
    found: list[tuple[str, str]] = []
    for conversation in conversations:
        messages = [{"role": role, "content": text} for role, text in conversation]
        try:
            text = render(conform(messages, traits), None, True)
        except Exception:  # noqa: BLE001 - a template that cannot say this has no separator
            continue
        end = 0
        for _, needle in conversation:
            start = text.find(needle, end)
            if start < 0:
                break
            if end:
                found.append((text[end:start], text))
            end = start + len(needle)
        else:
            found.append((text[end:], text))
    return [(piece, text) for piece, text in found if piece.strip()]


def answer_opener(render: Render, traits: TemplateTraits) -> tuple[str, str] | None:
    """What the template writes between a user's text and the assistant's answer to it,
    with the render it came from (the answer follows it there); None where it writes
    nothing there but whitespace, or the template cannot say."""
    messages = [{"role": role, "content": text} for role, text in PROBE_EXCHANGE]
    try:
        text = render(conform(messages, traits), None, True)
    except Exception:  # noqa: BLE001 - a template that cannot say this has no opener
        return None
    start = text.find(PROBE_FIRST)
    reply = text.find(PROBE_REPLY, start + len(PROBE_FIRST)) if start >= 0 else -1
    if reply < 0:
        return None
    piece = text[start + len(PROBE_FIRST) : reply]
    return (piece, text) if piece.strip() else None


def conform(messages: Messages, traits: TemplateTraits) -> Messages:
    """``messages`` reshaped to what the template accepts (a copy; ``messages`` is kept)."""
    out = [dict(m) for m in messages]
    if traits.alternation:
        out = _alternate(out)
    if not traits.system:
        out = _fold_system(out)
    return out


def shows_system(messages: Messages, text: str) -> bool:
    """Whether the system text of ``messages`` (if any) reached the rendered ``text``."""
    system = "\n\n".join(str(m["content"]) for m in messages if m["role"] == "system").strip()
    return not system or system in text


def _fold_system(messages: Messages) -> Messages:
    """System text goes to the front of the first user turn (one is made if there is none)."""
    system = "\n\n".join(str(m["content"]) for m in messages if m["role"] == "system")
    rest = [m for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            message["content"] = _joined(system, str(message["content"]))
            return rest
    return [{"role": "user", "content": system}, *rest]


def _alternate(messages: Messages) -> Messages:
    """Merge consecutive user (or plain assistant) turns; open with a user turn."""
    out: Messages = []
    for message in messages:
        previous = out[-1] if out else None
        if (
            previous is not None
            and previous["role"] == message["role"]
            and message["role"] in ("user", "assistant")
            and not previous.get("tool_calls")
            and not message.get("tool_calls")
        ):
            previous["content"] = _joined(str(previous["content"]), str(message["content"]))
            continue
        out.append(message)
    first = next((i for i, m in enumerate(out) if m["role"] != "system"), len(out))
    if first < len(out) and out[first]["role"] != "user":
        out.insert(first, {"role": "user", "content": ""})
    return out


def _joined(first: str, second: str) -> str:
    return "\n\n".join(part for part in (first, second) if part)
