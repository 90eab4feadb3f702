"""llama.cpp's own C++ server as a benchmark peer, built from the llama.cpp that
llama-cpp-python vendors, so both sides run the same kernels on the same file.

A user who leaves this project for "llama.cpp's own server" runs ``llama-server``:
continuous batching, ``cache_prompt`` and prompt-prefix reuse across requests on by
default. The benchmarks that compare against it (``new_threads``, ``parallel_runs``,
``cold_start``) call :func:`binary`, which builds it once into a cache outside the
repository (``~/.cache/offline-assistants/llama-server/<llama-cpp-python version>``),
and :class:`CppLlamaServer` to run it on 127.0.0.1. The build is benchmark-only: the
runtime never needs it and set-up does not make it.

    .venv/bin/python benchmarks/llama_server.py     # build it (about 10 minutes on 2 cores)

The source is llama-cpp-python's sdist, fetched by ``pip download --no-binary`` (a
package registry, like every other download here). The build mirrors set-up's wheel:
native CPU code, without AMX where the CPU has it, no curl, no TLS, no web UI.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.servers import SERVED_NAME, _Process  # noqa: E402


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    version = importlib.metadata.version("llama-cpp-python")
    return base / "offline-assistants" / "llama-server" / version


def _cmake_flags() -> list[str]:
    flags = [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_CURL=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_SERVER=ON",
        "-DLLAMA_BUILD_UI=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF",
    ]
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and " amx_int8" in cpuinfo.read_text():  # as scripts/setup does
        flags += ["-DCMAKE_C_FLAGS=-U__AMX_INT8__", "-DCMAKE_CXX_FLAGS=-U__AMX_INT8__"]
    return flags


def binary() -> Path:
    """The ``llama-server`` executable, built first if the cache lacks it."""
    target = cache_dir() / "llama-server"
    if target.is_file():
        return target
    version = importlib.metadata.version("llama-cpp-python")
    cores = str(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        print(f"llama-server: fetching llama-cpp-python {version}'s source", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["--no-binary", ":all:", f"llama-cpp-python=={version}", "-d", str(work)],
            check=True,
        )
        (sdist,) = work.glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        source = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
        build = work / "build"
        print(f"llama-server: building it on {cores} cores (once)", file=sys.stderr)
        subprocess.run(["cmake", "-S", source, "-B", build, *_cmake_flags()], check=True)
        subprocess.run(
            ["cmake", "--build", build, "--target", "llama-server", "-j", cores], check=True
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "bin" / "llama-server", target.with_suffix(".partial"))
        target.with_suffix(".partial").replace(target)
    return target


class CppLlamaServer(_Process):
    """``llama-server`` serving ``model`` as ``SERVED_NAME``: ``parallel`` slots of
    ``n_ctx`` tokens each, continuous batching and prompt caching at their defaults."""

    ready_path = "/health"

    def __init__(
        self,
        model: Path,
        log: Path,
        n_ctx: int = 2048,
        parallel: int = 1,
        threads: int = 2,
        flash_attention: str = "auto",
        kv_type: str = "f16",
    ) -> None:
        super().__init__(log)
        self.model = model
        self.n_ctx = n_ctx
        self.parallel = parallel
        self.threads = threads
        self.flash_attention = flash_attention  # llama-server's --flash-attn: on, off, auto
        self.kv_type = kv_type  # its --cache-type-k and -v: f16 (its default), bf16...

    def command(self) -> list[str]:
        return [
            str(binary()),
            "--model", str(self.model), "--alias", SERVED_NAME,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--ctx-size", str(self.n_ctx * self.parallel), "--parallel", str(self.parallel),
            "--threads", str(self.threads), "--threads-batch", str(self.threads),
            "--flash-attn", self.flash_attention, "--no-webui",
            "--cache-type-k", self.kv_type, "--cache-type-v", self.kv_type,
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    print(binary())


if __name__ == "__main__":
    main()
