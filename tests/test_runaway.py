"""Runs with default settings end: the loop stop, DRY, and the default completion budget.

A small model sampled at the API's defaults (temperature 1, top_p 1, no limit) used to
repeat itself until the context window was full. ``benchmarks/run_length.py`` measures
run lengths on everyday requests; these tests pin the mechanisms down.
"""

from __future__ import annotations

from pathlib import Path

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, Sampling
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.repetition import looping

from .fakes import ScriptedEngine


def test_looping_means_a_whole_cycle_repeated() -> None:
    assert looping([7] * 48)
    assert looping([1, 2, 3] * 16) and not looping([1, 2, 3] * 15)  # 48 tokens at least
    assert looping(list(range(40)) * 3)  # a long cycle, three times over
    counting = [t for n in range(100, 400) for t in (*map(int, str(n)), 11, 12)]
    assert not looping(counting)  # "100, 101, 102, ...": a pattern, never a cycle
    assert looping([9, 8, 4] + [4, 5, 6, 7] * 12)  # after other text, and ending mid-word:
    assert looping([4, 5, 6, 7] * 12 + [4, 5])  # the cycle is wherever its tail starts
    assert not looping([4, 5, 6, 7] * 5 + [4, 5, 0, 7] + [4, 5, 6, 7] * 6)  # broken once


def prefilled(engine: LlamaEngine) -> list[int]:
    """A prompt whose answer has begun with a chant: greedy decoding goes on with it."""
    prompt = engine.prompt_tokens([ChatMessage("user", "Sing along with me!")])
    return prompt + engine._llama.tokenize(b"la la la la la la la la la la la la", add_bos=False)


def test_a_repeating_answer_is_stopped(real_engine: LlamaEngine) -> None:
    on = real_engine.generate(
        prefilled(real_engine), max_tokens=300, sampling=Sampling(temperature=0, stop_loops=True)
    )
    text = "".join(on)
    assert on.finish_reason == "stop" and on.completion_tokens < 100 and "la la" in text
    off = real_engine.generate(
        prefilled(real_engine), max_tokens=300, sampling=Sampling(temperature=0)
    )
    "".join(off)
    assert off.finish_reason == "length" and off.completion_tokens == 300


def test_dry_breaks_the_chant(real_engine: LlamaEngine) -> None:
    plain = "".join(
        real_engine.generate(
            prefilled(real_engine), max_tokens=60, sampling=Sampling(temperature=0)
        )
    )
    dry = "".join(
        real_engine.generate(
            prefilled(real_engine),
            max_tokens=60,
            sampling=Sampling(temperature=0, dry_multiplier=0.8),
        )
    )
    assert plain.split() == ["la"] * len(plain.split())
    assert dry.split() != ["la"] * len(dry.split())  # repeating further is penalised


def test_a_run_without_a_budget_gets_the_default_one(tmp_path: Path) -> None:
    engine = ScriptedEngine(["word " * 3000, "word " * 300], chunk=5)  # 3000, then 300 tokens
    with Client(
        settings=Settings.from_env(data_dir=tmp_path / "d"), engine_factory=lambda p: engine
    ) as client:
        assistant = client.beta.assistants.create(model="default")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Go"}]}
        )
        assert run.max_completion_tokens == client.settings.max_completion_tokens == 1024
        assert run.status == "incomplete"
        assert run.incomplete_details.reason == "max_completion_tokens"  # type: ignore[union-attr]
        assert run.usage.completion_tokens == 1024  # type: ignore[union-attr]
        longer = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "Go"}]},
            max_completion_tokens=2000,
        )
        assert longer.usage.completion_tokens == 300  # type: ignore[union-attr]
        assert longer.status == "completed"
