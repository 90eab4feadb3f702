"""Flash attention or not: fixed by the setting, else timed once and remembered.

The choice itself is made with the real model and llama.cpp (both paths timed in a
context of their own); the bookkeeping around it (fixed settings, the record read back,
a record that cannot be read) is checked with a timer that says which path is faster.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, Sampling
from offline_assistants.engine.attention import flash_attention
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.prefix_cache import PrefixCache

LIB = SimpleNamespace(__version__="test")  # no library call is made when a timer is given


def _timer(flash_seconds: float, plain_seconds: float, calls: list[bool]) -> Any:
    def timed(lib: ModuleType, model: Any, threads: int, flash: bool, sequences: int) -> float:
        calls.append(flash)
        return flash_seconds if flash else plain_seconds

    return timed


def _never(lib: ModuleType, model: Any, threads: int, flash: bool, sequences: int) -> float:
    raise AssertionError("measured although the answer was known")


def test_a_fixed_setting_is_never_measured(model_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "attention.json"
    for setting, expected in (("on", True), ("off", False)):
        chosen = flash_attention(LIB, None, model_path, 2, setting, record, timer=_never)  # type: ignore[arg-type]
        assert chosen is expected
    assert not record.exists()


def test_auto_takes_the_faster_path_and_remembers_it(model_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "cache" / "attention.json"
    calls: list[bool] = []
    slow_flash = _timer(0.2, 0.1, calls)
    assert flash_attention(LIB, None, model_path, 2, "auto", record, timer=slow_flash) is False  # type: ignore[arg-type]
    assert sorted(calls) == [False, True]  # both paths timed once
    assert list(json.loads(record.read_text()).values()) == [False]
    # known now: not measured again, even by a timer that would say otherwise
    assert flash_attention(LIB, None, model_path, 2, "auto", record, timer=_never) is False  # type: ignore[arg-type]
    # another thread count is another question, kept beside the first
    fast_flash = _timer(0.1, 0.2, [])
    assert flash_attention(LIB, None, model_path, 1, "auto", record, timer=fast_flash) is True  # type: ignore[arg-type]
    assert sorted(json.loads(record.read_text()).values()) == [False, True]
    # a record that cannot be read is measured again and written anew
    record.write_text("{not json")
    assert flash_attention(LIB, None, model_path, 2, "auto", record, timer=fast_flash) is True  # type: ignore[arg-type]
    assert list(json.loads(record.read_text()).values()) == [True]


def test_a_near_tie_takes_flash_attention(model_path: Path, tmp_path: Path) -> None:
    """The plain path 5% faster is within one measurement's noise: flash attention
    (llama-server's choice, and the faster one once a run's own thread works beside the
    model's) stays, so the next measurement cannot flip every greedy answer; the plain
    path 15% faster is taken."""
    record = tmp_path / "attention.json"
    assert (
        flash_attention(LIB, None, model_path, 2, "auto", record, timer=_timer(0.1, 0.095, []))
        is True
    )  # type: ignore[arg-type]
    assert (
        flash_attention(LIB, None, model_path, 1, "auto", record, timer=_timer(0.1, 0.085, []))
        is False
    )  # type: ignore[arg-type]


def test_the_timing_decodes_a_batch_whatever_the_engines_parallel(
    model_path: Path, tmp_path: Path
) -> None:
    """Both paths are timed with four sequences decoding at once after the one-sequence
    part (the plain path can win on one and only tie on several), and the answer is one
    per model and machine: engines of any ``parallel`` answer alike."""
    record = tmp_path / "attention.json"
    asked: list[int] = []

    def timed(lib: ModuleType, model: Any, threads: int, flash: bool, sequences: int) -> float:
        asked.append(sequences)
        return 0.1

    assert flash_attention(LIB, None, model_path, 2, "auto", record, timer=timed) is True  # type: ignore[arg-type]
    assert asked == [4, 4] and len(json.loads(record.read_text())) == 1


def test_answers_for_model_files_gone_or_changed_are_dropped(
    model_path: Path, tmp_path: Path
) -> None:
    """The record does not grow with every copy of a model that ever was: a write keeps
    only the answers whose file is still there, unchanged."""
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(b"GGUF" + b"\0" * 64)
    record = tmp_path / "attention.json"
    flash_attention(LIB, None, copy, 2, "auto", record, timer=_timer(0.1, 0.2, []))  # type: ignore[arg-type]
    copy.unlink()
    (tmp_path / "changed.gguf").write_bytes(b"GGUF")
    changed = tmp_path / "changed.gguf"
    flash_attention(LIB, None, changed, 2, "auto", record, timer=_timer(0.1, 0.2, []))  # type: ignore[arg-type]
    changed.write_bytes(b"GGUF and more")  # another size: another file now
    flash_attention(LIB, None, model_path, 2, "auto", record, timer=_timer(0.2, 0.1, []))  # type: ignore[arg-type]
    kept = json.loads(record.read_text())
    assert len(kept) == 1 and next(iter(kept)).startswith(str(model_path.resolve()))


def test_the_timing_leaves_no_threads_behind(model_path: Path, tmp_path: Path) -> None:
    """Both paths are timed on a thread of their own: llama.cpp's OpenMP team for the
    thread that decodes outlives the call, and a second team beside the model's thread
    makes libgomp put every team's waits to sleep for good (a run ~30% slower after)."""
    import llama_cpp

    def threads() -> int:
        return len(list(Path("/proc/self/task").iterdir()))

    model = llama_cpp.Llama(model_path=str(model_path), n_ctx=256, verbose=False)
    try:
        before = threads()
        flash_attention(llama_cpp, model._model.model, model_path, 2, "auto", tmp_path / "a.json")
        deadline = time.monotonic() + 5
        while threads() > before and time.monotonic() < deadline:
            time.sleep(0.05)  # the timing thread's own team ends with it
        assert threads() <= before
        assert len(json.loads((tmp_path / "a.json").read_text())) == 1  # it was measured
    finally:
        model.close()


def test_the_engine_times_both_paths_with_the_real_model(model_path: Path, tmp_path: Path) -> None:
    """A real measurement: both paths run here, the answer is recorded, and the engine's
    context and saved-state identity follow it."""
    record = tmp_path / "attention.json"
    engine = LlamaEngine(
        model_path,
        n_threads=2,
        n_ctx=1024,
        progress=False,
        attention_record=record,
        prefix_cache=PrefixCache(tmp_path / "kv"),
    )
    try:
        (chosen,) = json.loads(record.read_text()).values()
        assert engine.flash_attention is chosen
        assert engine.kv_layout == ("flash-attn-auto" if chosen else "attn-plain")
        assert engine._slots._model_id.split(":")[-2] == engine.kv_layout
        prompt = engine.prompt_tokens([ChatMessage("user", "What is the capital of France?")])
        stream = engine.generate(prompt, max_tokens=8, sampling=Sampling(temperature=0.0))
        assert "".join(stream).strip() and stream.completion_tokens > 0  # it generates
    finally:
        engine.close()
    fixed = LlamaEngine(
        model_path,
        n_threads=2,
        n_ctx=1024,
        progress=False,
        flash_attention="off" if chosen else "on",
        attention_record=record,
    )
    try:
        assert fixed.flash_attention is not chosen  # the setting wins over the record
        assert fixed.kv_layout != engine.kv_layout
    finally:
        fixed.close()


def test_an_unknown_setting_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLINE_ASSISTANTS_FLASH_ATTENTION", "fast")
    with pytest.raises(ValueError, match="'fast': use one of auto, on, off"):
        Settings.from_env()
    monkeypatch.setenv("OFFLINE_ASSISTANTS_FLASH_ATTENTION", "off")
    assert Settings.from_env().flash_attention == "off"
