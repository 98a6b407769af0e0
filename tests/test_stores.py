"""The SQLite tracker store commits without waiting for the disk, and still keeps every conversation.

Real `LeanSQLTrackerStore` objects on a temporary SQLite file; a second store
on the same file stands for the Rasa server after a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores.sql import LeanSQLTrackerStore

SYNCHRONOUS = {1: "normal", 2: "full"}  # what PRAGMA synchronous returns


def store_on(db: Path) -> LeanSQLTrackerStore:
    return LeanSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))


def pragmas(store: LeanSQLTrackerStore) -> tuple[str, str]:
    """journal_mode and synchronous of a connection Rasa's own sessions use."""
    with store.session_scope() as session:
        journal = session.execute(sqlalchemy.text("PRAGMA journal_mode")).scalar()
        synchronous = session.execute(sqlalchemy.text("PRAGMA synchronous")).scalar()
    return str(journal), SYNCHRONOUS.get(int(synchronous), str(synchronous))


def conversation(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"),
        UserUttered("terima kasih", {"name": "thanks", "confidence": 1.0}),
        BotUttered("Sama-sama!"),
        ActionExecuted("action_listen"),
    ])


def test_sqlite_runs_in_wal_mode_without_waiting_for_the_disk(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_SQLITE_SYNC", raising=False)
    assert pragmas(store_on(tmp_path / "tracker.db")) == ("wal", "normal")


def test_every_commit_can_wait_for_the_disk_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_SQLITE_SYNC", "full")
    assert pragmas(store_on(tmp_path / "tracker.db")) == ("wal", "full")


def test_a_bad_sync_setting_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_SQLITE_SYNC", "off")
    with pytest.raises(ValueError, match="TRACKER_SQLITE_SYNC"):
        store_on(tmp_path / "tracker.db")


def test_a_saved_conversation_is_read_back_after_a_restart_and_by_other_readers(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    running = store_on(db)
    asyncio.run(running.save(conversation("reader-1")))
    # The owner's tools (make report, make prune) read the file while the server runs.
    with sqlite3.connect(db) as other:
        stored = other.execute("SELECT type_name FROM events WHERE sender_id = 'reader-1' ORDER BY id").fetchall()
    assert [row[0] for row in stored] == ["action", "user", "bot", "action"]
    restarted = store_on(db)
    tracker = asyncio.run(restarted.retrieve("reader-1"))
    assert tracker is not None
    texts = [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]
    assert texts == ["terima kasih", "Sama-sama!"]
