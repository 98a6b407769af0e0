"""Read what the default servers stored: the SQLite tracker store of bot/endpoints.yml, as `make report` does."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from knowledge.settings import ROOT

TRACKER_DB = ROOT / "var" / "tracker.db"


def _stored(columns: str, where: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of the events table that match `where`, oldest first."""
    with sqlite3.connect(TRACKER_DB) as db:
        return db.execute(f"SELECT {columns} FROM events WHERE {where} ORDER BY id", params).fetchall()


def _slot_values(where: str, params: tuple[Any, ...], name: str) -> list[Any]:
    rows = _stored("data", f"{where} AND type_name = 'slot'", params)
    return [d["value"] for d in (json.loads(r[0]) for r in rows) if d.get("name") == name]


def slot_values(sender: str, name: str) -> list[Any]:
    """The values a slot was set to in one conversation, oldest first."""
    return _slot_values("sender_id = ?", (sender,), name)


def user_and_bot_turns(sender: str) -> list[tuple[str, str]]:
    """(type, text) of one conversation's user and bot events, oldest first."""
    rows = _stored("type_name, data", "sender_id = ? AND type_name IN ('user', 'bot')", (sender,))
    return [(kind, json.loads(data).get("text") or "") for kind, data in rows]


def user_parse_data(sender: str) -> list[dict[str, Any]]:
    """The stored parse data of one conversation's user messages, oldest first."""
    rows = _stored("data", "sender_id = ? AND type_name = 'user'", (sender,))
    return [json.loads(r[0]).get("parse_data") or {} for r in rows]


def slot_values_since(since: float, name: str) -> list[Any]:
    """The values a slot was set to in any conversation since a time, oldest first (for random sender ids)."""
    return _slot_values("timestamp >= ?", (since,), name)


def wait_for_slot(sender: str, name: str, timeout: float = 30) -> list[Any]:
    """Slot values once at least one is stored (the tracker is saved right after the reply is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        values = slot_values(sender, name)
        if values or time.monotonic() > deadline:
            return values
        time.sleep(0.3)
