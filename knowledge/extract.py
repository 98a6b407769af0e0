"""Spans inside a sentence that answer a question precisely: numbers, speakers, definitions.

All of it is derived from the article text with general patterns: a number
followed by what it counts, "kata X" / "menurut X" / "X ... menyatakan" for who
said something (with "dia"/"beliau" resolved to the last named speaker), and
"Long Name (ABBR)" for abbreviations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .parse import Article
from .text import content_terms, stem, stopwords

NUMBER_WORDS = ("satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh",
                "sebelas", "seratus", "seribu")
NUMBER = r"(?:\d+(?:[.,]\d+)*|(?:" + "|".join(NUMBER_WORDS) + r")(?:\s+(?:belas|puluh|ratus|ribu|juta))?)"
WORD = r"[^\s,.;:()\"“”]+"
COUNT_PHRASE = re.compile(
    r"(?<![\w.,])(?P<num>" + NUMBER + r")\s+(?P<what>(?!\d)" + WORD + r"(?:\s+(?!dan\b|atau\b|\d)" + WORD + r"){0,4})",
    re.IGNORECASE,
)
CAP = r"[A-Z][\w.’'-]*"
NAME = CAP + r"(?:\s+" + CAP + r")*"
SAID_BY = re.compile(r"\b(?i:kata|ujar|ucap|tutur|tegas|jelas|menurut)\s+(?P<who>" + NAME + r"(?:,\s*" + NAME + r")*)")
PRONOUN_SAID = re.compile(r"\b(?:kata|ujar|menurut)\s+(?:dia|ia|beliau)\b", re.IGNORECASE)
SUBJECT_SAYS = re.compile(
    r"^(?P<who>" + NAME + r")(?:,[^.]*?)?\s+(?:menyatakan|mengatakan|menyebut|menegaskan|menjelaskan|berharap|meminta|"
    r"mengungkapkan|menambahkan|menuturkan)\b"
)
TITLES = {"wakil", "presiden", "menteri", "direktur", "jenderal", "kepala", "ketua", "sekretaris", "gubernur",
          "bupati", "wali", "kota", "dirjen", "menko", "dr", "drs", "ir", "prof", "h", "hj", "k.h", "kh"}


@dataclass(frozen=True)
class Speaker:
    """Someone quoted: the name as written and every word that refers to them (titles included)."""

    name: str
    mention: str

    @property
    def terms(self) -> set[str]:
        """Stems of the name and of the titles written with it."""
        return set(content_terms(self.mention))


def _short_name(mention: str) -> str:
    """'Wakil Presiden K.H. Ma’ruf Amin' -> "Ma'ruf Amin"; 'Direktur Jenderal SDPPi, Ismail' -> 'Ismail'."""
    last = mention.split(",")[-1].strip()
    kept = [w for w in last.split() if w.lower().rstrip(".") not in TITLES and not re.fullmatch(r"(?:[A-Z]\.)+", w)]
    return " ".join(kept).replace("’", "'") or last


def paragraph_speakers(article: Article) -> dict[int, Speaker]:
    """Who speaks in each paragraph; 'menurut dia' inherits the last named speaker."""
    found: dict[int, Speaker] = {}
    last: Speaker | None = None
    for para in article.paragraphs:
        speaker: Speaker | None = None
        if (m := SAID_BY.search(para.text)) or (m := SUBJECT_SAYS.search(para.text)):
            who = m["who"].rstrip(".")
            speaker = Speaker(_short_name(who), who)
        elif PRONOUN_SAID.search(para.text) and last is not None:
            speaker = last
        if speaker is not None:
            # Keep the richest mention seen for the same person (titles help matching "wapres").
            if last is not None and speaker.name == last.name and len(last.mention) > len(speaker.mention):
                speaker = Speaker(speaker.name, last.mention + ", " + speaker.mention)
            found[para.number] = speaker
            last = speaker
    return found


@dataclass(frozen=True)
class CountSpan:
    """A number and what it counts, with its offsets in the sentence."""

    text: str
    start: int
    end: int
    head: str  # stem of the first counted word


def has_number(text: str) -> bool:
    """Whether a text states any count at all (digits or number words)."""
    return bool(re.search(r"\b" + NUMBER + r"\b", text, re.IGNORECASE))


def count_spans(sentence: str) -> list[CountSpan]:
    """Every 'NUMBER what-it-counts' phrase in a sentence."""
    spans = []
    sw = stopwords()
    for m in COUNT_PHRASE.finditer(sentence):
        if sentence[: m.start()].rstrip().lower().endswith("tahun"):
            continue  # "tahun 2020" is a date, not a count
        what = m["what"].split()
        while len(what) > 1 and what[-1].lower() in sw:
            what.pop()
        text = f"{m['num']} {' '.join(what)}"
        spans.append(CountSpan(text, m.start(), m.start() + len(text), stem(what[0].lower()) if what else ""))
    return spans


def best_count(sentence: str, terms: set[str]) -> CountSpan | None:
    """The count whose counted words the question names most precisely; the head noun counts extra.

    Precision (share of the phrase's words that the question uses) picks "681 WBK"
    over "763 instansi yang berhasil mendapatkan penghargaan" for "berapa yang dapat WBK".
    """
    scored = []
    for span in count_spans(sentence):
        span_terms = set(content_terms(span.text))
        matched = span_terms & terms
        if span.head not in terms and len(matched) < 2:
            continue  # "dua tahun sekali untuk dinilai" does not count "peserta yang dinilai"
        score = len(matched) / len(span_terms) + (1 if span.head in terms else 0)
        scored.append((score, -len(span.text), span))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], s[1]))
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None  # a tie: quoting the sentence is more honest than guessing
    return scored[0][2]
