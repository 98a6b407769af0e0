"""Rasa's SQL tracker store, without the per-turn query vector in stored user messages.

The NLU featurizer puts each message's e5 vector in its parse data
(`knowledge.embed.QUERY_VECTOR`), so that the action server need not embed
the question a second time. The vector is needed during that one turn only.
Stored, it would add 2 kB to every user message in the database, and Rasa
would send every old one back to the action server with each later call. So
it is dropped from the conversation's user messages just before they are
saved. Everything else is saved as Rasa saves it.
"""

from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from knowledge.embed import QUERY_VECTOR


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

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Drop the vectors (used by this turn's actions, which have run), then save as Rasa does."""
        forget_query_vectors(tracker)
        await super().save(tracker)
