"""Lexical evidence: which of the question's content words a paragraph contains.

Words are compared as Sastrawi stems after chat spellings are expanded. An
abbreviation that the article defines ("Wilayah Bebas Korupsi (WBK)") counts
as present wherever its long form is, and the other way round, so "WBK"
matches a paragraph that only spells the name out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from .lexicon import translate
from .parse import Article
from .text import content_terms, normalize, stem, words

MIN_STEM = 5
PRIVATIVE = {"bebas", "anti", "tanpa", "tidak", "bukan", "nir"}
DEFINITION = re.compile(
    r"(?P<long>(?:[A-Z][\w-]*\s+)(?:(?:[a-z]{2,6}\s+)?[A-Z][\w-]*\s+){1,8})\((?P<abbr>[A-Z]{2,}[A-Za-z]*)\)"
)


def abbreviations(articles: Iterable[Article]) -> dict[str, str]:
    """ABBR -> long form, from every "Long Name (ABBR)" in the articles."""
    found: dict[str, str] = {}
    for article in articles:
        for para in article.paragraphs:
            for m in DEFINITION.finditer(para.text):
                found.setdefault(m["abbr"], m["long"].strip())
    return found


class LexicalIndex:
    """Stemmed term sets per paragraph with IDF weights, for coverage scores."""

    def __init__(self, articles: Iterable[Article], extra: dict[tuple[str, int], set[str]] | None = None) -> None:
        """`extra` adds terms a paragraph implies without writing them, e.g. who "dia" is."""
        articles = list(articles)
        extra = extra or {}
        self.abbreviations = abbreviations(articles)
        self._long_terms = {a.lower(): set(content_terms(long)) for a, long in self.abbreviations.items()}
        self._known_abbr = set(self._long_terms)
        self.terms: dict[tuple[str, int], set[str]] = {}
        self.vocabulary: set[str] = set()
        self._privative: dict[str, bool] = {}  # word -> only ever written as "bebas/anti/tanpa ... word"
        for article in articles:
            for para in article.paragraphs:
                tokens = words(para.text)
                for i, w in enumerate(tokens):
                    negated = i > 0 and (tokens[i - 1] in PRIVATIVE or (
                        i > 1 and tokens[i - 1] == "dari" and tokens[i - 2] in PRIVATIVE))
                    self._privative[w] = self._privative.get(w, True) and negated
                key = (article.id, para.number)
                self.terms[key] = self._with_abbreviations(set(content_terms(para.text)) | extra.get(key, set()))
                self.vocabulary.update(words(para.text))
        n = len(self.terms)
        df = Counter(t for terms in self.terms.values() for t in terms)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def _with_abbreviations(self, terms: set[str]) -> set[str]:
        out = set(terms)
        for abbr, long in self._long_terms.items():
            if abbr in terms:
                out |= long
            elif long and long <= terms:
                out.add(abbr)
        return out

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question that no paragraph of the articles mentions.

        A question about "Persib" or "RUU PDP" cannot be answered from an
        article that never names them, however close the embeddings are.
        """
        unknown = []
        for name in self.names_in(question):
            pieces = [re.sub(r"(?:['’]s|-nya)$", "", t) for t in name.split()]
            if not all(self._known(part) for piece in pieces for part in piece.split("-") if part):
                unknown.append(name)
        return unknown

    def knows(self, word: str) -> bool:
        """Whether the articles use this word (or its stem) anywhere in their paragraphs.

        Short stems collide ("didirikan" and "terdiri" both stem to "diri"), so
        a stem counts only when it is long enough to be specific.
        """
        root = stem(word)
        return word in self.vocabulary or (len(root) >= MIN_STEM and root in self.idf) or self._known(word)

    def _known(self, word: str) -> bool:
        if normalize(word) in self._known_abbr:
            return True
        tokens = words(word)
        return all(w in self.vocabulary for w in tokens) or all(
            w in self.vocabulary for w in translate(tokens, english=True)
        )

    def only_negated(self, question: str) -> list[str]:
        """Words the question asserts but the articles only ever negate ("korupsi" in "Bebas Korupsi").

        "Siapa yang korupsi?" is not answered by a paragraph about being free of corruption.
        """
        tokens = words(question)
        found = []
        for i, w in enumerate(tokens):
            negated_here = i > 0 and tokens[i - 1] in PRIVATIVE
            if self._privative.get(w) and not negated_here:
                found.append(w)
        return found

    @staticmethod
    def names_in(question: str) -> list[str]:
        """Runs of capitalised words ("Ma'ruf Amin", "WBBM"), not counting the question's first word."""
        names: list[str] = []
        run: list[str] = []
        for i, token in enumerate(question.replace("?", " ").split()):
            bare = token.strip(".,;:!\"“”()")
            looks_like_name = bare[:1].isupper() or any(c.isupper() for c in bare[1:])  # iPhone, eKTP
            capital = len(bare) > 1 and looks_like_name and not (i == 0 and bare[1:].islower())
            if capital:
                run.append(bare)
                if token != bare and token.rstrip("?") != bare:  # punctuation ends a name
                    names.append(" ".join(run))
                    run = []
            elif run:
                names.append(" ".join(run))
                run = []
        if run:
            names.append(" ".join(run))
        return names

    def paragraphs_with_all(self, names: list[str]) -> list[tuple[str, int]]:
        """Paragraphs that mention every one of these names (abbreviations and long forms alike)."""
        wanted = [set(content_terms(n)) for n in names]
        return [k for k, terms in self.terms.items() if all(w and w <= terms for w in wanted)]

    def known_share(self, terms: Iterable[str]) -> float:
        """Share of the question's content words that the articles use at all."""
        wanted = set(terms)
        return sum(t in self.idf for t in wanted) / len(wanted) if wanted else 0.0

    def weight(self, term: str) -> float:
        """IDF of a term; words the articles never use weigh the most."""
        return self.idf.get(term, self.unseen_idf)

    def coverage(self, question_terms: Iterable[str], key: tuple[str, int]) -> float:
        """IDF-weighted share of the question's content words present in the paragraph."""
        wanted = set(question_terms)
        if not wanted:
            return 0.0
        have = self.terms.get(key, set())
        total = sum(self.weight(t) for t in wanted)
        return sum(self.weight(t) for t in wanted if t in have) / total
