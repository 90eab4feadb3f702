"""llama-cpp-python behind the Engine protocol: the only module that imports ``llama_cpp``.

Loads any GGUF file (progress bar while the weights are read from disk, clear
:class:`~offline_assistants.errors.ModelFileError` for a missing or invalid
file), renders prompts with the model's chat template (:mod:`.chat_prompt`; also
for a remote engine, from the GGUF's vocabulary alone: :func:`vocabulary_prompt`),
and samples token by token so callers can stop between tokens: at the GGUF's
end-of-generation tokens or the template's end-of-turn token. Output constraints
(``json_object``, ``json_schema``, tool calls) become llama.cpp grammars, lazy
ones waiting for the call marker (``Grammar.trigger``).

Generation is batched (:mod:`.batcher`): ``generate`` may be called from any
number of threads; up to ``parallel`` generations are advanced together by
one model thread, each in a sequence slot of its own (:mod:`.slots`), the rest
wait for a slot in arrival order.

Prefix reuse. ``generate(..., cache_key=thread_id)`` evaluates only what the
thread's previous prompt did not already cover. Outputs stay identical to a
full evaluation because the prompt is always evaluated in the same chunks, cut
by :mod:`.prompt_chunks` (every ``n_batch`` tokens, and where a message's text begins), each
chunk in a decode of its own: a chunk's KV entries depend on the chunk's shape, so
only whole chunks are reused (the common prefix cut back to its last cut), and the
rest is evaluated with the cuts a full evaluation would make. Generated tokens are
never reused. Prefixes are shared by content across threads (:mod:`.slots`): a new
thread of an assistant starts from the instructions another thread evaluated.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from collections.abc import Sequence as Messages
from pathlib import Path
from typing import Any

from ..errors import InternalError, ModelFileError
from .attention import AttentionPath, attention_path, configure, default_record
from .base import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from .batcher import Batcher
from .chat_prompt import ChatPrompt
from .chat_template import TemplateSource, builtin_names, resolve_template
from .cpu_share import ThreadAdvisor
from .gguf_file import check_model_file, read_with_progress
from .gguf_metadata import GGUFError, read_metadata
from .grammar import literal
from .prefix_cache import PrefixCache, model_identity
from .prompt_chunks import Cuts
from .reasoning import ThinkTags
from .sampler import FreeSampler, GrammarSampler, Native
from .sequence import Sequence
from .slots import Slots
from .tool_format import ToolFormatChoice

# Prompt tokens per evaluation batch, and the granularity of prefix reuse (see the module
# docstring); Settings.n_batch, chosen by measurement (benchmarks/engine_settings.py).
DEFAULT_BATCH = 128


def template_of(path: Path, chat_template: str | None) -> TemplateSource:
    """The template a run on ``path`` would use, reading only the file's header (a memory
    map of its metadata, the vocabulary skipped over: ~10 ms where llama.cpp's
    vocabulary-only load took ~170 ms on a cold start's path); :class:`ModelFileError`
    where there is none or the header cannot be read."""
    import llama_cpp

    check_model_file(path)
    try:
        metadata = read_metadata(path)
    except (GGUFError, OSError) as exc:
        raise ModelFileError(
            f"Could not load model file {path}: {exc}. Is it a complete, supported GGUF file?",
            param="model",
            code="invalid_model",
        ) from exc
    text = metadata.get("tokenizer.chat_template")
    found = {"tokenizer.chat_template": text} if isinstance(text, str) else {}
    return resolve_template(chat_template, found, path, builtin_names(llama_cpp))


def requantize(source: Path, target: Path, kind: str) -> None:
    """Write ``source``'s weights to ``target`` in llama.cpp's format ``kind`` ("Q8_0",
    "Q4_0", "F16", "F32": a ``LLAMA_FTYPE_*`` name), through a partial file."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    check_model_file(source)
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}", None)
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_ALL_{kind}", ftype)  # F32
    if ftype is None:
        raise ValueError(f"llama.cpp has no weights format {kind!r}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    partial = target.with_name(target.name + ".partial")
    with suppress_stdout_stderr(disable=False):  # llama.cpp logs every tensor it writes
        status = llama_cpp.llama_model_quantize(
            str(source).encode(), str(partial).encode(), ctypes.byref(params)
        )
    if status != 0:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"llama.cpp could not write {source} as {kind} (status {status})",
            param="model",
            code="invalid_model",
        )
    partial.replace(target)


def vocabulary_prompt(path: Path, chat_template: str | None) -> tuple[ChatPrompt, int]:
    """The chat template and tokenizer of the model in ``path``, its weights left unread (for a
    :class:`~.remote.RemoteEngine` serving that model), and the context it was trained for."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    check_model_file(path)
    try:
        with suppress_stdout_stderr(disable=False):  # a vocabulary has no trained context to log
            llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"Could not read the vocabulary of {path}: {exc}. Is it a complete GGUF file?",
            param="model",
            code="invalid_model",
        ) from exc
    metadata = llama.metadata
    trained = metadata.get(f"{metadata.get('general.architecture', '')}.context_length", "0")
    return ChatPrompt(llama, llama_cpp, path, chat_template), int(trained)


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
        parallel: int = 1,
        flash_attention: str = "auto",
        kv_cache_type: str = "auto",
        attention_record: Path | None = None,
    ) -> None:
        """``n_threads`` is the count to use; with ``threads``, the count is asked again as
        the engine works (fewer when other programs keep cores busy). ``parallel``
        generations run at once, each with a window of ``n_ctx`` tokens. Flash attention
        (``on``, ``off``) and the KV cache's type (``f16``, ``bf16``) are as given or, with
        ``auto``, as :mod:`.attention` found faster (remembered in ``attention_record``,
        by default the user's cache)."""
        import llama_cpp
        from llama_cpp._internals import LlamaContext, LlamaSampler

        check_model_file(path)
        if progress:
            read_with_progress(path, f"Loading {path.name}")
        try:
            # The Llama object's own context stays tiny; generation uses ``_context`` below.
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=max(256, n_batch),
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
        self.parallel = max(1, parallel)
        try:
            self._prompt = ChatPrompt(self._llama, llama_cpp, path, chat_template)
            self.template = self._prompt.template
            # after the template check: a base model is refused without being timed
            self.attention: AttentionPath = attention_path(
                llama_cpp,
                self._llama._model.model,
                path,
                n_threads,
                flash_attention,
                kv_cache_type,
                attention_record or default_record(),
                progress=progress,
            )
            self._context = LlamaContext(
                model=self._llama._model, params=self._params(self.parallel), verbose=False
            )
        except (ModelFileError, ValueError) as exc:
            self._llama.close()
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(
                f"Could not make a context of {self._context_length} tokens × {self.parallel} "
                f"for {path}: {exc}. Try a smaller OFFLINE_ASSISTANTS_N_CTX or PARALLEL.",
                param="model",
                code="invalid_model",
            ) from exc
        self.traits = self._prompt.traits
        self.stop_tokens = self._prompt.stop_tokens
        self._grammars: dict[str, Any] = {}
        self._threads = threads
        self._thread_count = n_threads
        cuts = Cuts.of(n_batch, self._prompt.separators(), self._prompt.answer_opener())
        self._slots = Slots(
            llama_cpp,
            self._context.ctx,
            self.parallel,
            cuts,
            prefix_cache,
            f"{model_identity(path)}:{self.kv_layout}:{cuts.identity}",
        )
        self._batcher = Batcher(
            llama_cpp,
            self._context,
            self._slots,
            before_decode=self._adapt_threads,
            n_vocab=self.vocab_size,
            when_idle=threads.idle if threads is not None else lambda: None,
        )

    @property
    def flash_attention(self) -> bool:
        """Whether this engine attends with llama.cpp's flash-attention kernel."""
        return self.attention.flash

    @property
    def kv_layout(self) -> str:
        """Part of a saved prefix state's identity (with the cut rule: where its chunks
        end): the attention path decides the KV cache's layout (V transposed without
        flash attention) and its element type, so a state saved under another layout or
        other cuts is evaluated again, never restored."""
        layout = "flash-attn-auto" if self.attention.flash else "attn-plain"
        return (
            layout if self.attention.kv_type == "f16" else f"{layout}-kv-{self.attention.kv_type}"
        )

    def _params(self, parallel: int) -> Any:
        """The generation context's parameters: the Llama object's, with ``parallel``
        sequences of the whole window each, every one in a KV stream of its own, attending
        as :mod:`.attention` chose."""
        given = self._llama.context_params
        params = type(given).from_buffer_copy(given)
        params.n_ctx = self._context_length * parallel
        params.n_seq_max = parallel
        params.kv_unified = False
        configure(self._llama_cpp, params, self.attention)
        return params

    @property
    def evaluated_tokens(self) -> int:
        """Prompt tokens evaluated so far (those a kept prefix state covered are not)."""
        return self._slots.evaluated_tokens

    @property
    def batcher(self) -> Batcher:
        return self._batcher

    def close(self) -> None:
        """Free the model and its context now (not whenever the garbage collector runs).
        Generations still running end with an error."""
        if not self._batcher.close():
            return  # still inside a decode: freeing the context under it would crash
        self._grammars.clear()
        self._context.close()  # type: ignore[no-untyped-call]
        self._llama.close()

    @property
    def model_path(self) -> str:
        return str(self._path)

    @property
    def context_length(self) -> int:
        return self._context_length

    @property
    def tool_format(self) -> ToolFormatChoice:
        return self._prompt.tool_format

    @property
    def reasoning(self) -> ThinkTags | None:
        """The model's reasoning convention (None: it does not reason)."""
        return self._prompt.reasoning

    @property
    def vocab_size(self) -> int:
        return int(self._llama.n_vocab())

    @property
    def trained_context(self) -> int:
        return int(self._llama._model.n_ctx_train())

    def token_text(self, token: int) -> str:
        return self._prompt.token_text(token)

    def end_tokens(self) -> list[int]:
        """Every token that ends an answer: the vocabulary's end-of-generation tokens (from
        the GGUF's EOS/EOT metadata) and the template's end-of-turn token."""
        vocab = self._llama._model.vocab
        is_eog = self._llama_cpp.llama_vocab_is_eog
        found = {t for t in range(self._llama.n_vocab()) if is_eog(vocab, t)}
        return sorted(found | self.stop_tokens)

    def prompt_tokens(
        self,
        messages: Messages[ChatMessage],
        functions: Messages[FunctionSpec] = (),
        effort: str | None = None,
    ) -> list[int]:
        return self._prompt.tokens(messages, functions, effort)

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
        cache_key: str | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> TokenStream:
        stream = TokenStream(pieces=iter(()))
        plan = self._prompt.reasoning_plan(prompt, sampling.reasoning_budget)
        if plan is not None:
            stream.reasoning, stream.reasoning_opened = plan.tags, plan.opened
        sequence = Sequence(
            self,
            stream,
            prompt,
            max_tokens=max_tokens,
            sampling=sampling,
            grammar=grammar,
            cache_key=cache_key,
            stop=stop,
            wake=self._batcher.wake,
            reasoning=plan,
        )
        stream.pieces = sequence.pieces()
        self._batcher.submit(sequence)
        return stream

    # What a Sequence needs from the model (sequence.Vocabulary), called on the model's thread.

    def sampler(self, sampling: Sampling, grammar: Any) -> FreeSampler | GrammarSampler:
        """How the next token is chosen (see :mod:`.sampler`)."""
        if grammar is None:
            return FreeSampler(self._native, sampling)
        return GrammarSampler(self._native, sampling, grammar)

    def token_bytes(self, token: int, special: bool) -> bytes:
        return bytes(self._llama.detokenize([token], special=special))

    def ends(self, token: int) -> bool:
        vocab = self._llama._model.vocab
        return bool(self._llama_cpp.llama_vocab_is_eog(vocab, token)) or token in self.stop_tokens

    def _adapt_threads(self) -> None:
        """Use the thread count the advisor gives now (for generation and prompts alike)."""
        if self._threads is None:
            return
        count = self._threads.threads()
        if count != self._thread_count:
            self._llama_cpp.llama_set_n_threads(self._context.ctx, count, count)
            self._thread_count = count

    def compile(self, gbnf: str) -> Any:
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
        opener = self._prompt.tool_format.opener
        tokens = self._llama.tokenize(opener.encode("utf-8"), add_bos=False, special=True)
        vocab = self._llama._model.vocab
        if len(tokens) != 1 or not self._llama_cpp.llama_vocab_is_control(vocab, tokens[0]):
            return gbnf
        return gbnf.replace(literal(opener), f"<[{tokens[0]}]>")
