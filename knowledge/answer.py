"""The reply: a precise lead when one can be found, then the quoted source and its citation.

Readers want the fact first ("82 WBBM"), then the sentence that proves it.
Every lead is a span of the article or of its byline, so nothing is said that
the article does not say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .chunk import split_sentences
from .followup import Context
from .text import stopwords, words

QUOTE_MARKS = '"“”'


@dataclass(frozen=True)
class Answer:
    """What the bot says, with the structure channels need to render it their way."""

    question: str
    found: bool
    text: str  # the full reply as plain text
    lead: str | None = None
    quote: str | None = None
    article_id: str | None = None
    paragraph: int | None = None
    start: int | None = None
    end: int | None = None
    citation: str | None = None
    score: float = 0.0
    resolved: str = ""
    suggestions: list[str] = field(default_factory=list)
    context: Context = field(default_factory=Context)
    # Did-you-mean: two passages tie, so the reader picks one (title, payload).
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passages(self) -> list[str]:
        """Ids of the passages the answer quotes, "<article id>#<paragraph>"."""
        return [f"{self.article_id}#{self.paragraph}"] if self.article_id and self.paragraph is not None else []

    def record(self) -> dict[str, object]:
        """What the conversation keeps of this answer, so feedback and usage reports can refer to it."""
        return {
            "question": self.question, "resolved": self.resolved, "found": self.found, "article_id": self.article_id,
            "paragraph": self.paragraph, "passages": self.passages, "text": self.text, "score": round(self.score, 4),
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for channels that render citations themselves."""
        return {
            "question": self.question, "resolved": self.resolved, "found": self.found, "text": self.text,
            "lead": self.lead, "quote": self.quote, "article_id": self.article_id, "paragraph": self.paragraph,
            "span": [self.start, self.end] if self.start is not None else None, "citation": self.citation,
            "score": round(self.score, 4), "suggestions": self.suggestions,
            "choices": [{"title": t, "payload": p} for t, p in self.choices],
        }


def compose(lead: str | None, quote: str, citation: str) -> str:
    """Lead, then the quoted source sentence, then where it stands in the article."""
    body = f"{lead}\n\n{quote}" if lead and lead.strip() != quote.strip() else quote
    return f"{body}\n\n(Sumber: {citation})"


def whole_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a sentence span so it never cuts a quotation in half.

    A quote often runs over two sentences with the speaker named only at the
    end; answering with half of it loses either the words or who said them.
    """
    spans = split_sentences(text)
    inside = [sum(text[:s].count(q) for q in QUOTE_MARKS) % 2 == 1 for s, _ in spans]
    first = next(i for i, (s, e) in enumerate(spans) if e > start)
    last = max(i for i, (s, e) in enumerate(spans) if s < end)
    while first > 0 and inside[first]:
        first -= 1
    while last + 1 < len(spans) and inside[last + 1]:
        last += 1
    return spans[first][0], spans[last][1]


ASK_ELSE = "Coba tanyakan hal lain tentang isi artikelnya."  # how every "not covered" reply ends


def not_covered(question: str, missing: str | None = None) -> str:
    """The honest reply, echoing the asked topic in the user's own words (never the article's)."""
    sw = stopwords()
    topic = missing or " ".join(w for w in words(question) if w not in sw)[:80].strip()
    about = f" soal {topic}" if topic else " hal itu"
    return f"Maaf, artikel ini tidak membahas{about}. {ASK_ELSE}"


def not_defined(abbreviations: list[str]) -> str:
    """The honest reply to "apa kepanjangan X?" when the article writes X but never spells it out."""
    named = " dan ".join(abbreviations)
    return f"Maaf, artikel ini tidak menuliskan kepanjangan {named}. {ASK_ELSE}"
