"""Measured signals for the fitted scorer: per candidate paragraph, per question, per sentence.

Each feature is generic: a similarity, a share of the question's words, whether
the text holds the kind of thing asked for, whether the person asked about is
the one speaking. None of them names an article's words. Their weights come
from the dev split (scripts/fit_answer_model.py, knowledge/model/).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from .extract import Speaker, attributions, evidence, focus_count, has_number, person_name
from .lexical import Key, LexicalIndex, name_pieces, writes
from .parse import Paragraph
from .question import PAST, Question
from .retrieve import Candidate
from .text import content_terms, normalize

TYPED = {"count", "when", "who", "who_said", "where", "quote", "define"}

# Word-based features count only for Indonesian questions: an English question shares names and numbers
# with the article, not words, and is matched by the multilingual embedding.
RANK_FEATURES = (
    "dense", "best", "dense_gap", "best_gap", "bm25", "coverage", "sentence_coverage", "loose_only", "focus",
    "evidence", "focus_count", "no_number", "speaker_same", "speaker_other", "names", "numbers", "background",
    "lead", "previous", "background_now",
)
ANSWER_FEATURES = (
    "top_score", "margin", "top_best", "top_z", "coverage", "sentence_coverage", "focus", "evidence", "focus_count",
    "unknown", "unknown_loose", "unknown_terms", "focus_unknown", "unknown_names", "unknown_numbers", "english",
    "names",
)
SENTENCE_FEATURES = ("dense", "gap", "coverage", "focus", "evidence", "focus_count", "names", "first", "speaker")


def background(text: str) -> bool:
    """A paragraph that opens on an earlier time ("Tahun lalu, ...", "Sebelumnya, ...") tells the background.

    Only the opening counts: "tidak pernah" or "lebih dulu" inside a paragraph about now does not make it one.
    """
    opening = normalize(text.split(",", 1)[0]) if "," in text else ""
    return len(opening.split()) <= 4 and bool(PAST.search(opening))


def _share(wanted: set[str], have: set[str]) -> float:
    return len(wanted & have) / len(wanted) if wanted else 0.0


def _names_share(q: Question, text: str) -> float:
    if not q.names:
        return 0.0
    low = normalize(text)
    return sum(all(writes(p, low) for p in name_pieces(n)) for n in q.names) / len(q.names)


def _numbers_share(q: Question, text: str) -> float:
    if not q.numbers:
        return 0.0
    return sum(n in normalize(text) for n in q.numbers) / len(q.numbers)


@dataclass(frozen=True)
class Asked:
    """What features need about the asking: the person named, the paragraphs of the previous answer, and what a
    follow-up swapped in."""

    speaker: Speaker | None = None
    previous: tuple[Key, ...] = ()
    followup: bool = False
    swapped_in: tuple[str, ...] = ()  # terms a follow-up puts in place of the previous question's focus


def rank_features(
    q: Question, candidates: list[Candidate], paragraphs: dict[Key, Paragraph], lexical: LexicalIndex,
    speakers: dict[Key, Speaker], asked: Asked,
) -> list[dict[str, float]]:
    """One feature row per candidate, in the candidates' order."""
    if not candidates:
        return []
    top_dense = max(c.dense for c in candidates)
    top_best = max(c.best for c in candidates)
    top_bm25 = max(c.bm25 for c in candidates) or 1.0
    indonesian = 0.0 if q.english else 1.0
    past, present = q.past, q.present  # properties that read the question: once, not per candidate
    rows = []
    for c in candidates:
        text = paragraphs[c.key].text
        earlier = background(text)
        terms = lexical.terms[c.key]
        coverage = lexical.coverage(q.terms, c.key)
        here = speakers.get(c.key)
        named = asked.speaker
        rows.append({
            "dense": c.dense,
            "best": c.best,
            "dense_gap": c.dense - top_dense,
            "best_gap": c.best - top_best,
            "bm25": indonesian * c.bm25 / top_bm25,
            "coverage": indonesian * coverage,
            "sentence_coverage": indonesian * best_sentence_coverage(q, c.key, lexical),
            "loose_only": indonesian * max(0.0, lexical.coverage(q.loose, c.key, loose=True) - coverage),
            "focus": indonesian * _share(set(q.focus), terms),
            "evidence": float(q.kind in TYPED and evidence(q, text)),
            "focus_count": float(focus_count(q, text)),
            "no_number": float(q.kind == "count" and not has_number(text)),
            "speaker_same": float(named is not None and here is not None and here.name == named.name),
            "speaker_other": float(named is not None and here is not None and here.name != named.name),
            "names": _names_share(q, text),
            "numbers": _numbers_share(q, text),
            "background": (-1.0 if past else 1.0) * earlier,
            "lead": float(c.paragraph == 1),
            # The previous answer's paragraph, unless the follow-up swaps in what it never writes ("kalau di SMK?")
            "previous": float(asked.followup and c.key in asked.previous and set(asked.swapped_in) <= terms),
            "background_now": float(present and not past and earlier),
        })
    return rows


def answer_features(
    q: Question, ranked: list[Candidate], scores: list[float], rows: list[dict[str, float]], lexical: LexicalIndex,
) -> dict[str, float]:
    """The question-level signals of answerability, from the ranked candidates of one article."""
    top, row = ranked[0], rows[0]
    bests = [c.best for c in ranked]
    spread = statistics.pstdev(bests) if len(bests) > 1 else 0.0
    article = top.article_id
    vocab = lexical.vocabulary[article]
    indonesian = 0.0 if q.english else 1.0
    unknown_names = [n for n in q.names if not lexical.knows_name(n, article)]
    unknown_terms = {t for t in q.terms if t not in vocab}
    # A word whose full stem the article uses ("penyebab" against "disebabkan") is less surely missing;
    # the full stem alone never counts as the word ("harga" is not in "penghargaan"), it only weighs less.
    loose_unknown = {t for t, lo in zip(q.terms, q.loose, strict=True) if t not in vocab and lo not in vocab}
    return {
        "top_score": scores[0],
        "margin": scores[0] - scores[1] if len(scores) > 1 else 5.0,
        "top_best": top.best,
        "top_z": (top.best - statistics.fmean(bests)) / spread if spread > 0 else 0.0,
        "coverage": row["coverage"],
        "sentence_coverage": row["sentence_coverage"],
        "focus": row["focus"],
        "evidence": row["evidence"],
        "focus_count": row["focus_count"],
        "unknown": indonesian * lexical.unknown_share(q.terms, article, vocab),
        "unknown_loose": indonesian * _weighted_share(loose_unknown, set(q.terms), lexical, article),
        "unknown_terms": indonesian * min(3, len(unknown_terms)),
        "focus_unknown": indonesian * _share(set(q.focus), unknown_terms),
        "unknown_names": float(min(2, len(unknown_names))),
        "unknown_numbers": float(any(not lexical.knows_number(n, article) for n in q.numbers)),
        "english": float(q.english),
        "names": row["names"],
    }


def _weighted_share(part: set[str], whole: set[str], lexical: LexicalIndex, article_id: str) -> float:
    """The IDF-weighted share of `whole` that `part` makes up."""
    total = sum(lexical.idf(article_id, t) for t in whole)
    return sum(lexical.idf(article_id, t) for t in part) / total if total else 0.0


def best_sentence_coverage(q: Question, key: Key, lexical: LexicalIndex) -> float:
    """The IDF-weighted share of the question's terms found together in one sentence of the paragraph."""
    wanted = set(q.terms)
    if not wanted:
        return 0.0
    weights = {t: lexical.idf(key[0], t) for t in wanted}
    total = sum(weights.values())
    return max((sum(w for t, w in weights.items() if t in terms) / total for terms in lexical.sentence_terms[key]),
               default=0.0)


def sentence_features(
    q: Question, sentences: list[tuple[str, float]], lexical: LexicalIndex, article_id: str,
    speaker: Speaker | None,
) -> list[dict[str, float]]:
    """One row per sentence of the chosen paragraph (its text and its similarity to the question)."""
    top = max((s for _, s in sentences), default=0.0)
    wanted = set(q.terms)
    weights = {t: lexical.idf(article_id, t) for t in wanted}
    total = sum(weights.values()) or 1.0
    rows = []
    for i, (text, score) in enumerate(sentences):
        terms = set(content_terms(text))
        said = {person_name(w) for w in attributions(text) if w != "ia"}
        rows.append({
            "dense": score,
            "gap": score - top,
            "coverage": sum(w for t, w in weights.items() if t in terms) / total,
            "focus": _share(set(q.focus), terms),
            "evidence": float(q.kind in TYPED and evidence(q, text)),
            "focus_count": float(focus_count(q, text)),
            "names": _names_share(q, text),
            "first": float(i == 0),
            "speaker": float(speaker is not None and (speaker.name in said or bool(re.search(
                r"\b(?:kata|ujar)nya\b", text)))),
        })
    return rows
