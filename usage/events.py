"""Stored events turned into conversations of turns: what was asked, how it was answered, how it was rated.

A turn is one user message and every event up to the next one. A new session ends the turn
before it: Rasa's session start copies the slots over (`last_answer`, `feedback`), and those
copies must not count as a second answer or a second rating.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from usage.store import Row

ANSWER_ACTION = "action_answer_question"
FALLBACK_INTENT = "nlu_fallback"
# Buttons of a "which one?" reply: a passage, or an article, to pick.
CHOICE_PAYLOADS = ("/choose_passage", "/choose_article")


@dataclass(frozen=True)
class Answer:
    """The `last_answer` slot the answer action sets (or, in conversations stored before that slot
    existed, the `answer` metadata of the bot message, which has the same fields but `passages`)."""

    question: str
    resolved: str
    found: bool
    article_id: str | None
    paragraph: int | None
    passages: tuple[str, ...]
    text: str
    score: float | None

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Answer:
        """Tolerant of missing keys: a report should not fail on one odd event."""
        question = str(value.get("question") or "")
        article, paragraph = value.get("article_id"), value.get("paragraph")
        passages = value.get("passages")
        if passages is None:
            passages = [f"{article}#{paragraph}"] if article and paragraph is not None else []
        score = value.get("score")
        return cls(
            question=question,
            resolved=str(value.get("resolved") or question),
            found=bool(value.get("found")),
            article_id=str(article) if article else None,
            paragraph=int(paragraph) if isinstance(paragraph, int | float) else None,
            passages=tuple(str(p) for p in passages),
            text=str(value.get("text") or ""),
            score=float(score) if isinstance(score, int | float) else None,
        )


@dataclass(frozen=True)
class Feedback:
    """One 👍/👎 click: the `feedback` slot the feedback action sets."""

    rating: str
    question: str
    answer: str
    passages: tuple[str, ...]
    timestamp: float

    @classmethod
    def from_dict(cls, value: dict[str, Any], timestamp: float) -> Feedback:
        """`passages` falls back to article#paragraph, like Answer."""
        article, paragraph = value.get("article_id"), value.get("paragraph")
        passages = value.get("passages")
        if passages is None:
            passages = [f"{article}#{paragraph}"] if article and paragraph is not None else []
        return cls(
            rating=str(value.get("rating") or ""),
            question=str(value.get("question") or ""),
            answer=str(value.get("answer") or ""),
            passages=tuple(str(p) for p in passages),
            timestamp=timestamp,
        )


@dataclass
class Turn:
    """One user message and what followed it."""

    text: str
    timestamp: float
    intent: str | None
    confidence: float | None
    ranking: list[tuple[str, float]]
    answer: Answer | None = None
    # Seconds from the user event to the stored answer-action event (docs/usage-reports.md).
    answer_latency: float | None = None
    offered_choices: bool = False
    rated: bool = False  # the message rated the last answer (a 👍/👎 button, or typed: "salah", "bagus")

    @property
    def is_payload(self) -> bool:
        """A button payload (`/feedback{...}`, `/choose_passage{...}`) rather than words a reader typed."""
        return self.text.startswith("/")

    @property
    def outcome(self) -> str | None:
        """answered, clarified ("which one?") or abstained ("not in the article"); None without an answer.

        A "which one?" reply and an answer from the byline ("who wrote it?") both have found=True
        and no paragraph; only the reply's buttons tell them apart.
        """
        if self.answer is None:
            return None
        if not self.answer.found:
            return "abstained"
        return "clarified" if self.offered_choices else "answered"

    @property
    def is_question(self) -> bool:
        """Typed (or a suggested question clicked, whose payload is the question) and answered from an article.

        A typed 👎 ("salah") is answered too, with the next best passage for the question it
        rated; that answer belongs to the earlier question, not to a new one.
        """
        return self.answer is not None and not self.is_payload and not self.rated

    def best_intent(self) -> tuple[str | None, float | None]:
        """The intent NLU would have chosen, and its confidence, even when the fallback took over.

        With nlu_fallback on top, the FallbackClassifier's own confidence is only its threshold;
        the interesting figure is that of the best real intent below it.
        """
        if self.intent != FALLBACK_INTENT:
            return self.intent, self.confidence
        for name, confidence in self.ranking:
            if name != FALLBACK_INTENT:
                return name, confidence
        return None, None


@dataclass
class Conversation:
    """Every event of one sender id (Rasa's conversation id), across sessions."""

    sender_id: str
    first: float
    last: float
    turns: list[Turn] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)

    def ratings(self) -> list[Feedback]:
        """Each rated answer once, with its last rating: a reader may change their mind."""
        latest: dict[tuple[str, str], Feedback] = {}
        for item in self.feedback:
            latest[(item.question, item.answer)] = item
        return [f for f in latest.values() if f.rating in ("up", "down")]


def _ranking(parse_data: dict[str, Any]) -> list[tuple[str, float]]:
    out = []
    for item in parse_data.get("intent_ranking") or []:
        if isinstance(item, dict) and item.get("name"):
            out.append((str(item["name"]), float(item.get("confidence") or 0.0)))
    return out


def _turn(row: Row) -> Turn:
    parse = row.data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    confidence = intent.get("confidence")
    return Turn(
        text=str(row.data.get("text") or ""),
        timestamp=row.timestamp,
        intent=intent.get("name"),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        ranking=_ranking(parse),
    )


def conversation_of(sender_id: str, rows: Iterable[Row]) -> Conversation:
    """One conversation's rows (in stored order) as turns and ratings."""
    rows = list(rows)
    conv = Conversation(sender_id, first=min(r.timestamp for r in rows), last=max(r.timestamp for r in rows))
    turn: Turn | None = None
    from_metadata: Answer | None = None

    def close() -> None:
        if turn is not None and turn.answer is None:
            turn.answer = from_metadata

    for row in rows:
        if row.type_name == "user":
            close()
            turn, from_metadata = _turn(row), None
            conv.turns.append(turn)
        elif row.type_name == "session_started":
            close()
            turn, from_metadata = None, None  # the slots copied over next are not new events of a turn
        elif turn is None:
            continue
        elif row.type_name == "action" and row.action_name == ANSWER_ACTION and turn.answer_latency is None:
            turn.answer_latency = max(0.0, row.timestamp - turn.timestamp)
        elif row.type_name == "slot" and isinstance(row.data.get("value"), dict):
            if row.data.get("name") == "last_answer":
                turn.answer = Answer.from_dict(row.data["value"])
            elif row.data.get("name") == "feedback":
                turn.rated = True
                conv.feedback.append(Feedback.from_dict(row.data["value"], row.timestamp))
        elif row.type_name == "bot":
            buttons = (row.data.get("data") or {}).get("buttons") or []
            payloads = [str(b.get("payload") or "") for b in buttons if isinstance(b, dict)]
            turn.offered_choices |= any(p.startswith(CHOICE_PAYLOADS) for p in payloads)
            metadata = row.data.get("metadata") or {}
            if from_metadata is None and isinstance(metadata.get("answer"), dict):
                from_metadata = Answer.from_dict(metadata["answer"])
    close()
    return conv


def conversations(rows: Iterable[Row]) -> Iterator[Conversation]:
    """Rows ordered by sender id, then stored order (as store.read_rows gives them), as conversations."""
    for sender, group in groupby(rows, key=lambda r: r.sender_id):
        yield conversation_of(sender, group)


def pseudonym(sender_id: str, salt: str) -> str:
    """A stable stand-in for a sender id: keyed, so it cannot be reversed by hashing guessed ids."""
    digest = hmac.new(salt.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return f"r-{digest[:10]}"
