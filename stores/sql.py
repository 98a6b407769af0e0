"""Rasa's SQL tracker store, without the per-turn query vector in stored user messages, and SQLite in WAL mode.

The NLU featurizer puts each message's e5 vector in its parse data
(`knowledge.embed.QUERY_VECTOR`), so that the action server need not embed
the question a second time. The vector is needed during that one turn only.
Stored, it would add 2 kB to every user message in the database, and Rasa
would send every old one back to the action server with each later call. So
it is dropped from the conversation's user messages just before they are
saved. Everything else is saved as Rasa saves it.

With SQLite (bot/endpoints.yml, the one-machine default), Rasa commits twice
per message, and in SQLite's default rollback-journal mode every commit waits
for the disk: 10-25 ms per message on this shared machine (py-spy on the Rasa
server, docs/performance.md), where the stock bot's in-memory store costs
nothing. In WAL mode with `synchronous=NORMAL` a commit only appends to the
write-ahead log; the database stays consistent, and a committed turn survives
a crash or restart of the server; only an operating-system crash or power cut
can lose the last turns. `TRACKER_SQLITE_SYNC=full` makes every commit wait
for the disk again. Connections are pooled: Rasa's engine opens and closes one
per session (SQLAlchemy 1.4's NullPool for SQLite), and when the last one
closes, SQLite checkpoints the log to disk, which is the same wait.
PostgreSQL (bot/endpoints-production.yml) is left as Rasa configures it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
import sqlalchemy.orm
import sqlalchemy.pool
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from knowledge.embed import QUERY_VECTOR
from knowledge.settings import tracker_sqlite_sync


def forget_query_vectors(tracker: DialogueStateTracker) -> None:
    """Remove the NLU's query vector from the parse data of the tracker's user messages."""
    for event in tracker.events:
        if isinstance(event, UserUttered):
            event.parse_data.pop(QUERY_VECTOR, None)  # type: ignore[misc]


class LeanSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that saves user messages without their query vector.

    Named in bot/endpoints*.yml as `stores.sql.LeanSQLTrackerStore`, with the same
    settings as Rasa's `type: SQL`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Rasa's store; with SQLite, pooled connections in WAL mode (see the module docstring).

        Rasa 3.6 builds `self.engine` with SQLAlchemy 1.4's default for SQLite, NullPool, and binds
        `self.sessionmaker` to it; both are replaced by an engine whose connections stay open.
        tests/test_stores.py fails if Rasa stops using them.
        """
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            return
        synchronous = tracker_sqlite_sync()
        url = self.engine.url
        self.engine.dispose()
        # One Rasa server uses its store from its event loop; a pooled connection may still change threads.
        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.QueuePool,
                                               connect_args={"check_same_thread": False})
        sqlalchemy.event.listen(self.engine, "connect", lambda connection, _: _sqlite_pragmas(connection, synchronous))
        self.sessionmaker = sqlalchemy.orm.sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Drop the vectors (used by this turn's actions, which have run), then save as Rasa does."""
        forget_query_vectors(tracker)
        await super().save(tracker)


def _sqlite_pragmas(connection: Any, synchronous: str) -> None:
    """WAL is stored in the database file; `synchronous` belongs to each connection."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()
