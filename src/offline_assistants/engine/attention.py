"""Flash attention or not: which of llama.cpp's two attention paths runs faster here.

llama.cpp attends either with its fused flash-attention kernel or with plain matrix
products, and which is faster depends on the CPU: on one machine of ours flash
attention decoded eight sequences ~20% faster; on another (an AVX-512 Xeon) it decoded
them 33% slower and took twice as long over a 13-token prompt chunk, the part of a
new thread's first token that is left once its preamble is shared (DEVELOPERS.md).
llama-server turns it on wherever it can; llama-cpp-python leaves it off.

With ``auto`` (the default) :func:`flash_attention` times both ways once per model
file, thread count, CPU and llama.cpp build: a 16-token prompt chunk and four
single-token steps after a 256-token prefix, then four steps of four sequences at once
(the batch that several runs decode, whatever the engine's own ``parallel``: the
choice rounds every logit, so engines of one model on one machine all make the same
one and answer alike), in a small context of its own, the best of two tries each, and
takes flash attention, llama-server's choice, unless the plain path is clearly faster
(``MARGIN``; about 2 s, once). A near tie goes to flash attention: timed alone the two paths
tie on one sequence on an AMD EPYC, yet a run there, whose own thread works beside the
model's, took 0.50 s with flash attention and 0.62 s without (64 tokens), and eight
sequences decoded ~20% faster; the fused kernel has fewer points where llama.cpp's
threads wait for each other. A tie needs a margin either way: otherwise the noise of
one measurement picks the path, and with it the rounding of every logit, so the same
greedy question could get another answer after the next measurement.
The answer goes into a JSON file in the user's cache directory,
so later loads cost nothing; answers for model files that are gone or changed since
are dropped whenever it is written. ``on`` or ``off``
(``OFFLINE_ASSISTANTS_FLASH_ATTENTION``) fix it instead.

The two paths lay the KV cache out differently, so the choice is part of a saved
prefix state's identity (:mod:`.llama`). The library (``llama_cpp``) is handed in:
:mod:`.llama` stays its only importer.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Callable, Iterable
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
# The plain path is taken only where it takes under this share of flash attention's time.
MARGIN = 0.9
RULE = "batch4-tie-flash"

# (library, model pointer, threads, flash attention, sequences) -> seconds for the timed part
Timer = Callable[[ModuleType, Any, int, bool, int], float]


def default_record() -> Path:
    """Where the measured choices are kept: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("offline-assistants")) / "attention.json"


def flash_attention(
    lib: ModuleType,
    model: Any,
    path: Path,
    n_threads: int,
    setting: str = "auto",
    record: Path | None = None,
    timer: Timer | None = None,
) -> bool:
    """Whether the engine for the model file ``path`` (``model``: its llama_model
    pointer) attends with flash attention: as ``setting`` says, or, for ``auto``, as
    ``record`` remembers or a measurement finds (then remembered there)."""
    if setting in ("on", "off"):
        return setting == "on"
    version = str(getattr(lib, "__version__", ""))
    # RULE names the measurement and the tie-break: answers found another way are not used
    key = "|".join((model_identity(path), _cpu_name(), str(n_threads), version, RULE))
    known = _read(record)
    if isinstance(known.get(key), bool):
        return bool(known[key])
    measure = timer or _timed
    flash, plain = _apart(
        lambda: [measure(lib, model, n_threads, path, SEQUENCES) for path in (True, False)]
    )
    faster = not plain < MARGIN * flash
    if record is not None:
        _write(record, {**_current(known), key: faster})
    return faster


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


def _timed(lib: ModuleType, model: Any, n_threads: int, flash: bool, sequences: int = 1) -> float:
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
    params.flash_attn_type = (
        lib.LLAMA_FLASH_ATTN_TYPE_AUTO if flash else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
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
