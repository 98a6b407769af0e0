"""Find the passage that answers a question, or say honestly that none does.

Dense similarity (e5) ranks well but its scores bunch together, so it cannot
tell "not in the article" on its own. A lexical signal, the share of the
question's content words (stemmed, IDF-weighted) found in a paragraph,
separates covered from uncovered questions. A paragraph answers when either
signal is strong enough; the thresholds live in settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .chunk import Passage, split_sentences
from .embed import Embedder
from .index import LoadedIndex, load_index
from .lexical import LexicalIndex
from .meta import meta_answer
from .parse import Article, Paragraph, parse_article
from .settings import Settings, get_settings
from .suggest import Suggestion, suggestions
from .text import content_terms, stopwords, words

LEXICAL_WEIGHT = 0.15
SENTENCE_MARGIN = 0.015


@dataclass(frozen=True)
class Hit:
    """One paragraph as a candidate answer, with the signals that ranked it."""

    article_id: str
    paragraph: int
    dense: float
    lexical: float
    score: float
    sentences: tuple[Passage, ...]


@dataclass(frozen=True)
class Answer:
    """What the bot says: the trimmed passage and its citation, or an honest abstention."""

    question: str
    found: bool
    text: str
    article_id: str | None = None
    paragraph: int | None = None
    start: int | None = None
    end: int | None = None
    citation: str | None = None
    score: float = 0.0
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for channels that render citations themselves."""
        return {
            "question": self.question, "found": self.found, "text": self.text, "article_id": self.article_id,
            "paragraph": self.paragraph, "span": [self.start, self.end] if self.start is not None else None,
            "citation": self.citation, "score": round(self.score, 4), "suggestions": self.suggestions,
        }


class Retriever:
    """Answers questions from the built index; load once per process with warm_up()."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.query_prefix, settings.passage_prefix
        )
        self._index: LoadedIndex | None = None
        self._articles: dict[str, Article] = {}
        self._lexical: LexicalIndex | None = None
        self._suggestions: list[Suggestion] = []

    def warm_up(self) -> None:
        """Load the index (refusing a stale one) and the model, and prepare lexical statistics."""
        if self._index is not None:
            return
        index = load_index(self.settings)
        self.embedder.warm_up()
        articles_dir = self.settings.articles_dir
        self._articles = {
            aid: parse_article(articles_dir / meta["path"]) for aid, meta in index.manifest["articles"].items()
        }
        self._lexical = LexicalIndex(self._articles.values())
        self._index = index
        self._suggestions = self._verified_suggestions()

    def _verified_suggestions(self) -> list[Suggestion]:
        """Suggestions that this retriever really answers from the paragraph they came from.

        A button that leads to "not in the article" would be worse than none.
        """
        candidates = [s for a in self._articles.values() for s in suggestions(a)]
        return [s for s in candidates if (a := self.answer(s.question)).found and a.paragraph in s.paragraphs]

    @property
    def index(self) -> LoadedIndex:
        """The loaded index; a clear error when warm_up() was skipped."""
        if self._index is None:
            raise RuntimeError("Retriever used before warm_up(); call warm_up() first")
        return self._index

    @property
    def articles(self) -> dict[str, Article]:
        """The parsed articles the index was built from."""
        self.index  # noqa: B018 - raises before warm_up
        return self._articles

    @property
    def lexical(self) -> LexicalIndex:
        """Stemmed paragraph terms and IDF weights."""
        self.index  # noqa: B018 - raises before warm_up
        assert self._lexical is not None
        return self._lexical

    def search(self, question: str, k: int = 5) -> list[Hit]:
        """Paragraphs ranked by dense similarity plus lexical coverage, best first."""
        index = self.index
        query = self.embedder.embed_queries([question])
        n = index.vectors.ntotal
        scores, ids = index.vectors.search(query, min(n, max(64, 8 * k)))
        best_dense: dict[tuple[str, int], float] = {}
        sentence_scores: dict[tuple[str, int], list[tuple[float, Passage]]] = {}
        for score, pid in zip(scores[0], ids[0], strict=True):
            if pid < 0:
                continue
            passage = index.passages[pid]
            key = (passage.article_id, passage.paragraph)
            best_dense[key] = max(best_dense.get(key, -1.0), float(score))
            if passage.kind == "sentence":
                sentence_scores.setdefault(key, []).append((float(score), passage))
        terms = content_terms(question)
        hits = []
        for key, dense in best_dense.items():
            lexical = self.lexical.coverage(terms, key)
            ranked = sorted(sentence_scores.get(key, []), key=lambda sp: -sp[0])
            top = ranked[0][0] if ranked else 0.0
            chosen = sorted(
                (p for s, p in ranked if s >= top - SENTENCE_MARGIN), key=lambda p: p.sentence
            )
            hits.append(Hit(key[0], key[1], dense, lexical, dense + LEXICAL_WEIGHT * lexical, tuple(chosen)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def is_answerable(self, hit: Hit) -> bool:
        """Either signal alone must be strong: close meaning, or most content words present."""
        s = self.settings
        return hit.dense >= s.min_dense_score or (
            hit.lexical >= s.min_lexical_score and hit.dense >= s.min_dense_with_words
        )

    def paragraph(self, article_id: str, number: int) -> Paragraph:
        """A body paragraph by article and number."""
        return self.articles[article_id].paragraphs[number - 1]

    def citation(self, article_id: str, paragraph: int) -> str:
        """A short source line: paragraph number, source and year."""
        article = self.articles[article_id]
        return f"paragraf {paragraph}, {article.label}"

    def suggest(
        self, exclude_paragraph: int | None = None, exclude: str = "", limit: int | None = None
    ) -> list[str]:
        """Questions the article answers, one per paragraph, skipping the one just answered."""
        limit = self.settings.suggestions if limit is None else limit
        picked: list[str] = []
        used: set[int] = set()
        for s in self._suggestions:
            if exclude_paragraph in s.paragraphs or s.paragraph in used or s.question.lower() == exclude.lower():
                continue
            picked.append(s.question)
            used.add(s.paragraph)
            if len(picked) == limit:
                break
        return picked

    def answer(self, question: str) -> Answer:
        """The best answering passage trimmed to its relevant sentences, or an honest 'not covered'."""
        hits = self.search(question, k=3)
        about = self.articles[hits[0].article_id] if hits else next(iter(self.articles.values()))
        meta = meta_answer(question, about)
        if meta:
            return Answer(
                question=question, found=True, text=meta, article_id=about.id,
                citation=f"keterangan artikel, {about.label}", suggestions=self.suggest(exclude=question),
            )
        if not hits or not self.is_answerable(hits[0]):
            return Answer(
                question=question, found=False, text=not_covered(question),
                score=hits[0].score if hits else 0.0, suggestions=self.suggest(exclude=question),
            )
        best = hits[0]
        para = self.paragraph(best.article_id, best.paragraph)
        if best.sentences:
            lo, hi = whole_quotes(
                para.text, best.sentences[0].start - para.start, best.sentences[-1].end - para.start
            )
            start, end, text = para.start + lo, para.start + hi, para.text[lo:hi]
        else:
            start, end, text = para.start, para.end, para.text
        return Answer(
            question=question, found=True, text=text, article_id=best.article_id, paragraph=best.paragraph,
            start=start, end=end, citation=self.citation(best.article_id, best.paragraph), score=best.score,
            suggestions=self.suggest(exclude_paragraph=best.paragraph, exclude=question),
        )


QUOTE_MARKS = '"“”'


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


def not_covered(question: str) -> str:
    """The honest reply, echoing the asked topic in the user's own words (never the article's)."""
    sw = stopwords()
    topic = " ".join(w for w in words(question) if w not in sw)[:80].strip()
    about = f" soal {topic}" if topic else " hal itu"
    return f"Maaf, artikel ini tidak membahas{about}. Coba tanyakan hal lain tentang isi artikelnya."


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached_retriever() -> Retriever:
    retriever = Retriever(get_settings())
    retriever.warm_up()
    return retriever


def get_retriever() -> Retriever:
    """The process-wide retriever: model and index loaded once, on first use."""
    with _lock:
        return _cached_retriever()


def _dense_scores(retriever: Retriever, question: str) -> np.ndarray:
    """Scores of every stored passage; for calibration scripts and tests."""
    query = retriever.embedder.embed_queries([question])
    scores, _ = retriever.index.vectors.search(query, retriever.index.vectors.ntotal)
    return scores[0]
