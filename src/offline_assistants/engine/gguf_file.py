"""GGUF files on disk: is this one, and read it once with a progress bar before loading.

:mod:`.llama` calls both before llama.cpp maps the file; :mod:`.engine_cache` checks the
files that model names resolve to. Neither needs llama.cpp.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from ..errors import ModelFileError

GGUF_MAGIC = b"GGUF"


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


def read_with_progress(path: Path, label: str) -> None:
    """Read the file once with a progress bar, so the memory-mapped load that follows is fast."""
    size = path.stat().st_size
    with (
        path.open("rb") as handle,
        tqdm(total=size, unit="B", unit_scale=True, desc=label, leave=False) as bar,
    ):
        while block := handle.read(8 << 20):
            bar.update(len(block))
