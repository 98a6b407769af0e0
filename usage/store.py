"""Reading and pruning Rasa's SQL tracker store (the `events` table), SQLite or PostgreSQL.

Plain SQL through SQLAlchemy rather than Rasa's SQLTrackerStore: Rasa's store retrieves
one conversation at a time, and it cannot delete conversations at all.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from usage.settings import ROOT

DAY = 86400.0
# Tracker store types that keep events in an SQL table (Rasa's own, and ours without query vectors).
SQL_STORES = ("SQL", "stores.sql.LeanSQLTrackerStore")


@dataclass(frozen=True)
class Row:
    """One stored event: the columns the usage tools need, with `data` decoded."""

    sender_id: str
    type_name: str
    timestamp: float
    action_name: str | None
    data: dict[str, Any]


def tracker_url_from(endpoints: Path) -> str:
    """The SQLAlchemy URL of an endpoints file's SQL tracker store, its `${VAR}`s filled from the environment.

    scripts/load.py uses it too. It says clearly when a `${VAR}` is unset
    (os.path.expandvars leaves it as it is, and the connection would fail later, obscurely).
    """
    raw = endpoints.read_text(encoding="utf-8")
    config = yaml.safe_load(os.path.expandvars(raw)).get("tracker_store") or {}
    if config.get("type") not in SQL_STORES:
        raise SystemExit(f"{endpoints} has no SQL tracker store; pass --tracker URL")
    unset = sorted({m for m in re.findall(r"\$\{(\w+)\}", json.dumps(config)) if m not in os.environ})
    if unset:
        raise SystemExit(f"{endpoints} needs these environment variables: {', '.join(unset)}")
    dialect = config.get("dialect", "sqlite")
    if dialect == "sqlite":
        db = Path(config.get("db", "rasa.db"))
        return f"sqlite:///{db if db.is_absolute() else ROOT / db}"
    url = sa.engine.URL.create(
        drivername=dialect, username=config.get("username"), password=config.get("password"),
        host=config.get("url"), port=int(config["port"]) if config.get("port") else None, database=config.get("db"),
    )
    return url.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The URL without its password, for messages and the report."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _engine(url: str) -> sa.engine.Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            # SQLite would create an empty file; an owner who mistyped the path should hear about it.
            raise SystemExit(f"no tracker store at {path}: start the bot once (make run), or pass --tracker URL")
    return sa.create_engine(url)


def read_rows(url: str) -> Iterator[Row]:
    """Every event, grouped by conversation and in stored order (streamed, not loaded at once)."""
    engine = _engine(url)
    query = sa.text(
        "SELECT sender_id, type_name, timestamp, action_name, data FROM events ORDER BY sender_id, id"
    )
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(query)
            for sender, kind, timestamp, action, data in result:
                try:
                    decoded = json.loads(data) if data else {}
                except ValueError:
                    decoded = {}
                yield Row(sender, kind, float(timestamp or 0.0), action, decoded if isinstance(decoded, dict) else {})
    finally:
        engine.dispose()


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, with dry_run, would remove)."""

    conversations: int
    events: int
    cutoff: float
    dry_run: bool


# Conversations whose newest event is older than the cutoff. Wrapped in a derived table so the
# DELETE below may read the table it deletes from on every SQL dialect Rasa supports.
_STALE = (
    "SELECT sender_id FROM (SELECT sender_id FROM events GROUP BY sender_id "
    "HAVING MAX(timestamp) < :cutoff) AS stale"
)


def prune(url: str, days: float, now: float | None = None, dry_run: bool = False) -> PruneResult:
    """Delete every conversation, all its events, whose last event is older than `days` days.

    Whole conversations only: deleting old events of a live conversation would leave Rasa
    a tracker with its beginning cut off. One transaction, so a crash deletes nothing.
    """
    if days < 0:
        raise ValueError("days must be 0 or more")
    cutoff = (time.time() if now is None else now) - days * DAY
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                # Overwrite deleted text with zeros; otherwise it stays readable in the file's free pages.
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            conversations, events = conn.execute(
                sa.text(f"SELECT COUNT(DISTINCT sender_id), COUNT(*) FROM events WHERE sender_id IN ({_STALE})"),
                {"cutoff": cutoff},
            ).one()
            if not dry_run and conversations:
                events = conn.execute(
                    sa.text(f"DELETE FROM events WHERE sender_id IN ({_STALE})"), {"cutoff": cutoff}
                ).rowcount
    finally:
        engine.dispose()
    return PruneResult(int(conversations), int(events or 0), cutoff, dry_run)
