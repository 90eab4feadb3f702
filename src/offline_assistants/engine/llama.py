"""llama-cpp-python behind the Engine protocol: the only module that imports ``llama_cpp``.

Loads any GGUF file (progress bar while the weights are read from disk, clear
:class:`~offline_assistants.errors.ModelFileError` for a missing or invalid
file), renders prompts with the model's chat template (found, probed and obeyed
as :mod:`.chat_template` says; llama.cpp's built-in templates are applied here),
and samples token by token so callers can stop between tokens: at the GGUF's
end-of-generation tokens or the template's end-of-turn token. Output constraints
(``json_object``, ``json_schema``, tool calls) become llama.cpp grammars, lazy
ones waiting for the call marker (``Grammar.trigger``).

Prefix reuse. ``generate(..., cache_key=thread_id)`` evaluates only what the
thread's previous prompt did not already cover. Outputs stay identical to a
full evaluation because the prompt is always evaluated in chunks of
``n_batch`` tokens aligned to position 0: a chunk's KV entries depend on the
chunk's shape, so only whole aligned chunks are reused (the common prefix
rounded down to a multiple of ``n_batch``), and the rest is evaluated with
the same boundaries a full evaluation would use. Generated tokens (evaluated
one at a time) are never reused. The context holds one thread at a time
(the resident one); when another thread's run comes, the resident state is
saved into the ``PrefixCache`` and the newcomer's restored from it.
"""

from __future__ import annotations

import codecs
import ctypes
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InternalError, ModelFileError
from .base import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from .chat_template import (
    Render,
    TemplateSource,
    builtin_names,
    builtin_render,
    conform,
    jinja_render,
    probe,
    resolve_template,
    shows_system,
)
from .gguf_file import check_model_file, read_with_progress
from .grammar import literal
from .prefix_cache import PrefixCache, Snapshot, model_identity
from .repetition import looping
from .sampler import FreeSampler, GrammarSampler, Native
from .threads import ThreadAdvisor
from .tool_format import ToolFormatChoice, format_for_template

# Prompt tokens per evaluation batch, and the granularity of prefix reuse (see the module
# docstring); Settings.n_batch, chosen by measurement (benchmarks/engine_settings.py).
DEFAULT_BATCH = 128


def template_of(path: Path, chat_template: str | None) -> TemplateSource:
    """The template a run on ``path`` would use, reading only the file's vocabulary and
    metadata (fast, for checks at start-up); :class:`ModelFileError` where there is none."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    check_model_file(path)
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with suppress_stdout_stderr(disable=False):  # llama.cpp logs every key it reads
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ModelFileError(
            f"Could not load model file {path}. Is it a complete, supported GGUF file?",
            param="model",
            code="invalid_model",
        )
    try:
        key = b"tokenizer.chat_template"
        size = llama_cpp.llama_model_meta_val_str(model, key, None, 0)
        metadata = {}
        if size >= 0:
            buffer = ctypes.create_string_buffer(size + 1)
            llama_cpp.llama_model_meta_val_str(model, key, buffer, size + 1)
            metadata[key.decode()] = buffer.value.decode("utf-8", errors="replace")
    finally:
        llama_cpp.llama_model_free(model)
    return resolve_template(chat_template, metadata, path, builtin_names(llama_cpp))


class LlamaEngine:
    """One GGUF model loaded with llama-cpp-python."""

    def __init__(
        self,
        path: Path,
        *,
        n_threads: int,
        n_ctx: int,
        progress: bool = True,
        chat_template: str | None = None,
        n_batch: int = DEFAULT_BATCH,
        prefix_cache: PrefixCache | None = None,
        threads: ThreadAdvisor | None = None,
    ) -> None:
        """``n_threads`` is the count to use; with ``threads``, the count is asked again as
        the engine works (fewer when other programs keep cores busy)."""
        import llama_cpp
        from llama_cpp._internals import LlamaSampler

        check_model_file(path)
        if progress:
            read_with_progress(path, f"Loading {path.name}")
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=n_batch,
                n_ubatch=n_batch,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                use_mmap=True,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"Could not load model file {path}: {exc}. Is it a complete, supported GGUF file?",
                param="model",
                code="invalid_model",
            ) from exc
        self._llama_cpp = llama_cpp
        self._native = Native(llama_cpp, LlamaSampler, self._llama)
        self._path = path
        self._context_length = min(n_ctx, self._llama._model.n_ctx_train())
        self._render: Render
        try:
            self.template = self._template(chat_template)
        except ModelFileError:
            self._llama.close()
            raise
        vocab = self._llama._model.vocab
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.traits = probe(self._render)
        self.stop_tokens = self._stops(self.traits.turn_end)
        self._grammars: dict[str, Any] = {}
        self._threads = threads
        self._thread_count = n_threads
        self._batch = n_batch
        self._cache = prefix_cache
        self._model_id = model_identity(path)
        self._resident_key: str | None = None
        self._resident: list[int] = []  # prompt tokens whose KV in the context is canonical
        self.evaluated_tokens = 0  # prompt tokens evaluated

    def close(self) -> None:
        """Free the model and its context now (not whenever the garbage collector runs)."""
        self._grammars.clear()
        self._llama.close()

    @property
    def model_path(self) -> str:
        return str(self._path)

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def tool_format(self) -> ToolFormatChoice:
        return self._tool_format

    @property
    def vocab_size(self) -> int:
        return int(self._llama.n_vocab())

    @property
    def trained_context(self) -> int:
        return int(self._llama._model.n_ctx_train())

    def token_text(self, token: int) -> str:
        return str(self._llama._model.token_get_text(token))

    def end_tokens(self) -> list[int]:
        """Every token that ends an answer: the vocabulary's end-of-generation tokens (from
        the GGUF's EOS/EOT metadata) and the template's end-of-turn token."""
        vocab = self._llama._model.vocab
        is_eog = self._llama_cpp.llama_vocab_is_eog
        found = {t for t in range(self._llama.n_vocab()) if is_eog(vocab, t)}
        return sorted(found | self.stop_tokens)

    def prompt_tokens(
        self, messages: Sequence[ChatMessage], functions: Sequence[FunctionSpec] = ()
    ) -> list[int]:
        template_messages, tools = self._tool_format.template_inputs(messages, functions)
        text = self._render(conform(template_messages, self.traits), tools, True)
        if not shows_system(template_messages, text):
            # Some templates keep the system text only in some shapes (Mistral's, only with
            # the last user turn): then it goes into the first user turn.
            folded = dataclasses.replace(self.traits, system=False)
            text = self._render(conform(template_messages, folded), tools, True)
        bos = self._llama.token_bos()
        # Add BOS as the file asks, unless the template wrote it ({{ bos_token }}).
        add_bos = self._add_bos and not (bos != -1 and text.startswith(self.token_text(bos)))
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def _template(self, given: str | None) -> TemplateSource:
        """Find the template (refusing a file with none) and make its renderer."""
        llama = self._llama
        builtins = builtin_names(self._llama_cpp)
        source = resolve_template(given, llama.metadata, self._path, builtins)
        if source.builtin:
            self._render = builtin_render(source.text, self._llama_cpp)
        else:
            eos, bos = llama.token_eos(), llama.token_bos()
            self._render = jinja_render(
                source.text,
                bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
                eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            )
        self._tool_format = format_for_template(source.text, builtin=source.builtin)
        return source

    def _stops(self, turn_end: str) -> frozenset[int]:
        """Tokens that end an answer besides the GGUF's end-of-generation ones: the
        template's end-of-turn marker, where it is a special token of this vocabulary."""
        tokens = self._llama.tokenize(turn_end.encode("utf-8"), add_bos=False, special=True)
        vocab = self._llama._model.vocab
        if tokens and self._llama_cpp.llama_vocab_is_control(vocab, tokens[0]):
            return frozenset(tokens[:1])
        return frozenset()

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
        cache_key: str | None = None,
    ) -> TokenStream:
        stream = TokenStream(pieces=iter(()))
        stream.pieces = self._pieces(stream, prompt, max_tokens, sampling, grammar, cache_key)
        return stream

    def _pieces(
        self,
        stream: TokenStream,
        prompt: list[int],
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None,
        cache_key: str | None,
    ) -> Iterator[str]:
        llama = self._llama
        vocab = llama._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        generated: list[int] = []
        lazy = grammar is not None and grammar.trigger is not None
        trigger = grammar.trigger if grammar is not None else None
        compiled = None if grammar is None or lazy else self._compile(grammar.gbnf)
        sampler = self._sampler(sampling, compiled)
        start = self._reuse(prompt, cache_key)
        stream.reused_tokens = start
        pending = prompt[start:]  # evaluated before the next token is sampled
        opened = ""  # the output while it may still be the trigger's start
        stream.finish_reason = "length"
        try:
            while len(generated) < max_tokens:
                self._adapt_threads()
                llama.eval(pending)
                token = sampler.sample(llama._ctx)
                if trigger is not None and grammar is not None:
                    said = (opened + self._text(token, special=True)).lstrip()
                    if said.startswith(trigger):
                        # The model opened a call: from this token on, the grammar holds.
                        compiled = self._compile(grammar.gbnf)
                        sampler = self._sampler(sampling, compiled)
                        for earlier in generated:
                            sampler.accept(earlier)
                        token = sampler.sample(llama._ctx)
                        trigger = None
                    elif trigger.startswith(said):
                        opened = said
                    else:
                        trigger = None  # a message: it never meets the grammar
                if self._llama_cpp.llama_vocab_is_eog(vocab, token) or token in self.stop_tokens:
                    stream.finish_reason = "stop"
                    break
                special = compiled is not None or trigger is not None
                piece = decoder.decode(llama.detokenize([token], special=special))
                generated.append(token)
                pending = [token]
                stream.completion_tokens = len(generated)
                yield piece
                if compiled is None and sampling.stop_loops and looping(generated):
                    stream.finish_reason = "stop"  # stuck in a cycle: the answer is over
                    break
        finally:
            # Only whole aligned chunks of the prompt hold KV a full evaluation would make.
            self._resident = prompt[: len(prompt) // self._batch * self._batch]
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _text(self, token: int, special: bool) -> str:
        return self._llama.detokenize([token], special=special).decode("utf-8", errors="replace")

    def _adapt_threads(self) -> None:
        """Use the thread count the advisor gives now (for generation and prompts alike)."""
        if self._threads is None:
            return
        count = self._threads.threads()
        if count != self._thread_count:
            self._llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, count, count)
            self._thread_count = count

    def _sampler(self, sampling: Sampling, grammar: Any) -> FreeSampler | GrammarSampler:
        """How the next token is chosen (see :mod:`.sampler`)."""
        if grammar is None:
            return FreeSampler(self._native, sampling)
        return GrammarSampler(self._native, sampling, grammar)

    def _reuse(self, prompt: list[int], cache_key: str | None) -> int:
        """Make the context hold ``cache_key``'s state and return how many leading prompt
        tokens it already covers (a multiple of ``n_batch``); 0 means evaluate everything."""
        if cache_key != self._resident_key or self._cache is None:
            self._switch(cache_key)
        common = 0
        limit = min(len(self._resident), len(prompt) - 1)  # the last token is always evaluated
        while common < limit and self._resident[common] == prompt[common]:
            common += 1
        start = common // self._batch * self._batch
        llama = self._llama
        llama.n_tokens = start  # eval() drops the KV beyond, then evaluates from here
        llama.input_ids[:start] = prompt[:start]
        self.evaluated_tokens += len(prompt) - start
        return start

    def _switch(self, cache_key: str | None) -> None:
        """Save the resident thread's state (if any) and restore ``cache_key``'s."""
        memory = self._llama_cpp.llama_get_memory(self._llama._ctx.ctx)
        if self._cache is not None and self._resident_key is not None and self._resident:
            self._cache.put(self._resident_key, self._snapshot(memory))
        self._llama_cpp.llama_memory_clear(memory, True)
        self._resident_key, self._resident = cache_key, []
        self._llama.n_tokens = 0
        if self._cache is None or cache_key is None:
            return
        saved = self._cache.take(cache_key, self._model_id)
        if saved is None or not saved.tokens:
            return
        buffer = (ctypes.c_uint8 * len(saved.state)).from_buffer_copy(saved.state)
        size = self._llama_cpp.llama_state_seq_set_data(
            self._llama._ctx.ctx, buffer, len(saved.state), 0
        )
        if size != len(saved.state):  # not loadable after all: evaluate in full
            self._llama_cpp.llama_memory_clear(memory, True)
            return
        self._resident = list(saved.tokens)

    def _snapshot(self, memory: Any) -> Snapshot:
        ctx = self._llama._ctx.ctx
        lib = self._llama_cpp
        lib.llama_memory_seq_rm(memory, 0, len(self._resident), -1)  # drop the non-canonical tail
        size = lib.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = lib.llama_state_seq_get_data(ctx, buffer, size, 0)
        return Snapshot(self._model_id, list(self._resident), bytes(buffer)[:written])

    def _compile(self, gbnf: str) -> Any:
        """The grammar, parsed once by llama.cpp here, so a bad one is an error, not a crash
        (llama-cpp-python only parses it inside the sampler chain, where NULL is not checked)."""
        from llama_cpp import llama_grammar

        if gbnf not in self._grammars:
            given, gbnf = gbnf, self._special_opener(gbnf)
            sampler = self._llama_cpp.llama_sampler_init_grammar(
                self._llama._model.vocab, gbnf.encode("utf-8"), b"root"
            )
            if not sampler:
                raise InternalError(f"llama.cpp rejected a generated grammar:\n{gbnf[:2000]}")
            self._llama_cpp.llama_sampler_free(sampler)
            self._grammars[given] = llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)
            gbnf = given
        return self._grammars[gbnf]

    def _special_opener(self, gbnf: str) -> str:
        """Where the call marker is one special token of this vocabulary (Mistral's
        ``[TOOL_CALLS]``), the grammar asks for that token (``<[id]>``): llama.cpp matches
        a control token by id only, so the literal would be spelled out letter by letter."""
        opener = self._tool_format.opener
        tokens = self._llama.tokenize(opener.encode("utf-8"), add_bos=False, special=True)
        vocab = self._llama._model.vocab
        if len(tokens) != 1 or not self._llama_cpp.llama_vocab_is_control(vocab, tokens[0]):
            return gbnf
        return gbnf.replace(literal(opener), f"<[{tokens[0]}]>")
