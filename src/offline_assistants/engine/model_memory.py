"""How much memory a loaded model takes, and how much the loaded models may take together.

:class:`~.models.EngineCache` keeps several models loaded within
``Settings.memory_budget`` (``OFFLINE_ASSISTANTS_MEMORY_BUDGET_MB``; default: half of this
machine's memory): loading one that would pass it first unloads the least recently used
models no run is using, and waits for a run to finish rather than unload the model it
generates with. :func:`model_bytes` estimates one model from its GGUF header (read
without llama.cpp): the weights (the file), the KV cache of ``parallel`` windows of
``n_ctx`` tokens at 16 bits, and the compute buffers.
"""

from __future__ import annotations

import os
from pathlib import Path

from .gguf_metadata import GGUFError, read_metadata

# llama.cpp's compute buffers and the runtime's own per-model state, roughly
OVERHEAD_BYTES = 128 << 20
BUDGET_SHARE = 0.5  # of physical memory, when no budget is set
MAX_LOADED = 16  # models loaded at once, however small


def physical_memory() -> int:
    """This machine's memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def default_budget() -> int:
    """Half of physical memory; 8 GiB where it cannot be read."""
    total = physical_memory()
    return int(total * BUDGET_SHARE) if total else 8 << 30


def model_bytes(path: Path, n_ctx: int, parallel: int) -> int:
    """The memory ``path`` takes loaded with ``parallel`` windows of ``n_ctx`` tokens."""
    try:
        weights = path.stat().st_size
    except OSError:
        return OVERHEAD_BYTES
    try:
        metadata = read_metadata(path)
    except (OSError, GGUFError):
        return weights + OVERHEAD_BYTES  # llama.cpp will say what is wrong when it loads
    arch = str(metadata.get("general.architecture") or "")

    def number(key: str, fallback: int = 0) -> int:
        value = metadata.get(f"{arch}.{key}")
        return value if isinstance(value, int) else fallback

    layers = number("block_count")
    heads = number("attention.head_count", 1) or 1
    kv_heads = number("attention.head_count_kv", heads)
    head_size = number("embedding_length") // heads
    per_token = (
        layers
        * kv_heads
        * (number("attention.key_length", head_size) + number("attention.value_length", head_size))
    )
    window = min(n_ctx, number("context_length", n_ctx) or n_ctx)
    return weights + per_token * window * max(1, parallel) * 2 + OVERHEAD_BYTES
