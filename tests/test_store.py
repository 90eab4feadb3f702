"""The store's own guarantees: all-or-nothing transactions, and an active-run cache that never lies."""

from __future__ import annotations

from pathlib import Path

import pytest
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
