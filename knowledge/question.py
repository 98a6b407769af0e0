"""What a question asks: the kind of answer it wants, its content terms, its focus, its names and numbers.

"Berapa" wants a number, "siapa" a person or organisation, "apa kata X" the
words of X. The kind, read from knowledge/language/question_words.tsv, steers
which paragraph and which sentence answer, and which span of it leads the
reply. Nothing here knows any article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from .lexicon import chat_spellings, looks_english, question_words, speech_verbs
from .text import content_terms, is_root, light_stem, loose_terms, normalize, stem, stopwords, words

MAX_PHRASE = 3
# When a question has several question words, the more specific kind wins ("siapa yang mengatakan" asks
# who said it; "tahun berapa" asks when, not how many).
PRECEDENCE = ("define", "when", "count", "where", "quote", "who", "why", "how")
FREQUENCY = re.compile(r"\b(seberapa sering|berapa kali|how often|tiap berapa|setiap berapa)\b")
PAST = re.compile(
    r"\b((?:tahun|bulan|pekan|minggu|musim|hari) lalu|kemarin|sebelum\w*|pernah|lebih dulu"
    r"|last (?:year|month|week|season)|previous\w*|earlier|before)\b"
)
PRESENT = re.compile(
    r"\b((?:tahun|bulan|pekan|minggu|musim|hari) ini|sekarang|saat ini|kini|this (?:year|month|week)|now|currently)\b"
)
FOCUS_SPAN = 3
AFTER_NOUN = {"apa", "mana", "siapa"}  # "lembaga apa", "negara mana", "pemain siapa": they follow their noun
WORD_CAP = r"(?:[A-Z][\w’'-]*[A-Za-z0-9]|[A-Z]{2,}\w*)"
CAPITALISED = re.compile(rf"\b{WORD_CAP}(?:\s+{WORD_CAP})*")
NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")  # "2,3" of "2,3GHz" too


@dataclass(frozen=True)
class Question:
    """A question with its expected answer kind and what lexical matching needs of it."""

    text: str
    kind: str  # count, who, who_said, when, where, why, how, define, quote or what
    words: tuple[str, ...]  # normalised tokens, chat spellings expanded
    terms: tuple[str, ...]  # light stems of the content words
    loose: tuple[str, ...]  # full stems of the content words
    focus: tuple[str, ...]  # light stems of the content words right after the question word
    names: tuple[str, ...]  # capitalised names and abbreviations as typed (not the first word)
    numbers: tuple[str, ...]
    english: bool

    @property
    def size(self) -> int:
        """How many content words: how specific the question is."""
        return len(self.terms)

    @property
    def frequency(self) -> bool:
        """'Seberapa sering', 'berapa kali', 'how often': the answer is a frequency, not a count."""
        return bool(FREQUENCY.search(" ".join(self.words)))

    @property
    def anaphoric(self) -> bool:
        """A noun with -nya points back ("sekolahnya", "selisihnya", "pendaftarannya"): after an answer, to it.

        Not a question word with -nya ("kepanjangannya") nor an adverb built on it ("selanjutnya",
        "sebelumnya"), whose base is no noun.
        """
        table = question_words()
        for w in re.findall(r"[^\W\d_]+(?=-?nya\b)", self.text.lower()):
            base = w.removesuffix("-")
            if len(base) >= 3 and base not in stopwords() and base not in table and (
                    is_root(base) or base.endswith("an") or (not base.startswith("se") and is_root(stem(base)))):
                return True
        return False

    @property
    def present(self) -> bool:
        """The question says it asks about now ("tahun ini", "sekarang", "this year")."""
        return bool(PRESENT.search(" ".join(self.words)))

    @property
    def past(self) -> bool:
        """The question asks about an earlier time ("tahun lalu", "sebelumnya")."""
        return bool(PAST.search(" ".join(self.words)))


def _kinds(tokens: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every question word or phrase, longest phrase first at each position."""
    table = question_words()
    found = []
    i = 0
    while i < len(tokens):
        for n in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
            kind = table.get(" ".join(tokens[i:i + n]))
            if kind:
                found.append((i, i + n, kind))
                i += n
                break
        else:
            i += 1
    return found


def _focus(tokens: list[str], found: list[tuple[int, int, str]], sw: frozenset[str] | set[str]) -> list[str]:
    """The words the question word asks about, as light stems.

    Indonesian puts "apa", "mana" and "siapa" after the noun they ask about: "lembaga apa?", "di stadion mana
    Indonesia ...", "pemain Yordania siapa yang ...". "Apa" and "siapa" do so only when they close the phrase
    ("Menurut Dirjen SDPPI, apa konsekuensi ..." asks about the consequence). Otherwise the focus
    follows the question word: "berapa rumah", "siapa yang memimpin", "berapa jumlah KPM" (the phrase
    "berapa jumlah" is one question word, so the focus is what is counted).
    """
    asking = {i for start, end, _ in found for i in range(start, end)}
    for start, end, _ in found:
        if tokens[start] in AFTER_NOUN and end - start == 1 and start > 0 and tokens[start - 1] not in sw \
                and start - 1 not in asking \
                and (tokens[start] == "mana" or end == len(tokens) or tokens[end] in sw):
            first = start
            while first > 0 and tokens[first - 1] not in sw and first - 1 not in asking:
                first -= 1
            if any(a <= first - 1 < b and kind == "quote" for a, b, kind in found):
                break  # "Menurut Sri Wahyuningsih, siapa yang ...": the run names who is quoted
            return [light_stem(w) for w in tokens[first:start][: FOCUS_SPAN - 1]]
    focus: list[str] = []
    if not found:
        return focus
    # "Menurut X, siapa yang menggeser ...?": who is quoted is not what is asked; the next question word says it
    opening = next((f for f in found if f[2] != "quote"), found[0])
    for i in range(opening[1], len(tokens)):
        w = tokens[i]
        if i in asking or (w == "yang" and not focus):
            continue  # "siapa yang menerima": the verb after "yang" is the focus
        if w in sw:
            if focus:
                break
            continue
        focus.append(light_stem(w))
        if len(focus) >= FOCUS_SPAN - 1:
            break
    return focus


def names_in(text: str) -> list[str]:
    """Runs of capitalised words ("Ma'ruf Amin", "WBBM", "Kecamatan Banyumanik"), without the -nya or 's they carry.

    A sentence's first word is capitalised because the sentence starts there: it counts only when it is
    not an ordinary word ("Berapa", "Istilah", "Sekarang" are not names; "Ismail" is).
    """
    out = []
    for m in CAPITALISED.finditer(text):
        words = m.group(0).split()
        before = text[: m.start()].rstrip()
        if (not before or before[-1] in ".?!:\"“") and ordinary(words[0]):
            words = words[1:]
        name = re.sub(r"(?:-?nya|['’]s)$", "", " ".join(words)) if words else ""  # "Bulog's" is Bulog
        if name:
            out.append(name)
    return out


def ordinary(word: str) -> bool:
    """A Titlecase word that is a word of the language, not a name: a stopword, or a root Sastrawi knows."""
    if any(c.isupper() for c in word[1:]):
        return False  # "WBK", "iPhone"
    low = word.lower()
    low = chat_spellings().get(low, low)  # "Gimana" is "bagaimana", not a name
    # A reduplication ("Kira-kira", "Masing-masing") is as ordinary as its base.
    forms = {low, low.split("-")[0]} if "-" in low else {low}
    return any(f in stopwords() or is_root(f) or is_root(stem(f)) for f in forms)


def embedding_text(text: str) -> str:
    """What the embedder reads for a question: Indonesian normalised, with chat spellings expanded.

    "brp rumah yg terendam" reads as "berapa rumah yang terendam"; e5 ranks the answering
    paragraph first more often that way on the dev split (about +15 points on chat spelling),
    while English keeps its case, which helps it slightly.
    """
    tokens = words(text)
    if looks_english(tokens):
        chat = chat_spellings()
        return re.sub(r"[^\W\d_]+", lambda m: chat.get(m.group(0).lower(), m.group(0)), text).strip()
    return " ".join(tokens)


def analyse(text: str) -> Question:
    """Classify the question and extract the terms used for lexical matching."""
    tokens = words(text)
    english = looks_english(tokens)
    found = _kinds(tokens)
    kinds = {k for _, _, k in found}
    kind = next((k for k in PRECEDENCE if k in kinds), "what")
    if kind == "quote" and "who" in kinds:
        kind = "who_said"
    if kind == "who" and set(tokens) & speech_verbs()[1]:
        kind = "who_said"  # "siapa yang menilai ...?" asks who said it
    if kind == "count" and ("hari", "apa") in set(pairwise(tokens)):
        kind = "when"
    focus = _focus(tokens, found, stopwords())
    return Question(
        text=text,
        kind=kind,
        words=tuple(tokens),
        terms=tuple(content_terms(text)),
        loose=tuple(loose_terms(text)),
        focus=tuple(focus),
        names=tuple(names_in(text)),
        numbers=tuple(NUMBER.findall(normalize(text))),
        english=english,
    )
