"""How llama.cpp attends: flash attention or not, and the KV cache's element type.

llama.cpp attends either with its fused flash-attention kernel or with plain matrix
products, and keeps the KV cache in F16 (its default) or BF16 (F32's range, fewer
mantissa bits). Which is faster depends on the CPU and on how long the thread is. On
one machine of ours flash attention decoded eight sequences ~20% faster. On another (an
AVX-512 Xeon with BF16 instructions; benchmarks/attention_paths.py) flash attention over
F16 took 70 ms over a 13-token prompt chunk after 300 tokens against 39 for the plain
path; over a BF16 cache the same kernel took 42 and decoded eight short sequences 20%
faster than the plain path, but its cost grows with the tokens attended over ten times
as fast: a 13-token chunk after 2,000 tokens took 2.3 times the plain path's. A BF16
cache moves the model's next-token distributions no further from an F32 cache's than
F16 does. llama-server takes flash attention over F16 wherever it can; llama-cpp-python
leaves flash attention off.

With ``auto`` (the default, for either setting) :func:`attention_path` times each path
the settings leave open (``PATHS``) once per model file, thread count, CPU and llama.cpp
build, in a small context of its own, the best of two tries each (:func:`_timed`, about
2 s a path, once): a new thread's part (a 16-token chunk and four single steps after a
256-token preamble), a long thread's (the same after 2,048 tokens, carried on from 512
at the cost per token measured in between), and several runs' (four steps of four
sequences at once: the batch several runs decode, whatever the engine's own
``parallel``: the choice rounds every logit, so engines of one model on one machine
all make the same one and answer alike). The paths are tried in ``PATHS``' order,
llama-server's first, BF16 last, and a later one is taken only where it is clearly
faster than the one taken so far (``MARGIN``). A near tie keeps the earlier: timed alone the two
attention kernels tie on one sequence on an AMD EPYC, yet a run there, whose own thread
works beside the model's, took 0.50 s with flash attention and 0.62 s without (64
tokens), and eight sequences decoded ~20% faster; the fused kernel has fewer points
where llama.cpp's threads wait for each other. A tie needs a margin either way:
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
from tqdm import tqdm

from .decode_batch import DecodeBatch
from .prefix_cache import model_identity

# The flash kernel's cost grows with the tokens attended over, on one CPU ten times as
# fast as the plain path's (a 20-token chunk after 300 tokens: 57 against 49 ms; after
# 2,000: 177 against 78); so a new thread's part attends over a realistic preamble and a
# long thread's over LONG_TOKENS, carried on from FURTHER_TOKENS.
PREFIX_TOKENS = 256
FURTHER_TOKENS = 512
LONG_TOKENS = 2048
BATCH = 128
CHUNK_TOKENS = 16  # a new thread's own words, about
STEPS = 4  # single-token steps timed after the chunk (and of all sequences at once)
SEQUENCES = 4  # decoding at once in the batched steps (the default OFFLINE_ASSISTANTS_PARALLEL)
BATCH_PREFIX = 32  # each further sequence's own prefix before the steps of all of them
ROUNDS = 2  # the timed part is repeated this often over the same prefix; the best counts
# A path is taken over the one taken so far only where it takes under this share of its time.
MARGIN = 0.9
RULE = "batch4-long2048-chain-kv"
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
        """The path ``name`` names (``flash/bf16``...), or None."""
        kernel, _, kv_type = str(name).partition("/")
        if kernel not in ("flash", "plain") or kv_type not in KV_TYPES:
            return None
        return cls(kernel == "flash", kv_type)


# Timed in this order where the settings leave the choice open, and a later path must be
# clearly faster than the one taken so far to be taken: llama-server's first, then the
# plain path, both over llama.cpp's default F16; then flash attention over BF16, which on
# some CPUs reads its keys and values much faster (the kernel converts them a row at a
# time) and is taken only where clearly faster than both (on a Xeon it came within
# 5-20% of the plain path, by the run: a near tie keeps the default type). The plain
# path's matrix products gain nothing from BF16: plain/bf16 is there for the settings
# to fix, never timed.
PATHS = (
    AttentionPath(True, "f16"),
    AttentionPath(False, "f16"),
    AttentionPath(True, "bf16"),
)

# (library, model pointer, threads, path, sequences) -> seconds for the timed part
Timer = Callable[[ModuleType, Any, int, AttentionPath, int], float]


def default_record() -> Path:
    """Where the measured choices are kept: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("offline-assistants")) / "attention.json"


def allowed(flash: str = "auto", kv_type: str = "auto") -> list[AttentionPath]:
    """The paths the settings leave open (``flash``: auto, on, off; ``kv_type``: auto or
    a key of ``KV_TYPES``): the one they name where both are fixed, else those of
    ``PATHS`` they allow, in its order."""
    if flash != "auto" and kv_type != "auto":
        return [AttentionPath(flash == "on", kv_type)]
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
    progress: bool = False,
) -> AttentionPath:
    """How the engine for the model file ``path`` (``model``: its llama_model pointer)
    attends: the one path the settings leave, or, where they leave several, the one
    ``record`` remembers or a measurement finds (then remembered there; with
    ``progress``, a bar shows the paths timed)."""
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
    label = "Timing llama.cpp's attention paths (once for this model and CPU)"
    timing = tqdm(paths, desc=label, unit="path", leave=False, disable=not progress)
    seconds = _apart(lambda: [measure(lib, model, n_threads, p, SEQUENCES) for p in timing])
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
    """Seconds for what three kinds of run ask of ``path``, the best of ``ROUNDS`` each:

    - a new thread: a prompt chunk and ``STEPS`` single tokens after ``PREFIX_TOKENS``;
    - a long thread: the same after ``LONG_TOKENS``, carried on from the same after
      ``FURTHER_TOKENS`` at the cost per token attended over measured between the two
      (evaluating a long prefix for real would cost seconds a path, once per path);
    - several runs: ``STEPS`` steps of all ``sequences`` at once, each after a short
      prefix of its own, in a stream of its own, as the engine's context holds them.

    Infinite where this path cannot be set up."""
    params = lib.llama_context_default_params()
    params.n_ctx = 2 * FURTHER_TOKENS * sequences
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
    memory = lib.llama_get_memory(ctx)

    def alone(prefix: int) -> float:
        """A chunk and single steps after ``prefix`` tokens (evaluated) of sequence 0."""
        lib.llama_memory_seq_rm(memory, 0, prefix, -1)
        started = time.perf_counter()
        _decode(batch, ctx, token, prefix, CHUNK_TOKENS)
        for step in range(STEPS):
            _decode(batch, ctx, token, prefix + CHUNK_TOKENS + step, 1)
        return time.perf_counter() - started

    def together() -> float:
        """Steps of every sequence at once, after sequence 0's chunk and steps."""
        started = time.perf_counter()
        for step in range(STEPS if sequences > 1 else 0):
            batch.clear()
            for seq in range(sequences):
                after = PREFIX_TOKENS + CHUNK_TOKENS + STEPS if seq == 0 else BATCH_PREFIX
                batch.add(token, after + step, seq, True)
            batch.decode(ctx)
        return time.perf_counter() - started

    try:
        for start in range(0, PREFIX_TOKENS, BATCH):
            _decode(batch, ctx, token, start, min(BATCH, PREFIX_TOKENS - start))
        for seq in range(1, sequences):
            _decode(batch, ctx, token, 0, BATCH_PREFIX, seq)
        new, several = float("inf"), float("inf")
        for _ in range(ROUNDS):
            for seq in range(1, sequences):
                lib.llama_memory_seq_rm(memory, seq, BATCH_PREFIX, -1)
            new = min(new, alone(PREFIX_TOKENS))
            several = min(several, together())
        lib.llama_memory_seq_rm(memory, 0, PREFIX_TOKENS, -1)
        for start in range(PREFIX_TOKENS, FURTHER_TOKENS, BATCH):
            _decode(batch, ctx, token, start, min(BATCH, FURTHER_TOKENS - start))
        further = min(alone(FURTHER_TOKENS) for _ in range(ROUNDS))
        per_token = max(0.0, further - new) / (FURTHER_TOKENS - PREFIX_TOKENS)
        long = further + per_token * (LONG_TOKENS - FURTHER_TOKENS)
        return new + long + several
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
