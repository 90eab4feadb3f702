"""Numbered schema migrations, applied in order and recorded in ``schema_migrations``.

Each migration is a function ``mNNN_name(db)``; add new ones at the end of
``MIGRATIONS`` and never edit one that has shipped. Every object is stored as
its exact wire JSON (``body``) next to the columns we filter and order by, so
what one process wrote reads back identical in the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database


def m001_core_objects(db: Database) -> None:
    db.execute("CREATE SEQUENCE object_seq START 1")
    db.execute(
        "CREATE TABLE assistants (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, body VARCHAR NOT NULL)"
    )
    db.execute(
        "CREATE TABLE threads (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, body VARCHAR NOT NULL)"
    )
    db.execute(
        "CREATE TABLE messages (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " thread_id VARCHAR NOT NULL, run_id VARCHAR, body VARCHAR NOT NULL)"
    )
    db.execute(
        "CREATE TABLE runs (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " thread_id VARCHAR NOT NULL, status VARCHAR NOT NULL, body VARCHAR NOT NULL,"
        " options VARCHAR NOT NULL)"
    )
    db.execute(
        "CREATE TABLE run_steps (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " thread_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL, body VARCHAR NOT NULL)"
    )
    db.execute("CREATE INDEX messages_by_thread ON messages (thread_id)")
    db.execute("CREATE INDEX runs_by_thread ON runs (thread_id)")
    db.execute("CREATE INDEX steps_by_run ON run_steps (run_id)")


def m002_files(db: Database) -> None:
    db.execute(
        "CREATE TABLE files (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " purpose VARCHAR NOT NULL, body VARCHAR NOT NULL)"
    )


def m003_vector_stores(db: Database) -> None:
    db.execute(
        "CREATE TABLE vector_stores (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, body VARCHAR NOT NULL)"
    )
    # One row per (store, file): the same File may sit in several stores.
    db.execute(
        "CREATE TABLE vector_store_files (id VARCHAR NOT NULL, seq BIGINT NOT NULL,"
        " vector_store_id VARCHAR NOT NULL, status VARCHAR NOT NULL, batch_id VARCHAR,"
        " usage_bytes BIGINT NOT NULL, body VARCHAR NOT NULL, PRIMARY KEY (vector_store_id, id))"
    )
    db.execute(
        "CREATE TABLE vector_store_file_batches (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " vector_store_id VARCHAR NOT NULL, body VARCHAR NOT NULL)"
    )
    db.execute("CREATE INDEX vector_store_files_by_file ON vector_store_files (id)")


def m004_responses(db: Database) -> None:
    db.execute(
        "CREATE TABLE responses (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " thread_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL, body VARCHAR NOT NULL)"
    )
    db.execute("CREATE INDEX responses_by_run ON responses (run_id)")


def m005_containers(db: Database) -> None:
    db.execute(
        "CREATE TABLE containers (id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL,"
        " session VARCHAR NOT NULL, body VARCHAR NOT NULL)"
    )
    # One row per (container, file): a File may sit in several containers.
    db.execute(
        "CREATE TABLE container_files (id VARCHAR NOT NULL, seq BIGINT NOT NULL,"
        " container_id VARCHAR NOT NULL, body VARCHAR NOT NULL, PRIMARY KEY (container_id, id))"
    )


Migration = Callable[["Database"], None]

MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (1, m001_core_objects),
    (2, m002_files),
    (3, m003_vector_stores),
    (4, m004_responses),
    (5, m005_containers),
)


def apply_migrations(db: Database) -> list[int]:
    """Apply the migrations this file has not seen yet; returns the versions applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at BIGINT NOT NULL)"
    )
    done = {row[0] for row in db.fetchall("SELECT version FROM schema_migrations")}
    applied = []
    for version, migration in MIGRATIONS:
        if version in done:
            continue
        with db.transaction():
            migration(db)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, migration.__name__, int(time.time())],
            )
        applied.append(version)
    return applied
