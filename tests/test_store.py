"""The store's own guarantees: all-or-nothing transactions, and an active-run cache that never lies."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai.types.beta.thread import Thread
from openai.types.beta.threads.run import Run

from offline_assistants.store import RunOptions, Store


def make_run(run_id: str, thread_id: str, status: str = "queued") -> Run:
    return Run.model_validate(
        {
            "id": run_id,
            "object": "thread.run",
            "created_at": 1,
            "assistant_id": "asst_x",
            "thread_id": thread_id,
            "status": status,
            "instructions": "",
            "model": "default",
            "tools": [],
            "parallel_tool_calls": True,
        }
    )


def test_a_failed_transaction_leaves_database_and_cache_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.duckdb")
    run = make_run("run_1", "thread_1")
    store.runs.insert(run, RunOptions(additional_instructions="be kind"))
    with pytest.raises(RuntimeError), store.db.transaction():
        store.runs.update(run.model_copy(update={"status": "in_progress"}))
        store.runs.insert(make_run("run_2", "thread_2"), RunOptions())
        raise RuntimeError("boom")
    assert store.runs.get("run_1") == run
    assert store.runs.get("run_2") is None
    assert store.runs.active_in_thread("thread_2") is None
    store.close()
    reopened = Store(tmp_path / "db.duckdb")
    assert reopened.runs.get("run_1") == run
    assert reopened.runs.get("run_2") is None
    assert reopened.runs.options("run_1").additional_instructions == "be kind"
    reopened.close()


def test_active_runs_are_found_and_finished_ones_are_not(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.duckdb")
    store.runs.insert(make_run("run_a", "thread_1"), RunOptions())
    assert store.runs.active_in_thread("thread_1") is not None
    store.runs.update(make_run("run_a", "thread_1", "completed"))
    assert store.runs.active_in_thread("thread_1") is None
    assert store.runs.get("run_a") is not None and store.runs.get("run_a").status == "completed"  # type: ignore[union-attr]
    assert store.runs.get("run_a", "thread_other") is None
    store.runs.insert(make_run("run_b", "thread_1", "requires_action"), RunOptions())
    store.close()
    # A new process loads what is still active (requires_action survives restarts).
    reopened = Store(tmp_path / "db.duckdb")
    active = reopened.runs.active_in_thread("thread_1")
    assert active is not None and active.id == "run_b"
    reopened.close()


def make_thread(thread_id: str, title: str) -> Thread:
    return Thread.model_validate(
        {"id": thread_id, "object": "thread", "created_at": 1, "metadata": {"title": title}}
    )


def test_threads_read_by_id_come_from_memory_and_follow_every_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "db.duckdb")
    queries: list[str] = []
    fetchone = store.db.fetchone
    monkeypatch.setattr(
        store.db, "fetchone", lambda sql, params=(): queries.append(sql) or fetchone(sql, params)
    )
    store.threads.insert(make_thread("thread_1", "first"))
    assert store.threads.get("thread_1") == make_thread("thread_1", "first")
    assert store.threads.exists("thread_1")
    assert queries == []  # the write put its body in memory: no point read of DuckDB
    # A write that rolls back leaves what is read as it was, in memory and on disk.
    with pytest.raises(RuntimeError), store.db.transaction():
        store.threads.update(make_thread("thread_1", "changed"))
        assert store.threads.get("thread_1") == make_thread("thread_1", "changed")
        raise RuntimeError("boom")
    assert store.threads.get("thread_1") == make_thread("thread_1", "first")
    # An object never read in this process is read from DuckDB once, then from memory.
    store.close()
    reopened = Store(tmp_path / "db.duckdb")
    queries.clear()
    fetchone = reopened.db.fetchone
    monkeypatch.setattr(
        reopened.db, "fetchone", lambda sql, params=(): queries.append(sql) or fetchone(sql, params)
    )
    assert reopened.threads.get("thread_1") == make_thread("thread_1", "first")
    assert reopened.threads.get("thread_1") == make_thread("thread_1", "first")
    assert len(queries) == 1
    # A delete (here with the thread's rows) forgets it, and a rolled-back delete does not.
    with pytest.raises(RuntimeError), reopened.db.transaction():
        reopened.threads.delete("thread_1")
        assert reopened.threads.get("thread_1") is None
        raise RuntimeError("boom")
    assert reopened.threads.get("thread_1") == make_thread("thread_1", "first")
    assert reopened.threads.delete("thread_1")
    assert reopened.threads.get("thread_1") is None
    assert not reopened.threads.exists("thread_1")
    reopened.close()


def test_only_the_most_recently_used_bodies_stay_in_memory(tmp_path: Path) -> None:
    from offline_assistants.store.recent_bodies import RECENT

    store = Store(tmp_path / "db.duckdb")
    for i in range(RECENT + 10):
        store.threads.insert(make_thread(f"thread_{i}", str(i)))
    recent = store.threads.table._recent
    assert recent is not None
    assert recent.get("thread_0") is None and recent.get(f"thread_{RECENT + 9}") is not None
    assert store.threads.get("thread_0") == make_thread("thread_0", "0")  # from DuckDB
    store.close()


def test_queries_run_on_the_calling_thread(tmp_path: Path) -> None:
    """DuckDB's worker threads slow every single-object statement and wake on the cores the
    model decodes on (store/database.connect)."""
    store = Store(tmp_path / "db.duckdb")
    assert store.db.fetchone("SELECT current_setting('threads')") == (1,)
    store.close()
