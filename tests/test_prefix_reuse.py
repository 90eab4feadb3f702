"""Prefix reuse: a thread's next run evaluates only what is new, with identical outputs.

Real model throughout. Each comparison runs the same conversation on an
engine (or runtime) with reuse and on one without, at temperature 0, with
other threads interleaved, and requires the same tokens.
"""

from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path

import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, Sampling
from offline_assistants.engine.llama import DEFAULT_BATCH, LlamaEngine
from offline_assistants.engine.prefix_cache import PrefixCache, Snapshot
from offline_assistants.engine.prompt_chunks import MIN_CHUNK, Cuts

from .conftest import MATH_TUTOR

QUESTIONS = [
    "What is 12 times 12?",
    "And what is half of that?",
    "Explain how you got it, step by step.",
    "Now add 7.",
]
OTHER = "Name three colours of the rainbow."
# Instructions of a realistic length (about 200 tokens), so prompts span several batches.
INSTRUCTIONS = MATH_TUTOR + " Check each step, use plain words, and keep numbers exact." * 12


def _answer(engine: LlamaEngine, key: str, history: list[ChatMessage]) -> tuple[str, int]:
    prompt = engine.prompt_tokens(history)
    stream = engine.generate(
        prompt, max_tokens=40, sampling=Sampling(temperature=0.0), cache_key=key
    )
    text = "".join(stream)
    # a kept prefix ends where evaluating this prompt afresh cuts it, never mid-chunk (or
    # is the whole prompt, kept with the logits after it)
    assert stream.reused_tokens in [*engine._slots.cuts.starts(prompt), len(prompt)]
    return text, stream.reused_tokens


def _conversation(
    engine: LlamaEngine, lengths: list[int] | None = None
) -> tuple[list[str], list[int]]:
    """Thread A's four turns, with thread B answering in between each (``lengths`` gets
    the length of each of A's prompts)."""
    a = [ChatMessage("system", INSTRUCTIONS)]
    b = [ChatMessage("system", INSTRUCTIONS)]
    answers, reused = [], []
    for question in QUESTIONS:
        a.append(ChatMessage("user", question))
        if lengths is not None:
            lengths.append(len(engine.prompt_tokens(a)))
        text, covered = _answer(engine, "thread_a", a)
        a.append(ChatMessage("assistant", text))
        answers.append(text)
        reused.append(covered)
        b.append(ChatMessage("user", OTHER))
        other, _ = _answer(engine, "thread_b", b)
        b.append(ChatMessage("assistant", other))
        answers.append(other)
    return answers, reused


@pytest.mark.parametrize(("flash", "kv_type"), [("off", "f16"), ("on", "bf16")])
def test_reuse_gives_the_same_tokens_as_full_evaluation(
    model_path: Path, tmp_path: Path, flash: str, kv_type: str
) -> None:
    """On the suite's attention path and on flash attention over a BF16 cache (what
    ``auto`` takes on an AVX-512 Xeon: engine/attention.py), whose states are laid out
    otherwise."""
    # A budget of one byte: every saved state spills to disk and comes back from there.
    cache = PrefixCache(tmp_path / "kv", budget_bytes=1)
    path = {"flash_attention": flash, "kv_cache_type": kv_type}
    reusing = LlamaEngine(
        model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache, **path
    )
    full = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, **path)
    assert (
        reusing.attention.name
        == full.attention.name
        == f"{'flash' if flash == 'on' else 'plain'}/{kv_type}"
    )
    lengths: list[int] = []
    with_reuse, covered = _conversation(reusing, lengths)
    without, nothing = _conversation(full)
    assert with_reuse == without
    assert nothing == [0, 0, 0, 0]
    # Each turn reuses all of the prompt the one before ended with (it ends with the
    # answer opener, always a cut) and evaluates only the answer and its question, short
    # as they are ("Now add 7.").
    assert covered == [0, *lengths[:-1]]
    assert cache.stats.spilled >= 6 and cache.stats.restored_from_disk >= 6
    assert reusing.evaluated_tokens < 0.6 * full.evaluated_tokens


def test_a_changed_history_reuses_only_the_common_prefix(model_path: Path, tmp_path: Path) -> None:
    cache = PrefixCache(tmp_path / "kv")
    reusing = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache)
    full = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False)
    long_system = ChatMessage("system", MATH_TUTOR + " " + "Be kind and precise. " * 30)
    history = [long_system, ChatMessage("user", QUESTIONS[0])]
    first, _ = _answer(reusing, "t", history)
    # an edit at the start (as after a deleted or edited message): nothing before it matches
    edited = [ChatMessage("system", "You are terse."), *history[1:]]
    text, covered = _answer(reusing, "t", edited)
    assert covered == 0 and text == _answer(full, "t", edited)[0]
    # a later change keeps the aligned part of what still matches
    changed = [long_system, ChatMessage("user", QUESTIONS[1])]
    _answer(reusing, "t", history)
    text, covered = _answer(reusing, "t", changed)
    assert covered > 0 and text == _answer(full, "t", changed)[0]


def test_states_of_another_model_are_never_used(tmp_path: Path) -> None:
    cache = PrefixCache(tmp_path / "kv", budget_bytes=10)
    cache.put("t", Snapshot("model-a", [1, 2, 3], b"state"))
    assert cache.take("t", "model-b") is None and cache.stats.foreign == 1
    cache.put("t", Snapshot("model-a", [1, 2, 3], b"state"))
    reopened = PrefixCache(tmp_path / "kv")  # spilled to disk: survives a restart
    assert reopened.take("t", "model-a") == Snapshot("model-a", [1, 2, 3], b"state")
    assert reopened.take("t", "model-a") is None  # taken: now the engine holds it
    cache.put("gone", Snapshot("model-a", [1], b"x" * 64))
    cache.forget("gone")
    assert cache.take("gone", "model-a") is None
    (tmp_path / "kv" / "junk.kv").write_bytes(b"not a state")
    assert PrefixCache(tmp_path / "kv").take("junk", "model-a") is None


def _thread_answers(data: Path, reuse: bool, parallel: int = 1) -> list[str]:
    settings = dataclasses.replace(
        Settings.from_env(data_dir=data), kv_reuse=reuse, n_ctx=4096, parallel=parallel
    )
    with Client(settings=settings) as client:
        tutor = client.beta.assistants.create(
            model="default", instructions=INSTRUCTIONS, temperature=0
        )
        main = client.beta.threads.create()
        side = client.beta.threads.create()
        answers = []
        for question in QUESTIONS[:3]:
            for thread, text in ((main, question), (side, OTHER)):
                client.beta.threads.messages.create(thread.id, role="user", content=text)
                run = client.beta.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=30
                )
                assert run.status in ("completed", "incomplete"), run.last_error
                answers.append(
                    client.beta.threads.messages.list(thread.id).data[0].content[0].text.value
                )
        stats = client.runtime.prefix_cache.stats if client.runtime.prefix_cache else None
        if reuse and parallel == 1:  # one slot: each thread's state leaves it and comes back
            assert stats is not None and stats.restored_from_memory >= 4
        if reuse and parallel > 1:  # a slot each: the states stay where they are
            assert stats is not None and stats.restored_from_memory == 0
            assert stats.restored_from_disk == 0
        client.beta.threads.delete(side.id)
        return answers


def test_runs_answer_the_same_with_and_without_reuse(tmp_path: Path) -> None:
    without = _thread_answers(tmp_path / "off", False)
    assert _thread_answers(tmp_path / "on", True) == without
    assert _thread_answers(tmp_path / "slots", True, parallel=2) == without


def _first_turn(engine: LlamaEngine, key: str, question: str) -> tuple[str, int]:
    return _answer(
        engine, key, [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", question)]
    )


def _shared(engine: LlamaEngine, *questions: str) -> int:
    """How many leading prompt tokens first turns asking ``questions`` have in common."""
    prompts = [
        engine.prompt_tokens([ChatMessage("system", INSTRUCTIONS), ChatMessage("user", q)])
        for q in questions
    ]
    return next(i for i, column in enumerate(zip(*prompts, strict=False)) if len(set(column)) > 1)


def test_new_threads_share_the_instructions_another_thread_evaluated(
    model_path: Path, tmp_path: Path
) -> None:
    """An assistant's new threads start from the prefix its first thread evaluated (one
    slot: the state is handed over; two: copied from the other slot or the state kept of
    it, and handed over while another generates), and answer exactly as a fresh
    evaluation does."""
    full = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False)
    expected = {q: _first_turn(full, f"fresh-{i}", q)[0] for i, q in enumerate([*QUESTIONS, OTHER])}
    for parallel in (1, 2):
        cache = PrefixCache(tmp_path / f"kv{parallel}")
        engine = LlamaEngine(
            model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache,
            parallel=parallel,
        )  # fmt: skip
        text, covered = _first_turn(engine, "thread-0", QUESTIONS[0])
        assert covered == 0 and text == expected[QUESTIONS[0]]
        if parallel == 2:
            # another thread generates in the empty slot, from a copy of thread-0's
            # instructions (read out of thread-0's slot, or the state kept of it once the
            # model's thread saved it between runs: whichever came first); a new thread
            # then gets thread-0's slot while the other generates
            running = engine.generate(
                engine.prompt_tokens([ChatMessage("system", INSTRUCTIONS),
                                      ChatMessage("user", OTHER)]),
                max_tokens=40, sampling=Sampling(temperature=0.0), cache_key="busy",
            )  # fmt: skip
            pieces = iter(running)
            first = next(pieces)  # generating now, in thread-0's slot
            text, covered = _first_turn(engine, "thread-late", QUESTIONS[2])
            assert engine._slots.copied_prefixes + engine._slots.shared_states == 1
            assert text == expected[QUESTIONS[2]] and covered >= DEFAULT_BATCH  # copied whole
            assert first + "".join(pieces) == expected[OTHER]  # the donor went on untouched
        for i, question in enumerate(QUESTIONS[1:], start=1):
            text, covered = _first_turn(engine, f"thread-{i}", question)
            assert text == expected[question], (parallel, question)
            # the instructions whole and the template's text up to the question's own
            # words (as llama-server keeps them), not only the instructions' first batch;
            # a question thread-late asked already is kept whole, with its logits
            asked = parallel == 2 and question == QUESTIONS[2]
            prompt = engine.prompt_tokens(
                [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", question)]
            )
            shared = len(prompt) if asked else _shared(engine, QUESTIONS[0], question)
            assert covered == shared > DEFAULT_BATCH
        # every new thread evaluated only its own question, not the instructions again
        assert engine.evaluated_tokens < 0.6 * full.evaluated_tokens


def test_a_finished_threads_state_is_saved_before_its_slot_is_wanted(
    model_path: Path, tmp_path: Path
) -> None:
    """Between runs the model's thread saves what a finished run left in its slot, so the
    next thread to take that slot (a new thread, its first token waited for) goes straight
    to its prompt; the first thread's next turn still starts from its saved state."""
    cache = PrefixCache(tmp_path / "kv")
    engine = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache)
    full = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False)
    a = [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", QUESTIONS[0])]
    text, _ = _answer(engine, "thread_a", a)
    deadline = time.monotonic() + 60
    while cache.stats.stored == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # nothing else asked of the model: it saves thread_a's state now
    assert cache.stats.stored == 1
    saved = engine._slots.slots[0]
    assert saved.key == "thread_a" and saved.saved
    _first_turn(engine, "thread_b", OTHER)  # takes the only slot: nothing more to save
    assert saved.key == "thread_b" and cache.stats.stored >= 1
    a += [ChatMessage("assistant", text), ChatMessage("user", QUESTIONS[1])]
    again, covered = _answer(engine, "thread_a", a)
    assert cache.stats.restored_from_memory == 1 and covered > DEFAULT_BATCH
    assert again == _answer(full, "thread_a", a)[0]


def test_cuts_depend_only_on_the_tokens_before_them() -> None:
    """Two prompts that share a prefix are cut alike inside it, up to its end; chunks
    stay within the batch size, and a chunk ends after a separator once it is long."""
    rng = random.Random(3)
    cuts = Cuts.of(128, [[1, 5], [2]])
    for _ in range(200):
        shared = [rng.choice([1, 2, 5, *range(10, 60)]) for _ in range(rng.randrange(1, 600))]
        a = shared + [rng.randrange(10, 60) for _ in range(rng.randrange(1, 200))]
        b = shared + [rng.randrange(60, 99) for _ in range(rng.randrange(1, 200))]
        cuts_a, cuts_b = cuts.starts(a), cuts.starts(b)
        assert [c for c in cuts_a if c <= len(shared)] == [c for c in cuts_b if c <= len(shared)]
        ends = [*cuts_a[1:], len(a)]
        assert all(0 < end - start <= 128 for start, end in zip(cuts_a, ends, strict=True))
        assert cuts.covered(a, len(shared)) == max(c for c in cuts_a if c <= len(shared))
        # a prompt kept whole (it ends on a cut: a generation prompt) is a prefix that
        # every longer prompt is cut after
        assert (cuts.covered(shared, len(shared)) == len(shared)) == (len(shared) in cuts_a)
        # a prefix of the last prompt cut is read from its chunks: the same as cut afresh
        cuts.starts(a)
        assert cuts.starts(shared) == Cuts.of(128, [[1, 5], [2]]).starts(shared)
    message = [7] * 40 + [1, 5] + [7] * 10  # a separator ends at 42: a cut there
    assert cuts.starts(message) == [0, 42]
    assert cuts.covered(message[:42], 42) == 42
    assert cuts.starts([7] * (MIN_CHUNK - 3) + [2] + [7] * 10) == [0]  # too short
    # the answer opener ends a chunk however short
    opening = Cuts.of(128, [[1, 5], [2]], opener=[2])
    assert opening.starts([7] * 5 + [2] + [7] * 10 + [1, 5] + [7]) == [0, 6]
    assert opening.identity != cuts.identity
    assert Cuts.of(128, [[2]]).identity != Cuts.of(128, [[1]]).identity != cuts.identity


def test_a_threads_next_turn_reuses_its_whole_last_prompt(model_path: Path, tmp_path: Path) -> None:
    """A prompt ends with the template's generation prompt, the answer opener, after
    which a chunk always ends: however short its last chunk (a long question, a short
    one), the thread's next turn evaluates only the answer and what follows, and answers
    exactly as a fresh evaluation does."""
    engine = LlamaEngine(
        model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=PrefixCache(tmp_path)
    )
    full = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False)
    long_question = "Please explain, in plain words and with care, " * 4 + QUESTIONS[0]
    for key, question in (("long", long_question), ("short", QUESTIONS[0])):
        a = [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", question)]
        first = engine.prompt_tokens(a)
        assert engine._slots.cuts.covered(first, len(first)) == len(first)
        text, _ = _answer(engine, key, a)
        a += [ChatMessage("assistant", text), ChatMessage("user", QUESTIONS[1])]
        again, covered = _answer(engine, key, a)
        assert covered == len(first)
        assert again == _answer(full, key, a)[0]
