"""How llama.cpp attends (flash attention or not, an F16 or BF16 KV cache): fixed by the
settings, else timed once and remembered.

The choice itself is made with the real model and llama.cpp (each path timed in a
context of its own); the bookkeeping around it (fixed settings, the record read back,
a record that cannot be read, the tie-break) is checked with a timer that says which
path is faster.
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
from offline_assistants.engine.attention import PATHS, AttentionPath, attention_path
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.prefix_cache import PrefixCache

LIB = SimpleNamespace(__version__="test")  # no library call is made when a timer is given


FLASH_F16, PLAIN_F16, FLASH_BF16 = PATHS
PLAIN_BF16 = AttentionPath(False, "bf16")  # never timed: only the settings fix it


def _timer(seconds: dict[str, float], calls: list[str]) -> Any:
    """A timer that says each path (by name) takes ``seconds[name]``."""

    def timed(
        lib: ModuleType, model: Any, threads: int, path: AttentionPath, sequences: int
    ) -> float:
        calls.append(path.name)
        return seconds[path.name]

    return timed


def _flash_or_plain(flash_seconds: float, plain_seconds: float, calls: list[str]) -> Any:
    return _timer({"flash/f16": flash_seconds, "plain/f16": plain_seconds}, calls)


def _never(lib: ModuleType, model: Any, threads: int, path: AttentionPath, sequences: int) -> float:
    raise AssertionError("measured although the answer was known")


def _choose(path: Path, threads: int, record: Path, timer: Any, flash: str = "auto",
            kv_type: str = "f16") -> AttentionPath:  # fmt: skip
    return attention_path(LIB, None, path, threads, flash, kv_type, record, timer=timer)


def test_fixed_settings_are_never_measured(model_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "attention.json"
    for flash, kv_type, expected in (
        ("on", "f16", FLASH_F16),
        ("off", "f16", PLAIN_F16),
        ("on", "bf16", FLASH_BF16),
        ("off", "bf16", PLAIN_BF16),
    ):
        assert _choose(model_path, 2, record, _never, flash, kv_type) == expected
    assert not record.exists()


def test_auto_takes_the_faster_path_and_remembers_it(model_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "cache" / "attention.json"
    calls: list[str] = []
    slow_flash = _flash_or_plain(0.2, 0.1, calls)
    assert _choose(model_path, 2, record, slow_flash) == PLAIN_F16
    assert sorted(calls) == ["flash/f16", "plain/f16"]  # both paths timed once
    assert list(json.loads(record.read_text()).values()) == ["plain/f16"]
    # known now: not measured again, even by a timer that would say otherwise
    assert _choose(model_path, 2, record, _never) == PLAIN_F16
    # another thread count is another question, kept beside the first
    fast_flash = _flash_or_plain(0.1, 0.2, [])
    assert _choose(model_path, 1, record, fast_flash) == FLASH_F16
    assert sorted(json.loads(record.read_text()).values()) == ["flash/f16", "plain/f16"]
    # a record that cannot be read is measured again and written anew
    record.write_text("{not json")
    assert _choose(model_path, 2, record, fast_flash) == FLASH_F16
    assert list(json.loads(record.read_text()).values()) == ["flash/f16"]


def test_a_near_tie_takes_flash_attention(model_path: Path, tmp_path: Path) -> None:
    """The plain path 5% faster is within one measurement's noise: flash attention
    (llama-server's choice, and the faster one once a run's own thread works beside the
    model's) stays, so the next measurement cannot flip every greedy answer; the plain
    path 15% faster is taken."""
    record = tmp_path / "attention.json"
    assert _choose(model_path, 2, record, _flash_or_plain(0.1, 0.095, [])) == FLASH_F16
    assert _choose(model_path, 1, record, _flash_or_plain(0.1, 0.085, [])) == PLAIN_F16


def test_with_both_open_each_path_is_timed_and_a_later_one_must_be_clearly_faster(
    model_path: Path, tmp_path: Path
) -> None:
    """The three paths are timed; down the list (flash/f16, llama-server's; plain/f16;
    flash/bf16) a path is taken only where it takes under 0.9 of the time of the one
    taken so far. So flash attention over BF16 20% faster than both F16 paths is taken,
    but not where it is only 5% faster than the plain path (a near tie keeps the
    default type); 15% faster than that, it is."""
    record = tmp_path / "attention.json"
    calls: list[str] = []
    seconds = {"flash/f16": 0.24, "plain/f16": 0.26, "flash/bf16": 0.19}
    assert _choose(model_path, 2, record, _timer(seconds, calls), kv_type="auto") == FLASH_BF16
    assert sorted(calls) == ["flash/bf16", "flash/f16", "plain/f16"]
    seconds["plain/f16"] = 0.18
    assert _choose(model_path, 1, record, _timer(seconds, []), kv_type="auto") == PLAIN_F16
    seconds["flash/bf16"] = 0.15
    assert _choose(model_path, 3, record, _timer(seconds, []), kv_type="auto") == FLASH_BF16
    # one setting fixed: only the paths it leaves are timed, and that is another question
    calls.clear()
    assert _choose(model_path, 2, record, _timer(seconds, calls), "on", "auto") == FLASH_BF16
    assert sorted(calls) == ["flash/bf16", "flash/f16"]
    # the plain path over BF16 is never timed: with flash attention off, F16 it is
    assert _choose(model_path, 2, record, _never, "off", "auto") == PLAIN_F16
    assert len(json.loads(record.read_text())) == 4
    # a record naming a path the settings leave open is read back as that path
    assert _choose(model_path, 2, record, _never, "auto", "auto") == FLASH_BF16


def test_the_timing_decodes_a_batch_whatever_the_engines_parallel(
    model_path: Path, tmp_path: Path
) -> None:
    """Each path is timed with four sequences decoding at once after the one-sequence
    part (the plain path can win on one and only tie on several), and the answer is one
    per model and machine: engines of any ``parallel`` answer alike."""
    record = tmp_path / "attention.json"
    asked: list[int] = []

    def timed(
        lib: ModuleType, model: Any, threads: int, path: AttentionPath, sequences: int
    ) -> float:
        asked.append(sequences)
        return 0.1

    assert _choose(model_path, 2, record, timed) == FLASH_F16
    assert asked == [4, 4] and len(json.loads(record.read_text())) == 1


def test_answers_for_model_files_gone_or_changed_are_dropped(
    model_path: Path, tmp_path: Path
) -> None:
    """The record does not grow with every copy of a model that ever was: a write keeps
    only the answers whose file is still there, unchanged."""
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(b"GGUF" + b"\0" * 64)
    record = tmp_path / "attention.json"
    _choose(copy, 2, record, _flash_or_plain(0.1, 0.2, []))
    copy.unlink()
    (tmp_path / "changed.gguf").write_bytes(b"GGUF")
    changed = tmp_path / "changed.gguf"
    _choose(changed, 2, record, _flash_or_plain(0.1, 0.2, []))
    changed.write_bytes(b"GGUF and more")  # another size: another file now
    _choose(model_path, 2, record, _flash_or_plain(0.2, 0.1, []))
    kept = json.loads(record.read_text())
    assert len(kept) == 1 and next(iter(kept)).startswith(str(model_path.resolve()))


def test_the_timing_leaves_no_threads_behind(model_path: Path, tmp_path: Path) -> None:
    """The paths are timed on a thread of their own: llama.cpp's OpenMP team for the
    thread that decodes outlives the call, and a second team beside the model's thread
    makes libgomp put every team's waits to sleep for good (a run ~30% slower after)."""
    import llama_cpp

    def threads() -> int:
        return len(list(Path("/proc/self/task").iterdir()))

    model = llama_cpp.Llama(model_path=str(model_path), n_ctx=256, verbose=False)
    try:
        before = threads()
        attention_path(llama_cpp, model._model.model, model_path, 2, record=tmp_path / "a.json")
        deadline = time.monotonic() + 5
        while threads() > before and time.monotonic() < deadline:
            time.sleep(0.05)  # the timing thread's own team ends with it
        assert threads() <= before
        assert len(json.loads((tmp_path / "a.json").read_text())) == 1  # it was measured
    finally:
        model.close()


def test_the_engine_times_the_paths_with_the_real_model(model_path: Path, tmp_path: Path) -> None:
    """A real measurement: every path runs here, the answer is recorded, and the engine's
    context and saved-state identity follow it; a fixed setting wins over the record."""
    record = tmp_path / "attention.json"
    engine = LlamaEngine(
        model_path,
        n_threads=2,
        n_ctx=1024,
        progress=False,
        flash_attention="auto",
        kv_cache_type="auto",
        attention_record=record,
        prefix_cache=PrefixCache(tmp_path / "kv"),
    )
    try:
        (chosen,) = json.loads(record.read_text()).values()
        assert engine.attention.name == chosen and engine.attention in PATHS
        layout = "flash-attn-auto" if engine.attention.flash else "attn-plain"
        if engine.attention.kv_type != "f16":
            layout += f"-kv-{engine.attention.kv_type}"
        assert engine.kv_layout == layout
        assert engine._slots._model_id.split(":")[-2] == engine.kv_layout
        prompt = engine.prompt_tokens([ChatMessage("user", "What is the capital of France?")])
        stream = engine.generate(prompt, max_tokens=8, sampling=Sampling(temperature=0.0))
        assert "".join(stream).strip() and stream.completion_tokens > 0  # it generates
    finally:
        engine.close()
    other = "off" if engine.attention.flash else "on"
    fixed = LlamaEngine(
        model_path,
        n_threads=2,
        n_ctx=1024,
        progress=False,
        flash_attention=other,
        kv_cache_type=engine.attention.kv_type,
        attention_record=record,
    )
    try:
        assert fixed.flash_attention is not engine.attention.flash  # the setting wins
        assert fixed.kv_layout != engine.kv_layout
    finally:
        fixed.close()


def _prompt_logits(model_path: Path, tmp_path: Path, kv_type: str, name: str) -> bytes:
    """The logits after one prompt, as an engine over a ``kv_type`` cache evaluated it
    (kept in its slot with the prompt's state)."""
    engine = LlamaEngine(
        model_path,
        n_threads=2,
        n_ctx=1024,
        progress=False,
        flash_attention="on",
        kv_cache_type=kv_type,
        prefix_cache=PrefixCache(tmp_path / name),
    )
    try:
        history = [ChatMessage("system", "Answer briefly. " * 20),
                   ChatMessage("user", "Why is the sky blue?")]  # fmt: skip
        prompt = engine.prompt_tokens(history)
        stream = engine.generate(prompt, max_tokens=1, sampling=Sampling(temperature=0.0))
        "".join(stream)
        deadline = time.monotonic() + 10  # the model's thread releases the slot after the end
        while time.monotonic() < deadline:
            kept = [s.logits for s in engine._slots.slots if not s.busy and s.logits]
            if kept:
                return kept[0]
            time.sleep(0.01)
        raise AssertionError("the prompt's logits were not kept")
    finally:
        engine.close()


def test_the_kv_cache_type_reaches_llama_cpp(model_path: Path, tmp_path: Path) -> None:
    """A BF16 cache holds the prompt's keys and values rounded otherwise than an F16 one:
    the logits after the same prompt differ (slightly), while two BF16 engines evaluate
    it bit for bit alike."""
    import numpy as np

    bf16 = _prompt_logits(model_path, tmp_path, "bf16", "a")
    assert bf16 == _prompt_logits(model_path, tmp_path, "bf16", "b")
    f16 = _prompt_logits(model_path, tmp_path, "f16", "c")
    assert f16 != bf16
    ours, theirs = np.frombuffer(bf16, np.float32), np.frombuffer(f16, np.float32)
    assert ours.argmax() == theirs.argmax()  # the same model, rounded otherwise
    assert np.abs(ours - theirs).max() < 0.05 * np.abs(theirs).max()


def test_an_unknown_setting_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLINE_ASSISTANTS_FLASH_ATTENTION", "fast")
    with pytest.raises(ValueError, match="'fast': use one of auto, on, off"):
        Settings.from_env()
    monkeypatch.setenv("OFFLINE_ASSISTANTS_FLASH_ATTENTION", "off")
    assert Settings.from_env().flash_attention == "off"
    monkeypatch.setenv("OFFLINE_ASSISTANTS_KV_CACHE_TYPE", "q4_0")
    with pytest.raises(ValueError, match="KV_CACHE_TYPE 'q4_0': use one of auto, f16, bf16"):
        Settings.from_env()
    monkeypatch.setenv("OFFLINE_ASSISTANTS_KV_CACHE_TYPE", "bf16")
    assert Settings.from_env().kv_cache_type == "bf16"
