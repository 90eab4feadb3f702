"""Prompt prefixes shared by content through the prefix cache, not only between slots.

A new thread of an assistant whose instructions no slot holds any more (other
assistants' threads took them all) starts from a state the cache keeps for
another thread: found by its content (``PrefixCache.longest``), copied into the
slot, cut back to what the two prompts share. Real model throughout; every answer
at temperature 0 is compared token for token with a fresh evaluation's.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from offline_assistants.engine import ChatMessage
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.prefix_cache import PrefixCache, Snapshot

from .test_prefix_reuse import INSTRUCTIONS, QUESTIONS, _answer, _shared

POET = "You are a poet. Answer every question with a short rhyme about the sea. " * 6


def _turn(engine: LlamaEngine, key: str, system: str, *texts: str) -> tuple[str, int]:
    """A thread ``key``'s answer to ``texts`` (user, assistant, user...) under ``system``."""
    roles = ["user", "assistant"]
    history = [ChatMessage("system", system)]
    history += [ChatMessage(roles[i % 2], text) for i, text in enumerate(texts)]
    return _answer(engine, key, history)


@pytest.fixture(scope="module")
def fresh(model_path: Path) -> LlamaEngine:
    """Evaluates every prompt in full: the answers a shared prefix must not change."""
    return LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False)


def test_a_new_thread_starts_from_another_threads_kept_state(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """One slot, taken by another assistant's thread in between: the tutor's second
    thread finds the first one's saved state by content and evaluates only its question."""
    cache = PrefixCache(tmp_path / "kv")
    engine = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache)
    _turn(engine, "tutor-1", INSTRUCTIONS, QUESTIONS[0])
    _turn(engine, "poet-1", POET, QUESTIONS[0])  # the slot now holds the poet's words
    assert engine._slots.slots[0].key == "poet-1"
    before = engine.evaluated_tokens
    text, covered = _turn(engine, "tutor-2", INSTRUCTIONS, QUESTIONS[1])
    assert engine._slots.shared_states == 1 and cache.stats.shared == 1
    assert covered == _shared(engine, QUESTIONS[0], QUESTIONS[1]) > len(INSTRUCTIONS) // 8
    prompt = engine.prompt_tokens(
        [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", QUESTIONS[1])]
    )
    assert engine.evaluated_tokens - before == len(prompt) - covered
    assert text == _turn(fresh, "x", INSTRUCTIONS, QUESTIONS[1])[0]
    # the state it came from is still the first thread's, whole, for that thread's next turn
    first = cache.take("tutor-1", engine._slots._model_id)
    assert first is not None and len(first.tokens) >= covered


def test_a_kept_state_is_restored_rather_than_read_out_of_another_slot(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """Two slots: the tutor's first thread finished in one, and its state was saved while
    the model was idle. The second thread, given the empty slot, restores that kept state
    (~1 ms) instead of reading the same tokens out of the other slot (~5 ms)."""
    cache = PrefixCache(tmp_path / "kv")
    engine = LlamaEngine(
        model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache, parallel=2
    )
    _turn(engine, "tutor-1", INSTRUCTIONS, QUESTIONS[0])
    held = next(slot for slot in engine._slots.slots if slot.key == "tutor-1")
    deadline = time.monotonic() + 30
    while not held.saved and time.monotonic() < deadline:
        time.sleep(0.01)  # the model's thread saves it between runs
    assert held.saved
    text, covered = _turn(engine, "tutor-2", INSTRUCTIONS, QUESTIONS[1])
    assert (engine._slots.shared_states, engine._slots.copied_prefixes) == (1, 0)
    assert covered == _shared(engine, QUESTIONS[0], QUESTIONS[1])
    assert held.key == "tutor-1" and held.resident  # the first thread's slot untouched
    assert text == _turn(fresh, "x", INSTRUCTIONS, QUESTIONS[1])[0]


def test_a_shared_state_gives_a_thread_only_its_own_tokens(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """The donor's state holds a longer conversation (a secret, an answer, a follow-up):
    the new thread keeps exactly the prefix the two prompts share, token for token, and
    answers as if the donor had never been."""
    cache = PrefixCache(tmp_path / "kv")
    engine = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache)
    secret = "My locker code is 7391. Remember it for me, please."
    said, _ = _turn(engine, "owner", INSTRUCTIONS, secret)
    _turn(engine, "owner", INSTRUCTIONS, secret, said, "What is my locker code?")
    _turn(engine, "poet-1", POET, QUESTIONS[0])
    donor = cache.take("owner", engine._slots._model_id)
    assert donor is not None
    cache.put("owner", donor)
    question = "What is my locker code?"
    text, covered = _turn(engine, "stranger", INSTRUCTIONS, question)
    mine = engine.prompt_tokens(
        [ChatMessage("system", INSTRUCTIONS), ChatMessage("user", question)]
    )
    common = next(i for i, (a, b) in enumerate(zip(mine, donor.tokens, strict=False)) if a != b)
    assert engine._slots.shared_states == 1
    assert covered == engine._slots.cuts.covered(mine, common) < len(donor.tokens)
    assert engine._slots.slots[0].resident[:covered] == mine[:covered]
    assert text == _turn(fresh, "x", INSTRUCTIONS, question)[0]


def test_kept_states_are_evicted_by_least_recent_use_and_still_found_on_disk(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """Memory for about one state: the least recently used spills to disk and is still
    found there by content; trimmed off the disk too, it is evaluated afresh, with the
    same answer each time."""
    probe = PrefixCache(tmp_path / "probe")
    engine = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=probe)
    _turn(engine, "tutor-1", INSTRUCTIONS, QUESTIONS[0])
    _turn(engine, "poet-1", POET, QUESTIONS[0])
    one = probe.take("tutor-1", engine._slots._model_id)
    assert one is not None
    expected = _turn(fresh, "x", INSTRUCTIONS, QUESTIONS[2])[0]
    for disk, found in ((8 << 30, True), (1, False)):
        cache = PrefixCache(tmp_path / f"kv{disk}", budget_bytes=one.size + 1024)
        cache.disk_budget_bytes = disk
        engine = LlamaEngine(
            model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache
        )
        _turn(engine, "tutor-1", INSTRUCTIONS, QUESTIONS[0])
        _turn(engine, "poet-1", POET, QUESTIONS[0])
        _turn(engine, "poet-2", POET, QUESTIONS[1])  # tutor-1's state: least recently used
        assert cache.stats.spilled >= 1 and cache._used <= cache.budget_bytes
        text, covered = _turn(engine, "tutor-2", INSTRUCTIONS, QUESTIONS[2])
        assert text == expected
        assert (engine._slots.shared_states == 1) is found, disk
        assert (covered == _shared(engine, QUESTIONS[0], QUESTIONS[2])) is found
        assert found or covered == 0


def test_the_content_index_follows_the_cache(tmp_path: Path) -> None:
    """Lending a state counts as using it (the other is spilled first); a state taken,
    replaced or forgotten is no longer found by content."""
    cache = PrefixCache(tmp_path, budget_bytes=250)
    a = Snapshot("m", [1, 2, 3, 4], b"a" * 100, ends=(2, 4))
    b = Snapshot("m", [1, 2, 9, 9], b"b" * 100, ends=(2, 4))
    cache.put("a", a)
    cache.put("b", b)
    found = cache.longest("m", [1, 2, 3, 4, 5], [2, 4])
    assert found == (4, a)
    assert cache.longest("m", [1, 2, 7, 7, 7], [2, 4]) == (2, a)  # the one used last
    assert cache.longest("other-model", [1, 2, 3, 4, 5], [2, 4]) is None
    cache.disk_budget_bytes = 0  # a spilled state is trimmed at once (nothing written stays)
    cache.put("c", Snapshot("m", [5, 6], b"c" * 100, ends=(2,)))  # over budget: b spills
    assert "a" in cache._memory and "b" not in cache._memory
    assert cache.longest("m", [1, 2, 9, 9, 1], [2, 4]) == (2, a)  # b trimmed: a's prefix
    cache.put("a", Snapshot("m", [1, 2], b"a", ends=(2,)))  # replaced by a shorter one
    assert cache.longest("m", [1, 2, 3, 4, 5], [2, 4]) == (2, cache._memory["a"])
    cache.forget("a")
    assert cache.longest("m", [1, 2, 3, 4, 5], [2, 4]) is None
    assert cache.take("c", "m") is not None and cache.longest("m", [5, 6, 7], [2]) is None


def _prompt(engine: LlamaEngine, system: str, text: str) -> list[int]:
    return engine.prompt_tokens([ChatMessage("system", system), ChatMessage("user", text)])


def test_the_same_prompt_again_is_answered_without_evaluating_it(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """A prompt a kept state holds whole, with the logits after it (a regenerated answer,
    a request sent again), evaluates nothing: its first token is sampled from those
    logits and the answer is a fresh evaluation's. From the slot that holds it, from the
    cache once other prompts took the slot, and from disk."""
    question = QUESTIONS[0]
    expected = _turn(fresh, "x", INSTRUCTIONS, question)[0]
    for budget in (1 << 30, 1):  # in memory; spilled to disk at once
        cache = PrefixCache(tmp_path / f"kv{budget}", budget_bytes=budget)
        engine = LlamaEngine(
            model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache
        )
        prompt = _prompt(engine, INSTRUCTIONS, question)
        # It ends on a cut (the answer opener), so it is all a kept prefix: what is new
        # here is that nothing is left to evaluate for its first token.
        assert engine._slots.cuts.covered(prompt, len(prompt)) == len(prompt)
        assert _turn(engine, "first", INSTRUCTIONS, question) == (expected, 0)
        before = engine.evaluated_tokens
        text, covered = _turn(engine, "again", INSTRUCTIONS, question)  # the slot holds it
        assert (text, covered) == (expected, len(prompt))
        _turn(engine, "poet", POET, QUESTIONS[1])  # the slot now holds another prompt
        text, covered = _turn(engine, "once more", INSTRUCTIONS, question)  # from the cache
        assert (text, covered) == (expected, len(prompt))
        assert engine._slots.whole_prompts == 2
        poet = len(_prompt(engine, POET, QUESTIONS[1]))
        assert engine.evaluated_tokens - before <= poet  # the two repeats evaluated nothing
        if budget == 1:
            assert cache.stats.spilled > 0 and cache._used == 0


def test_a_whole_prompt_kept_before_any_decode_is_evaluated_from_its_last_cut(
    model_path: Path, tmp_path: Path, fresh: LlamaEngine
) -> None:
    """After a restart the first run finds its whole prompt on disk but no row of logits
    to sample from yet: it evaluates the last chunk, as before, with the same answer."""
    question = QUESTIONS[1]
    expected = _turn(fresh, "x", INSTRUCTIONS, question)[0]
    cache = PrefixCache(tmp_path / "kv", budget_bytes=1)
    first = LlamaEngine(model_path, n_threads=2, n_ctx=4096, progress=False, prefix_cache=cache)
    _turn(first, "thread", INSTRUCTIONS, question)
    _turn(first, "poet", POET, QUESTIONS[0])  # the thread's whole prompt goes to disk
    first.close()
    again = LlamaEngine(
        model_path, n_threads=2, n_ctx=4096, progress=False,
        prefix_cache=PrefixCache(tmp_path / "kv", budget_bytes=1),
    )  # fmt: skip
    prompt = _prompt(again, INSTRUCTIONS, question)
    text, covered = _turn(again, "thread", INSTRUCTIONS, question)
    assert text == expected and 0 < covered < len(prompt)
    assert again._slots.whole_prompts == 0
    text, covered = _turn(again, "thread", INSTRUCTIONS, question)  # now a row was left
    assert (text, covered) == (expected, len(prompt))
