"""A model's chat template and tokenizer, read from its GGUF: messages in, prompt tokens out.

This is the part of a model that prompts are made of, apart from its weights:
:class:`~.llama.LlamaEngine` uses it beside the weights it samples from, and
:class:`~.remote.RemoteEngine` uses it alone (the GGUF loaded vocabulary-only)
for a model that a serving engine elsewhere runs. Either way the template is
found, probed and obeyed as :mod:`.chat_template` says, tools are shown in the
format the template knows (:mod:`.tool_format`), and tokens are counted with
the model's own tokenizer. The llama-cpp-python objects come in from
:mod:`.llama`, the only module that imports ``llama_cpp``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import ChatMessage, FunctionSpec
from .chat_template import (
    Render,
    TemplateSource,
    answer_opener,
    builtin_names,
    builtin_render,
    conform,
    jinja_render,
    probe,
    resolve_template,
    separators,
    shows_system,
)
from .harmony import reasoning_convention, template_effort
from .reasoning import ReasoningPlan, ThinkTags
from .tool_format import ToolFormatChoice, format_for_template


class ChatPrompt:
    """Renders conversations for one model (``llama``: a ``llama_cpp.Llama``, weights or not)."""

    def __init__(self, llama: Any, llama_cpp: Any, path: Path, chat_template: str | None) -> None:
        """Find the template (a :class:`~offline_assistants.errors.ModelFileError` for a file
        with none and no ``chat_template`` given) and learn how it behaves."""
        self._llama = llama
        self._llama_cpp = llama_cpp
        self.template: TemplateSource = resolve_template(
            chat_template, llama.metadata, path, builtin_names(llama_cpp)
        )
        self._render = self._renderer(self.template)
        self.tool_format: ToolFormatChoice = format_for_template(
            self.template.text, builtin=self.template.builtin
        )
        vocab = llama._model.vocab
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.traits = probe(self._render)
        self.stop_tokens = self._stops(self.traits.turn_end)
        self.reasoning: ThinkTags | None = reasoning_convention(self.template.text)
        self._reasoning_marks: tuple[tuple[int, ...], ...] | None = None

    def _renderer(self, source: TemplateSource) -> Render:
        if source.builtin:
            return builtin_render(source.text, self._llama_cpp)
        eos, bos = self._llama.token_eos(), self._llama.token_bos()
        return jinja_render(
            source.text,
            bos_token=self.token_text(bos) if bos != -1 else "",
            eos_token=self.token_text(eos) if eos != -1 else "",
        )

    def token_text(self, token: int) -> str:
        return str(self._llama._model.token_get_text(token))

    def text(
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec],
        effort: str | None = None,
    ) -> str:
        """The chat template applied to ``messages`` (with the generation prompt); the API's
        reasoning ``effort`` reaches a template that takes one (gpt-oss's, or a thinking
        switch: :meth:`_variables`)."""
        template_messages, tools = self.tool_format.template_inputs(messages, functions)
        variables = self._variables(effort)
        text = self._render(conform(template_messages, self.traits), tools, True, **variables)
        if not shows_system(template_messages, text):
            # Some templates keep the system text only in some shapes (Mistral's, only with
            # the last user turn): then it goes into the first user turn.
            folded = dataclasses.replace(self.traits, system=False)
            text = self._render(conform(template_messages, folded), tools, True, **variables)
        return text

    def _variables(self, effort: str | None) -> dict[str, str | bool]:
        """What the template takes of the effort: gpt-oss's level, or Qwen3's and SmolLM3's
        switch, off for none and minimal (its generation prompt then closes the thinking)."""
        tags = self.reasoning
        if tags is None:
            return {}
        if tags.switch is not None and effort in ("none", "minimal"):
            return {tags.switch: False}
        level = template_effort(effort)
        if tags.effort is None or level is None:
            return {}
        return {tags.effort: level}

    def tokens(
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec],
        effort: str | None = None,
    ) -> list[int]:
        """:meth:`text`, tokenized with the model's tokenizer."""
        text = self.text(messages, functions, effort)
        bos = self._llama.token_bos()
        # Add BOS as the file asks, unless the template wrote it ({{ bos_token }}).
        add_bos = self._add_bos and not (bos != -1 and text.startswith(self.token_text(bos)))
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def separators(self) -> list[list[int]]:
        """The token runs this template writes between messages' texts (the generation
        prompt too), each as it is tokenized inside a prompt: a prompt chunk ends after
        one (:mod:`.prompt_chunks`). A run whose tokens change beside the next text (a
        trailing space that joins the next word) is kept without that whitespace, or
        left out."""
        found: list[list[int]] = []
        for piece, text in separators(self._render, self.traits):
            tokens = self._in_context(piece, text)
            if tokens:
                found.append(tokens)
        return found

    def answer_opener(self) -> list[int]:
        """The separator between a user's text and the assistant's answer (as it is
        tokenized before an answer's text), or [] where the template writes none: a
        chunk always ends after it, so a thread's next turn reuses all of the prompt the
        last one ended with that opener (:mod:`.prompt_chunks`)."""
        found = answer_opener(self._render, self.traits)
        return self._in_context(*found) if found is not None else []

    def _in_context(self, piece: str, text: str) -> list[int]:
        """``piece``'s tokens as they are inside ``text`` (without its trailing whitespace
        where that joins the next word), or [] where neither is."""
        whole = self._plain_tokens(text)
        for variant in dict.fromkeys((piece, piece.rstrip())):
            tokens = self._plain_tokens(variant)
            if tokens and _contains(whole, tokens):
                return tokens
        return []

    def reasoning_plan(self, prompt: Sequence[int], budget: int | None) -> ReasoningPlan | None:
        """How a generation after ``prompt`` reasons (None: the model does not)."""
        tags = self.reasoning
        if tags is None:
            return None
        if self._reasoning_marks is None:
            # Think tags close on a line of their own; Harmony's markers are tokens alone.
            end = tags.end if tags.opens else f"\n{tags.end}\n\n"
            self._reasoning_marks = tuple(
                tuple(self._plain_tokens(text)) if text else ()
                for text in (end, tags.start if tags.opens else "", tags.answer)
            )
        end_tokens, start_tokens, answer_tokens = self._reasoning_marks
        opened = tags.opened_by(self.detokenize(prompt[-8:]))
        return ReasoningPlan(
            tags,
            opened,
            budget,
            end_tokens,
            start_tokens=() if opened else start_tokens,
            answer_tokens=answer_tokens,
            answer_end=end_tokens if tags.ends_answer else (),
        )

    def _plain_tokens(self, text: str) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def detokenize(self, tokens: Sequence[int]) -> str:
        """The text of ``tokens``, special tokens spelled out (as a prompt for another engine)."""
        return bytes(self._llama.detokenize(list(tokens), special=True)).decode(
            "utf-8", errors="replace"
        )

    def matches(self, gbnf: str, text: str) -> bool:
        """Whether ``text`` is a whole sentence of the grammar ``gbnf``, checked token by token
        by llama.cpp's grammar sampler as generation under that grammar would be (for an
        engine that cannot constrain its output)."""
        llama_cpp, vocab = self._llama_cpp, self._llama._model.vocab
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), b"root")
        if not sampler:
            return False
        try:
            tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            for token in [*tokens, self._llama.token_eos()]:  # end of text: may it end here?
                data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
                candidates = llama_cpp.llama_token_data_array(data, 1, -1, False)
                llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
                if math.isinf(data[0].logit):
                    return False
                llama_cpp.llama_sampler_accept(sampler, token)
            return True
        finally:
            llama_cpp.llama_sampler_free(sampler)

    @property
    def bos(self) -> int:
        return int(self._llama.token_bos())

    @property
    def adds_bos(self) -> bool:
        """Whether the tokenizer puts BOS before a text (the GGUF says so)."""
        return self._add_bos

    def _stops(self, turn_end: str) -> frozenset[int]:
        """Tokens that end an answer besides the GGUF's end-of-generation ones: the
        template's end-of-turn marker, where it is a special token of this vocabulary."""
        tokens = self._llama.tokenize(turn_end.encode("utf-8"), add_bos=False, special=True)
        vocab = self._llama._model.vocab
        if tokens and self._llama_cpp.llama_vocab_is_control(vocab, tokens[0]):
            return frozenset(tokens[:1])
        return frozenset()


def _contains(whole: Sequence[int], part: Sequence[int]) -> bool:
    width = len(part)
    return any(list(whole[i : i + width]) == list(part) for i in range(len(whole) - width + 1))
