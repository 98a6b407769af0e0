"""Follow-up questions resolved against the previous turn.

Readers ask "dia bilang apa lagi?" or "kalau WBBM?" and expect the bot to
remember who and what the last answer was about. The dialogue keeps a small
context (last question, speaker, focus); this module rewrites the new
question into a standalone one. It knows nothing about Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .text import stopwords

PRONOUNS = re.compile(r"\b(dia|ia|beliau|doi|he|she|him|her)\b", re.IGNORECASE)
POSSESSIVE = re.compile(r"\b(kata|menurut|pendapat|pesan|harapan|pernyataan|ucapan)nya\b", re.IGNORECASE)
# "kalau WBBM?", "terus yang ke Malaysia?", "bagaimana dengan AJI?", "what about WBBM?". "Bagaimana" and "how" or
# "what" are elliptic only before "dengan" or "about": "Bagaimana tanggapan Dewan Pers?" and "What is Ismail's
# position?" are questions of their own
ELLIPSIS = re.compile(
    r"^\s*(?:(?:lalu|terus|trus|nah|oke|ok|kalau|kalo|klo|(?:bagaimana|gimana|gmn)(?=\s+(?:dengan|dgn|sama)\b)"
    r"|(?:how|what)(?=\s+about\b))\s+)+"
    r"(?:(?:dengan|dgn|sama|about|with|untuk|buat|yang|yg)\s+)?(?P<focus>.+?)\s*(?:gimana|bagaimana|nya)?\s*\??\s*$",
    re.IGNORECASE,
)
MORE = re.compile(r"\b(lagi|selain itu|selain|lainnya|yang lain|lain|else|other|another|more)\b", re.IGNORECASE)
ALLCAPS = re.compile(r"\b[A-Z]{2,}[A-Za-z]*\b")
COUNTED = re.compile(
    r"\b(?:berapa|brp|jumlah)\s+(?:banyak\s+)?(?P<what>[a-z]+(?:\s+(?!yang|yg)[a-z]+)?)", re.IGNORECASE
)
PREPOSITION = re.compile(r"(di|ke|dari|pada|untuk|buat|in|at|to|from|for)\s+", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_][\w-]*")
QUESTION_WORD = re.compile(r"\b(siapa|apa|berapa|kapan|mengapa)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """What the previous answer was about."""

    question: str = ""
    speaker: str = ""
    focus: str = ""
    paragraphs: tuple[int, ...] = ()
    article: str = ""  # the article the reader narrowed to; "" means every article
    source: str = ""  # the article the last answer came from: a follow-up is about it too


@dataclass(frozen=True)
class Resolved:
    """The standalone question, and whether the user asked for something else than before."""

    text: str
    wants_more: bool
    speaker: str
    swapped_in: str = ""  # what "kalau di SMK?" puts in the previous question's place
    pronoun: bool = False  # "dia bilang ...": it asks about the person, not about the previous answer


def focus_of(question: str) -> str:
    """The word a follow-up is likely to swap: an abbreviation, or what a count question counts."""
    if m := ALLCAPS.search(question):
        return m.group(0)
    if m := COUNTED.search(question):
        return m["what"]
    return ""


def _same_place(prep: str, question: str) -> re.Match[str] | None:
    """The previous question's phrase after the same preposition: "ke India" for "kalau ke Malaysia?"."""
    return re.search(rf"\b(?i:{re.escape(prep)})\s+[\w-]+(?:\s+[A-Z][\w-]*)*", question)


def _alternative(new: str, question: str, writes: Callable[[str], bool]) -> re.Match[str] | None:
    """The word of the previous question that `new` stands in for, by the article's own pairs of words.

    "kalau yang medium?" after "Berapa harga beras premium bulan lalu?": the article writes "beras medium",
    so "medium" takes the place of "premium", the word written after "beras" in the question.
    """
    found = list(WORD.finditer(question))
    sw = stopwords()
    for i in range(len(found) - 1, 0, -1):
        before = found[i - 1].group(0).lower()
        after = found[i + 1].group(0).lower() if i + 1 < len(found) else ""
        if found[i].group(0).lower() == new.lower():
            return None
        if QUESTION_WORD.fullmatch(before):
            continue
        if (before not in sw and writes(f"{before} {new}")) or (after and after not in sw and writes(f"{new} {after}")):
            return found[i]
    return None


def resolve(question: str, context: Context, writes: Callable[[str], bool] | None = None) -> Resolved:
    """Rewrite pronouns and elliptic questions with the previous turn; leave others untouched.

    `writes` tells whether the article writes a phrase, so that a modifier swapped in ("kalau yang medium?")
    takes the place of the word it pairs with there.
    """
    text = question.strip()
    wants_more = bool(MORE.search(text))
    speaker = context.speaker
    if context.speaker and (PRONOUNS.search(text) or POSSESSIVE.search(text)):
        text = PRONOUNS.sub(context.speaker, text)
        text = POSSESSIVE.sub(lambda m: f"{m.group(1)} {context.speaker}", text)
        return Resolved(text, wants_more, speaker, pronoun=True)
    m = ELLIPSIS.match(text)
    words = text.split()
    if m and context.question and len(words) <= 5 and not QUESTION_WORD.search(m["focus"]):
        new_focus = m["focus"].strip(" ?")
        # "kalau di SMK?" after "... di SMA?": the reader's own "di" takes the place of the question's
        lead = PREPOSITION.match(new_focus)
        swapped = (rf"(?:\b{re.escape(lead.group(1))}\s+)?" if lead else "") + re.escape(context.focus)
        place = _same_place(lead.group(1), context.question) if lead else None
        single = None if lead or " " in new_focus or not new_focus.islower() or writes is None else \
            _alternative(new_focus, context.question, writes)
        if hit := place or single:
            text = context.question[: hit.start()] + new_focus + context.question[hit.end():]
        elif context.focus and re.search(swapped, context.question, re.IGNORECASE):
            text = re.sub(swapped, lambda _: new_focus, context.question, count=1, flags=re.IGNORECASE)
        else:
            text = f"{context.question.rstrip(' ?')} {new_focus}?"
        return Resolved(text, False, speaker, swapped_in=new_focus)
    if wants_more and context.speaker and len(words) <= 6 and not ALLCAPS.search(text):
        return Resolved(f"{text.rstrip(' ?')} {context.speaker}?", True, speaker)
    return Resolved(text, wants_more, speaker)
