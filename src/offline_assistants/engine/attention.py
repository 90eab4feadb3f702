"""How llama.cpp attends: flash attention or not, and the KV cache's element type.

llama.cpp attends either with its fused flash-attention kernel or with plain matrix
products, and keeps the KV cache in F16 (its default) or, among the types that lose no
range, BF16. Which is faster depends on the CPU: on one machine of ours flash attention
decoded eight sequences ~20% faster; on another (an AVX-512 Xeon with BF16
instructions) flash attention over an F16 cache took twice as long over a 13-token
prompt chunk, the part of a new thread's first token that is left once its preamble is
shared, while over a BF16 cache it took 15% longer than the plain path there and decoded
eight sequences 20% faster than it (DEVELOPERS.md; benchmarks/attention_paths.py, which
also shows that a BF16 cache moves the model's next-token distributions no further from
an F32 cache's than F16 does). llama-server takes flash attention over F16 wherever it
can; llama-cpp-python leaves flash attention off.

With ``auto`` (the default, for either setting) :func:`attention_path` times each
path the settings allow once per model file, thread count, CPU and llama.cpp build: a
16-token prompt chunk and four single-token steps after a 256-token prefix, then four
steps of four sequences at once (the batch that several runs decode, whatever the
engine's own ``parallel``: the choice rounds every logit, so engines of one model on one
machine all make the same one and answer alike), in a small context of its own, the
best of two tries each (about 1 s a path, once). The paths are tried in ``PATHS``'
order, llama-server's first, and a later one is taken only where it is clearly faster
than the one taken so far (``MARGIN``). A near tie keeps the earlier: timed alone the
two attention kernels tie on one sequence on an AMD EPYC, yet a run there, whose own
thread works beside the model's, took 0.50 s with flash attention and 0.62 s without
(64 tokens), and eight sequences decoded ~20% faster; the fused kernel has fewer
points where llama.cpp's threads wait for each other. A tie needs a margin either way:
otherwise the noise of one measurement picks the path, and with it the rounding of
every logit, so the same greedy question could get another answer after the next
measurement. The answer goes into a JSON file in the user's cache directory, so later
loads cost nothing; answers for model files that are gone or changed since are dropped
whenever it is written. ``OFFLINE_ASSISTANTS_FLASH_ATTENTION`` (``on``, ``off``) and
``OFFLINE_ASSISTANTS_KV_CACHE_TYPE`` (``f16``, ``bf16``) fix either instead; with both
fixed nothing is timed.

The paths lay the KV cache out differently (V transposed without flash attention; two
element types), so the path is part of a saved prefix state's identity (:mod:`.llama`).
The library (``llama_cpp``) is handed in: :mod:`.llama` stays its only importer.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import platformdirs

from .decode_batch import DecodeBatch
from .prefix_cache import model_identity

# The flash kernel's cost here grows with the tokens attended over: over 64 it was ~10%
# slower, over 338 twice as slow; so the timed steps attend over a realistic preamble.
PREFIX_TOKENS = 256
BATCH = 128
CHUNK_TOKENS = 16  # a new thread's own words, about
STEPS = 4  # single-token steps timed after the chunk (and of all sequences at once)
SEQUENCES = 4  # decoding at once in the batched steps (the default OFFLINE_ASSISTANTS_PARALLEL)
BATCH_PREFIX = 32  # each further sequence's own prefix before the steps of all of them
ROUNDS = 2  # the timed part is repeated this often over the same prefix; the best counts
# A path is taken over the one taken so far only where it takes under this share of its time.
MARGIN = 0.9
RULE = "batch4-chain-kv"
# The KV cache's element types, as ggml numbers them (ggml.h's enum ggml_type)
KV_TYPES = {"f16": 1, "bf16": 30}


@dataclass(frozen=True)
class AttentionPath:
    """One way for llama.cpp to attend: its flash-attention kernel or plain matrix
    products, over a KV cache of ``kv_type`` (a key of ``KV_TYPES``)."""

    flash: bool
    kv_type: str = "f16"

    @property
    def name(self) -> str:
        """``flash/f16``, ``plain/bf16``...: how the record and the settings say it."""
        return f"{'flash' if self.flash else 'plain'}/{self.kv_type}"

    @classmethod
    def named(cls, name: object) -> AttentionPath | None:
        """The path ``name`` names, or None."""
        return next((path for path in PATHS if path.name == name), None)


# In the order they are tried: llama-server's choice first, the same kernel over a BF16
# cache next, then the plain path; a later path must be clearly faster to be taken.
PATHS = (
    AttentionPath(True, "f16"),
    AttentionPath(True, "bf16"),
    AttentionPath(False, "f16"),
    AttentionPath(False, "bf16"),
)

# (library, model pointer, threads, path, sequences) -> seconds for the timed part
Timer = Callable[[ModuleType, Any, int, AttentionPath, int], float]


def default_record() -> Path:
    """Where the measured choices are kept: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("offline-assistants")) / "attention.json"


def allowed(flash: str = "auto", kv_type: str = "auto") -> list[AttentionPath]:
    """The paths the settings leave open (``flash``: auto, on, off; ``kv_type``: auto or
    a key of ``KV_TYPES``), in ``PATHS``' order."""
    return [
        path
        for path in PATHS
        if flash in ("auto", "on" if path.flash else "off") and kv_type in ("auto", path.kv_type)
    ]


def attention_path(
    lib: ModuleType,
    model: Any,
    path: Path,
    n_threads: int,
    flash: str = "auto",
    kv_type: str = "auto",
    record: Path | None = None,
    timer: Timer | None = None,
) -> AttentionPath:
    """How the engine for the model file ``path`` (``model``: its llama_model pointer)
    attends: the one path the settings leave, or, where they leave several, the one
    ``record`` remembers or a measurement finds (then remembered there)."""
    paths = allowed(flash, kv_type)
    if len(paths) == 1:
        return paths[0]
    version = str(getattr(lib, "__version__", ""))
    # RULE names the measurement and the tie-break, and the settings which paths were
    # timed: answers found another way, or among other paths, are not used
    open_to = ",".join(p.name for p in paths)
    key = "|".join((model_identity(path), _cpu_name(), str(n_threads), version, RULE, open_to))
    known = AttentionPath.named(_read(record).get(key))
    if known in paths:
        return known
    measure = timer or _timed
    seconds = _apart(lambda: [measure(lib, model, n_threads, p, SEQUENCES) for p in paths])
    chosen = _pick(paths, seconds)
    if record is not None:
        _write(record, {**_current(_read(record)), key: chosen.name})
    return chosen


def _pick(paths: list[AttentionPath], seconds: list[float]) -> AttentionPath:
    """The first path, unless a later one takes under ``MARGIN`` of the time of the one
    taken so far (then that one, and so on down the list)."""
    chosen, best = paths[0], seconds[0]
    for path, took in zip(paths[1:], seconds[1:], strict=True):
        if took < MARGIN * best:
            chosen, best = path, took
    return chosen


def _apart(timings: Callable[[], Iterable[float]]) -> list[float]:
    """The timings, decoded on a thread of their own that ends with them: llama.cpp's CPU
    code runs its threads as OpenMP teams, one per calling thread, and libgomp keeps a
    team alive as long as the thread that called it. A second team beside the model's
    thread puts more threads in the process than it has cores, and libgomp then makes
    every team's waits sleep instead of spin, for good: a 64-token run took 0.70 s
    after the timing had run on the loading thread, 0.49 s after it ran on a thread of
    its own (AMD EPYC, 2 cores)."""
    found: list[float] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            found.extend(timings())
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=work, name="attention-timing")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return found


def _current(known: dict[str, Any]) -> dict[str, Any]:
    """The answers whose model file is still there as it was measured (a key starts with
    the file's identity: path, size and modification time)."""
    kept = {}
    for key, answer in known.items():
        identity = key.split("|", 1)[0]
        path = identity.rsplit(":", 2)[0]
        try:
            if model_identity(Path(path)) == identity:
                kept[key] = answer
        except OSError:
            continue  # gone
    return kept


def _timed(
    lib: ModuleType, model: Any, n_threads: int, path: AttentionPath, sequences: int = 1
) -> float:
    """Seconds for a prompt chunk and ``STEPS`` single tokens after ``PREFIX_TOKENS``,
    then ``STEPS`` steps of all ``sequences`` at once (each after a short prefix of its
    own, in a stream of its own, as the engine's context holds them), the best of
    ``ROUNDS``; infinite where this path cannot be set up."""
    params = lib.llama_context_default_params()
    params.n_ctx = 2 * PREFIX_TOKENS * sequences
    params.n_batch = params.n_ubatch = BATCH
    params.n_seq_max = sequences
    params.kv_unified = False
    params.n_threads = params.n_threads_batch = n_threads
    configure(lib, params, path)
    ctx = lib.llama_init_from_model(model, params)
    if not ctx:
        return float("inf")
    batch = DecodeBatch(lib, max(BATCH, sequences))
    vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
    token = min(1000, vocab - 1)  # any ordinary token: the time does not depend on which
    best = float("inf")
    memory = lib.llama_get_memory(ctx)
    try:
        for start in range(0, PREFIX_TOKENS, BATCH):
            _decode(batch, ctx, token, start, min(BATCH, PREFIX_TOKENS - start))
        for seq in range(1, sequences):
            _decode(batch, ctx, token, 0, BATCH_PREFIX, seq)
        after = PREFIX_TOKENS + CHUNK_TOKENS + STEPS
        for _ in range(ROUNDS):
            lib.llama_memory_seq_rm(memory, 0, PREFIX_TOKENS, -1)
            for seq in range(1, sequences):
                lib.llama_memory_seq_rm(memory, seq, BATCH_PREFIX, -1)
            started = time.perf_counter()
            _decode(batch, ctx, token, PREFIX_TOKENS, CHUNK_TOKENS)
            for step in range(STEPS):
                _decode(batch, ctx, token, PREFIX_TOKENS + CHUNK_TOKENS + step, 1)
            for step in range(STEPS if sequences > 1 else 0):
                batch.clear()
                for seq in range(sequences):
                    position = (after if seq == 0 else BATCH_PREFIX) + step
                    batch.add(token, position, seq, True)
                batch.decode(ctx)
            best = min(best, time.perf_counter() - started)
        return best
    except Exception:  # noqa: BLE001 - a path that fails here is never the faster one
        return float("inf")
    finally:
        batch.close()
        lib.llama_free(ctx)


def configure(lib: ModuleType, params: Any, path: AttentionPath) -> None:
    """Set llama context parameters ``params`` to attend as ``path`` says."""
    params.flash_attn_type = (
        lib.LLAMA_FLASH_ATTN_TYPE_AUTO if path.flash else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    params.type_k = params.type_v = KV_TYPES[path.kv_type]


def _decode(batch: DecodeBatch, ctx: Any, token: int, start: int, count: int, seq: int = 0) -> None:
    batch.clear()
    for position in range(start, start + count):
        batch.add(token, position, seq, position == start + count - 1)
    batch.decode(ctx)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()} x{os.cpu_count()}"


def _read(record: Path | None) -> dict[str, Any]:
    if record is None:
        return {}
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measured again and written anew
    return known if isinstance(known, dict) else {}


def _write(record: Path, known: dict[str, Any]) -> None:
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        temporary = record.with_name(f"{record.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(known, indent=1, sort_keys=True))
        temporary.replace(record)
    except OSError:
        pass  # a read-only cache: measured again next time, nothing else lost
