"""llama-cpp-python behind the Engine protocol: the only module that imports ``llama_cpp``.

Loads any GGUF file (progress bar while the weights are read from disk, clear
:class:`~offline_assistants.errors.ModelFileError` for a missing or invalid
file), renders prompts with the chat template stored in the file's metadata,
and samples token by token so callers can stop between tokens. Output
constraints (``json_object``, ``json_schema``) become llama.cpp grammars.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import InternalError, ModelFileError
from .base import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from .prefix_cache import PrefixCache, Snapshot, model_identity
from .repetition import looping
from .threads import ThreadAdvisor
from .tool_format import ToolFormatChoice, format_for_template

GGUF_MAGIC = b"GGUF"
# DRY sampling (llama.cpp's defaults): a repeat longer than 2 tokens is penalised by
# multiplier × base^(length - 2); these strings end a repeated sequence.
DRY_BASE = 1.75
DRY_ALLOWED_LENGTH = 2
DRY_WINDOW = 1024  # how many recent output tokens DRY looks back over
DRY_BREAKERS = ["\n", ":", '"', "*"]
# Prompt tokens per evaluation batch, and the granularity of prefix reuse (see the module
# docstring); Settings.n_batch, chosen by measurement (benchmarks/engine_settings.py).
DEFAULT_BATCH = 128
# Used when a GGUF file carries no chat template: ChatML, the most common format.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def check_model_file(path: Path) -> None:
    """Raise :class:`ModelFileError` naming ``path`` unless it is a readable GGUF file."""
    try:
        found = path.is_file()
    except OSError:  # e.g. a path longer than the file system allows
        found = False
    if not found:
        raise ModelFileError(
            f"Model file not found: {path}. Run scripts/setup to fetch the default model, "
            "or pass model= a path to a .gguf file.",
            param="model",
            code="model_not_found",
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"Not a GGUF model file: {path} (it does not start with the GGUF magic bytes). "
            "Pass model= a path to a .gguf file.",
            param="model",
            code="invalid_model",
        )


def _read_with_progress(path: Path, label: str) -> None:
    """Read the file once with a progress bar, so the memory-mapped load that follows is fast."""
    size = path.stat().st_size
    with (
        path.open("rb") as handle,
        tqdm(total=size, unit="B", unit_scale=True, desc=label, leave=False) as bar,
    ):
        while block := handle.read(8 << 20):
            bar.update(len(block))


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
        from llama_cpp import llama_chat_format

        check_model_file(path)
        if progress:
            _read_with_progress(path, f"Loading {path.name}")
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
        self._path = path
        self._context_length = min(n_ctx, self._llama._model.n_ctx_train())
        llama = self._llama
        eos = llama.token_eos()
        bos = llama.token_bos()
        template = chat_template or llama.metadata.get("tokenizer.chat_template", CHATML_TEMPLATE)
        self._tool_format = format_for_template(template)
        self._formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            add_generation_prompt=True,
        )
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

    def prompt_tokens(
        self, messages: Sequence[ChatMessage], functions: Sequence[FunctionSpec] = ()
    ) -> list[int]:
        rendered_messages, tools = self._tool_format.template_inputs(messages, functions)
        rendered = self._formatter(messages=rendered_messages, tools=tools)  # type: ignore[arg-type]
        return list(
            self._llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)
        )

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
        compiled = None if grammar is None else self._compile(grammar.gbnf)
        undecided = None if grammar is None else grammar.free_unless
        sampler = self._sampler(sampling, compiled)
        start = self._reuse(prompt, cache_key)
        stream.reused_tokens = start
        pending = prompt[start:]  # evaluated before the next token is sampled
        text = ""
        stream.finish_reason = "length"
        try:
            while len(generated) < max_tokens:
                self._adapt_threads()
                llama.eval(pending)
                token = sampler.sample(llama._ctx, -1)
                if self._llama_cpp.llama_vocab_is_eog(vocab, token):
                    stream.finish_reason = "stop"
                    break
                piece = decoder.decode(llama.detokenize([token], special=compiled is not None))
                generated.append(token)
                pending = [token]
                stream.completion_tokens = len(generated)
                yield piece
                if undecided is not None:
                    text += piece
                    if text.startswith(undecided):
                        undecided = None  # committed to the constrained branch
                    elif not undecided.startswith(text):
                        # The model is writing a message: go on without the grammar (free
                        # text under one costs about half the speed), same history.
                        compiled = undecided = None
                        sampler = self._sampler(sampling, None)
                        for earlier in generated:
                            sampler.accept(earlier)
                if compiled is None and sampling.stop_loops and looping(generated):
                    stream.finish_reason = "stop"  # stuck in a cycle: the answer is over
                    break
        finally:
            # Only whole aligned chunks of the prompt hold KV a full evaluation would make.
            self._resident = prompt[: len(prompt) // self._batch * self._batch]
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _adapt_threads(self) -> None:
        """Use the thread count the advisor gives now (for generation and prompts alike)."""
        if self._threads is None:
            return
        count = self._threads.threads()
        if count != self._thread_count:
            self._llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, count, count)
            self._thread_count = count

    def _sampler(self, sampling: Sampling, grammar: Any) -> Any:
        """llama.cpp's sampler chain: penalties, DRY (free text only), the grammar, then
        greedy at temperature 0 or top-p / min-p / temperature sampling."""
        from llama_cpp._internals import LlamaSampler

        llama = self._llama
        chain = LlamaSampler()  # type: ignore[no-untyped-call]
        chain.add_penalties(
            n_vocab=llama.n_vocab(),
            penalty_last_n=llama.last_n_tokens_size,
            penalty_repeat=sampling.repeat_penalty,
            penalty_freq=0.0,
            penalty_present=0.0,
        )
        if grammar is None and sampling.dry_multiplier > 0:
            chain.add_dry(
                llama._model,
                sampling.dry_multiplier,
                DRY_BASE,
                DRY_ALLOWED_LENGTH,
                DRY_WINDOW,
                DRY_BREAKERS,
            )
        if grammar is not None:
            chain.add_grammar(llama._model, grammar)
        if sampling.temperature <= 0:
            chain.add_greedy()  # type: ignore[no-untyped-call]
            return chain
        chain.add_top_p(sampling.top_p, 1)
        if sampling.min_p > 0:
            chain.add_min_p(sampling.min_p, 1)
        chain.add_temp(sampling.temperature)
        seed = self._llama_cpp.LLAMA_DEFAULT_SEED if sampling.seed is None else sampling.seed
        chain.add_dist(seed)
        return chain

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
            sampler = self._llama_cpp.llama_sampler_init_grammar(
                self._llama._model.vocab, gbnf.encode("utf-8"), b"root"
            )
            if not sampler:
                raise InternalError(f"llama.cpp rejected a generated grammar:\n{gbnf[:2000]}")
            self._llama_cpp.llama_sampler_free(sampler)
            self._grammars[gbnf] = llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]
