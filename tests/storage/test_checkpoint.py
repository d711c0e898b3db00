"""SQLite's WAL checkpoints beside the writes (storage/checkpoint.py), on a real database file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fleetscan.storage.checkpoint import CHECKPOINT_SAFETY_PAGES
from fleetscan.storage.sql import open_storage


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


def test_commits_leave_the_log_to_the_server_s_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "fleetscan.db"
    before = len(_checkpointers())
    quiet = open_storage(f"sqlite:///{path}")  # a command's one-shot process: no thread of its own
    assert len(_checkpointers()) == before
    with quiet.engine.connect() as conn:  # a commit checkpoints itself only past the safety bound
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == CHECKPOINT_SAFETY_PAGES
    quiet.dispose()

    serving = open_storage(f"sqlite:///{path}", migrate=False, serving=True)
    try:
        assert len(_checkpointers()) == before + 1
        with serving.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE filler (x BLOB)")
            conn.exec_driver_sql("INSERT INTO filler VALUES (zeroblob(1000000))")
        # The log now holds the write; the checkpointer copies it into the database file within its interval.
        deadline = time.monotonic() + 60
        while path.stat().st_size < 1_000_000:
            assert time.monotonic() < deadline, "the checkpointer never copied the log into the database"
            time.sleep(0.1)
    finally:
        serving.dispose()
    assert len(_checkpointers()) == before  # stopped with its storage
