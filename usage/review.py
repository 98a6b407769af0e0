"""`make review`: the messages NLU was unsure of, and the questions readers rated 👎, as NLU data to review.

Written in Rasa's NLU training-data format, but to reports/, never to bot/data/: a person
decides the intent of each example before anything is learnt from it (docs/usage-reports.md).
Each example is its own `- intent:` item, so that its YAML comment sits right above it
(a `#` inside an `examples: |` block would become part of the example's text) and so that
relabelling an example means editing one line.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from usage.cluster import normalise
from usage.events import Conversation, Feedback, Turn

# What a 👎 question is filed under when the turn that asked it cannot be found.
DEFAULT_INTENT = "ask_article"
# Rasa's entity markup: [text](entity), [text]{"entity": ...}, [text][{...}].
_ENTITY = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


@dataclass
class ReviewItem:
    """One distinct message to review, with why it was picked."""

    text: str
    intent: str
    confidence: float | None
    fallback: bool = False
    runner_up: tuple[str, float] | None = None
    count: int = 0  # times readers typed it, in any turn
    low_confidence: bool = False
    downvoted_answers: list[Feedback] = field(default_factory=list)

    def comment(self) -> str:
        """The YAML comment above the example: the predicted intent, its confidence, or 👎."""
        parts = []
        confidence = "?" if self.confidence is None else f"{self.confidence:.2f}"
        if self.low_confidence:
            parts.append(f"confidence {confidence} for {self.intent}" + (" (nlu_fallback)" if self.fallback else ""))
            if self.runner_up:
                parts.append(f"next {self.runner_up[0]} {self.runner_up[1]:.2f}")
        for feedback in self.downvoted_answers[:2]:
            answer = " ".join(feedback.answer.split())
            answer = answer if len(answer) <= 60 else answer[:59].rstrip() + "…"
            where = ", ".join(feedback.passages) or "no passage"
            parts.append(f"👎 on \"{answer}\" ({where})")
        if self.downvoted_answers and not self.low_confidence:
            parts.append(f"predicted {self.intent} {confidence}")
        parts.append(f"asked {self.count}x")
        return "# review: " + "; ".join(parts)


def example_text(text: str) -> str:
    """One line that Rasa reads back as exactly this text: no entity markup, no control characters."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat.replace("[", "(").replace("]", ")")


def training_examples(nlu_dir: Path) -> set[str]:
    """The examples bot/data/nlu already has (normalised), so they are not offered again."""
    known: set[str] = set()
    for path in sorted(nlu_dir.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            examples = item.get("examples") if isinstance(item, dict) else None
            if isinstance(examples, str):
                for line in examples.splitlines():
                    if line.strip().startswith("- "):
                        known.add(normalise(_ENTITY.sub(r"\1", line.strip()[2:])))
    return known


def _runner_up(turn: Turn, intent: str | None) -> tuple[str, float] | None:
    for name, confidence in turn.ranking:
        if name not in (intent, "nlu_fallback"):
            return name, confidence
    return None


def _asking_turn(conv: Conversation, feedback: Feedback) -> Turn | None:
    """The latest turn before the rating that asked this question."""
    best = None
    for turn in conv.turns:
        if turn.timestamp > feedback.timestamp:
            break
        asked = {turn.text, turn.answer.question if turn.answer else ""}
        if feedback.question in asked and not turn.is_payload and not turn.rated:
            best = turn
    return best


def review_items(convs: Iterable[Conversation], min_confidence: float, known: set[str]) -> list[ReviewItem]:
    """Low-confidence and 👎 messages, one item per distinct text (case, spaces and final marks ignored)."""
    items: dict[str, ReviewItem] = {}
    asked: Counter[str] = Counter()

    def item_for(text: str, turn: Turn | None) -> ReviewItem | None:
        key = normalise(text)
        if not key or text.startswith("/") or key in known:
            return None
        if key not in items:
            intent, confidence = turn.best_intent() if turn else (None, None)
            items[key] = ReviewItem(
                text=example_text(text), intent=intent or DEFAULT_INTENT, confidence=confidence,
                fallback=bool(turn and turn.intent == "nlu_fallback"),
                runner_up=_runner_up(turn, intent) if turn else None,
            )
        return items[key]

    for conv in convs:
        for turn in conv.turns:
            if not turn.is_payload:
                asked[normalise(turn.text)] += 1
            unsure = turn.intent == "nlu_fallback" or (turn.confidence is not None and turn.confidence < min_confidence)
            if unsure and (item := item_for(turn.text, turn)) is not None:
                item.low_confidence = True
        for feedback in conv.ratings():
            if feedback.rating != "down":
                continue
            turn = _asking_turn(conv, feedback)
            if (item := item_for(feedback.question, turn)) is not None:
                item.downvoted_answers.append(feedback)
    for key, item in items.items():
        item.count = max(1, asked[key])
    return sorted(items.values(), key=lambda i: (i.intent, -i.count, i.text.casefold()))


HEADER = """\
# Generated by `make review` on {date} from {source}.
# NOT training data, and nothing reads this file. {n} examples to review: messages NLU was unsure of
# (top intent below {threshold}, or nlu_fallback) and questions whose answer a reader rated 👎; examples
# bot/data/nlu/ already has are left out. For each item: keep it, fix its `- intent:` line (an intent of
# bot/domain.yml), or delete it (nonsense, personal data, a 👎 that was retrieval's fault and not NLU's).
# Then move the examples into bot/data/nlu/ and run `make validate` (docs/usage-reports.md).
"""

def render_review(items: list[ReviewItem], source: str, threshold: float, now: float | None = None) -> str:
    """The YAML file: a header, then one commented item per example."""
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now or time.time()))
    out = [HEADER.format(date=date, source=source, n=len(items), threshold=threshold), 'version: "3.1"']
    if not items:
        return "\n".join([*out, "nlu: []", ""])
    out.append("nlu:")
    for item in items:
        out += [item.comment(), f"- intent: {item.intent}", "  examples: |", f"    - {item.text}"]
    return "\n".join([*out, ""])
