"""Batched decoding in the engine, with the real model: generations advanced together keep
their own samplers, grammars and budgets; a newcomer's prompt is read chunk by chunk
between the others' tokens; a generation waiting for a slot can be stopped; the tokens
go to llama.cpp in sequence order (one forward pass, not one per slot out of order).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_assistants.engine import ChatMessage, Grammar, Sampling, TokenStream
from offline_assistants.engine.decode_batch import DecodeBatch
from offline_assistants.engine.grammar import GrammarBuilder
from offline_assistants.engine.llama import DEFAULT_BATCH, LlamaEngine

from .conftest import ENDLESS

GREEDY = Sampling(temperature=0.0)


@pytest.fixture(scope="module")
def engines(model_path: Path) -> Iterator[tuple[LlamaEngine, LlamaEngine]]:
    solo = LlamaEngine(model_path, n_threads=2, n_ctx=2048, progress=False, parallel=1)
    batched = LlamaEngine(model_path, n_threads=2, n_ctx=2048, progress=False, parallel=4)
    yield solo, batched
    solo.close()
    batched.close()


def _prompt(engine: LlamaEngine, question: str, system: str = "You are helpful.") -> list[int]:
    return engine.prompt_tokens([ChatMessage("system", system), ChatMessage("user", question)])


def _json_grammar() -> Grammar:
    builder = GrammarBuilder()
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    return Grammar(builder.render(builder.schema(schema, "person", strict=True)))


def _jobs(engine: LlamaEngine) -> list[tuple[list[int], int, Grammar | None]]:
    return [
        (_prompt(engine, "Describe a dog."), 30, None),
        (_prompt(engine, "Give a person as JSON."), 40, _json_grammar()),
        (_prompt(engine, ENDLESS), 12, None),  # its budget ends it
        (_prompt(engine, "What is 3 plus 4?"), 30, None),
    ]


def _read(stream: TokenStream) -> tuple[str, str | None, int]:
    text = "".join(stream)
    return text, stream.finish_reason, stream.completion_tokens


def test_a_batch_keeps_each_generations_grammar_budget_and_text(
    engines: tuple[LlamaEngine, LlamaEngine],
) -> None:
    solo, batched = engines
    alone = [
        _read(solo.generate(p, max_tokens=n, sampling=GREEDY, grammar=g)) for p, n, g in _jobs(solo)
    ]
    streams = [
        batched.generate(p, max_tokens=n, sampling=GREEDY, grammar=g) for p, n, g in _jobs(batched)
    ]
    together: list[tuple[str, str | None, int]] = [("", None, 0)] * len(streams)

    def read(index: int) -> None:
        together[index] = _read(streams[index])

    readers = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(120)
    assert together == alone
    person = json.loads(together[1][0])
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)
    assert together[2][1:] == ("length", 12)


def test_a_newcomers_prompt_is_read_between_the_others_tokens(
    engines: tuple[LlamaEngine, LlamaEngine],
) -> None:
    _, batched = engines
    long_system = "You are a careful assistant. " * 120  # several chunks of prompt
    newcomer = _prompt(batched, "Say yes.", long_system)
    chunks = -(-len(newcomer) // DEFAULT_BATCH)
    assert chunks >= 4
    running = batched.generate(_prompt(batched, ENDLESS), max_tokens=200, sampling=GREEDY)
    pieces = iter(running)
    for _ in range(3):
        next(pieces)
    late = batched.generate(newcomer, max_tokens=4, sampling=GREEDY)
    first = threading.Event()
    produced_before_first: list[int] = []

    def watch() -> None:
        for _ in late:
            if not first.is_set():
                produced_before_first.append(running.completion_tokens)
                first.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in pieces:  # keep reading: the running generation is not held up
        if running.completion_tokens >= 3 + chunks + 10:
            break
    running.close()
    watcher.join(60)
    assert first.is_set()
    # One token of the running generation per prompt chunk of the newcomer, at least.
    assert produced_before_first[0] - 3 >= chunks - 1


def test_stop_ends_a_generation_that_waits_for_a_slot(model_path: Path) -> None:
    engine = LlamaEngine(model_path, n_threads=2, n_ctx=1024, progress=False, parallel=1)
    try:
        busy = engine.generate(_prompt(engine, ENDLESS), max_tokens=300, sampling=GREEDY)
        pieces = iter(busy)
        next(pieces)  # the only slot is taken
        stopped = threading.Event()
        waiting = engine.generate(
            _prompt(engine, "Hello"), max_tokens=50, sampling=GREEDY, stop=stopped.is_set
        )
        stopped.set()
        assert _read(waiting) == ("", "stop", 0)  # ended without a slot, nothing generated
        assert busy.finish_reason is None  # the other one goes on
        busy.close()
        after = engine.generate(_prompt(engine, "What is 3 plus 4?"), max_tokens=8, sampling=GREEDY)
        assert _read(after)[2] > 0  # the slot was given back
    finally:
        engine.close()


def test_the_generating_batch_goes_to_llama_cpp_in_sequence_order(
    engines: tuple[LlamaEngine, LlamaEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a KV stream per sequence llama.cpp makes one forward pass per run of
    consecutive sequence ids in the order given: three threads admitted in the reverse
    order of their slots would cost three passes a token instead of one."""
    _, batched = engines
    batches: list[list[int]] = []  # the sequence of each row, batch by batch
    clear, add = DecodeBatch.clear, DecodeBatch.add

    def clearing(self: DecodeBatch) -> None:
        batches.append([])
        clear(self)

    def adding(self: DecodeBatch, token: int, position: int, seq: int, logits: bool) -> int:
        batches[-1].append(seq)
        return add(self, token, position, seq, logits)

    monkeypatch.setattr(DecodeBatch, "clear", clearing)
    monkeypatch.setattr(DecodeBatch, "add", adding)
    slot_of: dict[str, int] = {}
    for key in ("a", "b", "c"):  # each alone: the slot its thread now holds
        _read(
            batched.generate(_prompt(batched, "Hi."), max_tokens=2, sampling=GREEDY, cache_key=key)
        )
        slot_of[key] = next(seqs for seqs in reversed(batches) if seqs)[0]
    assert len(set(slot_of.values())) == 3
    batches.clear()
    streams = [
        batched.generate(_prompt(batched, ENDLESS), max_tokens=8, sampling=GREEDY, cache_key=key)
        for key in sorted(slot_of, key=slot_of.__getitem__, reverse=True)
    ]
    readers = [threading.Thread(target=_read, args=(stream,)) for stream in streams]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(120)
    monkeypatch.undo()
    steps = [seqs for seqs in batches if len(set(seqs)) > 1]
    # All three advanced together, in one batch (in the slots they started in, or lower:
    # a generation moves down into a free slot below it, test below).
    assert any(len(set(seqs)) == 3 for seqs in steps), steps
    assert all(seqs == sorted(seqs) for seqs in steps), steps


def test_a_generation_moves_down_into_the_gap_a_finished_one_left(
    engines: tuple[LlamaEngine, LlamaEngine],
) -> None:
    """Three generations in slots 0, 1 and 2; the middle one ends first. The one above
    moves down into its slot (so the two left take one forward pass a step, not two),
    and every text is exactly what each generation writes alone."""
    solo, batched = engines
    budgets = {"low": 40, "middle": 6, "high": 40}
    alone = {
        key: _read(solo.generate(_prompt(solo, ENDLESS), max_tokens=n, sampling=GREEDY))
        for key, n in budgets.items()
    }
    for slot in batched._slots.slots:  # empty slots: the three take 0, 1 and 2 in order
        batched._slots.clear(slot)
    moves = batched._slots.moves
    streams = {
        key: batched.generate(_prompt(batched, ENDLESS), max_tokens=n, sampling=GREEDY)
        for key, n in budgets.items()
    }
    together: dict[str, tuple[str, str | None, int]] = {}

    def read(key: str) -> None:
        together[key] = _read(streams[key])

    readers = [threading.Thread(target=read, args=(key,)) for key in streams]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(120)
    assert together == alone
    assert batched._slots.moves == moves + 1  # "high" moved into the middle slot, once
