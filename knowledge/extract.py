"""Who speaks where, and the spans inside a sentence that answer a question precisely.

All of it is read from the article with general patterns of news Indonesian:
attribution ("kata X", "menurut X", "X mengatakan", "ujarnya", "Ia menambahkan"),
numbers with what they count ("4.317 jiwa", "Rp38,6 miliar", "menit ke-17"),
dates ("Jumat (19/4)", "20 April 2024") and names. The verbs of saying and the
titles before names are data (knowledge/language/speech.txt, titles.txt).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .chunk import split_sentences
from .lexicon import money_words, speech_verbs, titles
from .parse import Article
from .question import Question, ordinary
from .text import DIGIT_WORDS, content_terms, stem, stopwords

PRONOUNS = {"dia", "ia", "beliau"}
MAX_SUBJECT = 6
# "Wakil Presiden Ma'ruf Amin, saat acara ..., menyatakan": the subject ends at the clause that says when.
SUBJECT_END = re.compile(r",\s+(?:di|dalam|saat|ketika|usai|seusai|pada|kepada|sambil|melalui|yang|setelah|sebelum)\b")
# A mention of a person ends where the sentence goes on to say where or when they said it.
MENTION_END = re.compile(
    r",?\s+(?:di|dalam|saat|ketika|usai|seusai|pada|kepada|sambil|melalui|yang|dari|seperti|setelah|sebelum|"
    r"selepas|menjelang|kemarin|Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu)\b"
)
DAYS = "Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu"
MONTHS = "Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|Desember"
DATE = re.compile(
    rf"\b(?:(?:{DAYS})(?:\s*\(\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\))?"
    rf"|\d{{1,2}}(?:\s*(?:[-–]|hingga|sampai)\s*\d{{1,2}})?\s+(?:{MONTHS})(?:\s+\d{{4}})?"
    rf"|(?:awal|akhir|pertengahan)\s+(?:{MONTHS})(?:\s+\d{{4}})?|(?:{MONTHS})\s+\d{{4}}"
    rf"|pukul\s+\d{{1,2}}[.:]\d{{2}}(?:\s*WI[BTA])?"
    rf"|(?:tahun|sejak|pada|hingga|sampai)\s+\d{{4}}"
    rf"|H[+-]\d+)"
)
VERB_PREFIX = re.compile(r"(?:me|di|ber|ter)[a-z]")
RANGE = re.compile(r"\s*(?:[-–]|hingga|sampai|s\.d\.)\s*")  # between the two ends of a range of dates
NUMBER_WORDS = (*DIGIT_WORDS, "sepuluh", "sebelas", "seratus", "seribu", "setengah")
NUMERAL = (r"(?:Rp\s?)?\d+(?:[.,]\d+)*(?:\s*(?:-|–|hingga|sampai)\s*\d+(?:[.,]\d+)*)?"
           r"|(?:" + "|".join(NUMBER_WORDS) + r")(?:\s+(?:belas|puluh|ratus|ribu|juta))?")
# Conjunctions that join the next item: the words about one figure stop there ("... Rp11.500 dan beras premium").
JOINING = ("dan", "serta", "sedangkan", "sementara", "namun", "tetapi")
# Conjunctions and prepositions end what a number counts: "9.415 ton beras melalui program ..." counts rice.
ENDS_COUNT = (*JOINING, "atau", "yang", "di", "ke", "dari", "pada", "dengan", "untuk", "sejak", "melalui", "hingga",
              "sampai", "oleh", "bagi", "kepada", "terhadap", "selama", "dalam", "sebagai", "karena", "sehingga",
              "agar", "supaya", "jika", "ketika", "sesuai",
              # a predicate without a verb's prefix, and the aspect words before one: "Rp11.400 per kilogram naik
              # 25 persen" counts kilograms' price, not "naik"
              "naik", "turun", "tumbuh", "kini", "masih", "sudah", "telah", "akan", "juga", "menjadi")
COUNT_PHRASE = re.compile(
    r"(?<![\w.,/])(?P<lead>(?:menit|ke|peringkat|posisi|nomor|pukul)\s+(?:ke-)?)?(?P<num>" + NUMERAL + r")"
    r"(?P<what>(?:\s+(?!(?:" + "|".join(ENDS_COUNT) + r")\b|\d|Rp\s?\d)[^\s,.;:()\"“”]+){0,3})",
    re.IGNORECASE,
)
FIGURE = re.compile(r"(?<![\w.,/])(?:" + NUMERAL + r")(?![\w])", re.IGNORECASE)
BARE_FIGURE = re.compile(r"\d+(?:[.,]\d+)*|(?:" + "|".join(NUMBER_WORDS) + r")(?:\s+(?:belas|puluh|ratus))?",
                         re.IGNORECASE)
PARTITIVE = re.compile(r"\s+dari\s+(?:total\s+|sebanyak\s+)?", re.IGNORECASE)
AFTER_CHANGE = {"setelah", "sesudah", "kini", "sekarang", "menjadi"}  # "dari X menjadi Y": Y
BEFORE_CHANGE = {"sebelum", "sebelumnya", "semula", "asli", "awal"}  # ... and X
LONG = re.compile(r"\b(?:berapa lama|how long)\b")
WHOLE = re.compile(r"\s*dari\s+(?:semua|seluruh|total|sekian)\s+([^,?]+),", re.IGNORECASE)
CLASSIFIERS = {"unit", "buah", "ekor", "butir", "lembar", "batang"}  # "2.164 unit rumah" counts houses
DURATION = {"detik", "menit", "jam", "hari", "pekan", "minggu", "bulan", "tahun", "windu", "dekade", "abad"}
MONEY = re.compile(r"\bRp|\b(?:rupiah|dolar|euro|ringgit|yuan|yen)\b|US\$", re.IGNORECASE)
NUMBER_UNITS = {"persen", "juta", "miliar", "triliun", "ribu", "ratus", "dolar", "rupiah", "ton", "hektare", "ha",
                "kilogram", "kg", "meter", "kilometer", "km", "milimeter", "mm", "unit", "orang", "jiwa"}
NAME = re.compile(r"\b[A-Z][\w’'.-]*[A-Za-z](?:\s+(?:bin|binti|van|de|al|Al-)?\s*[A-Z][\w’'.-]*[A-Za-z])*")
NEARBY = 6  # words around a span that tell what it is about
# Where the words about one figure end: a comma or semicolon, or a conjunction that joins the next item
CLAUSE_BREAK = re.compile(r"[,;]\s|\s(?:" + "|".join(JOINING) + r")\s", re.IGNORECASE)


@dataclass(frozen=True)
class Speaker:
    """Someone quoted: the name as written and every word that refers to them (titles included)."""

    name: str
    mention: str

    @property
    def terms(self) -> set[str]:
        """Light stems of the name and of the titles written with it."""
        return set(content_terms(self.mention))

    @property
    def name_terms(self) -> set[str]:
        """Light stems of the name alone."""
        return set(content_terms(self.name))


MAX_NAME_WORDS = 3
DEGREE = re.compile(r"[A-Z][a-z]{0,3}(?:\.[A-Za-z]{1,4})+")  # "Sp.A", "S.H", "M.Si", "S.Kom": academic degrees


def person_name(mention: str, common: frozenset[str] = frozenset()) -> str:
    """'Kepala Pelaksana BPBD Kerinci, Darmawan Saputra' -> 'Darmawan Saputra'; 'Wakil Presiden K.H. Ma’ruf Amin'
    -> "Ma'ruf Amin"; 'Yusnidar (45)' -> 'Yusnidar'; "" when no person is named ('Majelis hakim', 'BPBD').

    `common`: words the article also writes in lower case, which a name does not start with ("Kemenangan").
    """
    parts = [p.strip() for p in mention.split(",") if p.strip()]
    while len(parts) > 1 and DEGREE.fullmatch(parts[-1].rstrip(".")):
        parts.pop()  # "dr. Anindya Puspitasari, Sp.A", "Prof. Febrian, S.H., M.Hum": degrees follow the name
    # "Sri Wahyuningsih, warga ...": the name, then who she is; but "dr. Anindya" is an abbreviated title
    if len(parts) > 1 and parts[1][:1].islower() and not parts[1].split()[0].endswith("."):
        parts = parts[:1]
    if not parts or re.search(r"\([A-Z]{2,}\w*\)", parts[-1]):
        return ""  # "Persatuan Sepak Bola Seluruh Indonesia (PSSI)": an organisation
    last = re.sub(r"\s*\([^)]*\)", "", parts[-1]).strip().split()
    name: list[str] = []
    for i in range(len(last) - 1, -1, -1):
        word = last[i]
        bare = word.strip(".")
        if not bare[:1].isupper() or _acronym(bare) or re.fullmatch(r"(?:[A-Z]\.)+", word) \
                or len(name) == MAX_NAME_WORDS:
            break
        if (bare.lower() in titles() or word.lower().rstrip(".") in titles()) \
                and not (name and _given(last, i - 1, common)):
            break  # a title ends the name, but "Abdul Hakim Lubis" is a name with a title's word inside it
        name.insert(0, word)
    if len(name) == MAX_NAME_WORDS and len(last) > len(name) and _acronym(last[-len(name) - 1]):
        name.pop(0)  # "AJI Indonesia Taufik Hidayatullah": the place after an acronym belongs to the organisation
    while name and name[0].lower() in common:
        name.pop(0)
    return " ".join(name).replace("’", "'")


def _given(words: list[str], i: int, common: frozenset[str]) -> bool:
    """Whether words[i] can open a name: capitalised, and neither a title, an acronym nor a word the article
    also writes in lower case ("Abdul Hakim Lubis", but "Majelis Hakim Dedi Santoso")."""
    if i < 0:
        return False
    bare = words[i].strip(".")
    return bare[:1].isupper() and not _acronym(bare) and bare.lower() not in titles() and "." not in words[i] \
        and bare.lower() not in common


def _acronym(word: str) -> bool:
    """'AJI', 'BPBD': capitals only, so an organisation, not a name."""
    bare = word.strip(".,")
    return len(bare) > 1 and bare.isupper()


def _mention(text: str) -> str:
    """The person part of what follows a verb of saying: up to where, when or how it was said."""
    spans = split_sentences(text)
    text = re.split(r"[;:\"“”]", text[: spans[0][1]] if spans else text, maxsplit=1)[0].rstrip(".")
    m = MENTION_END.search(text)
    return (text[: m.start()] if m else text).strip(" ,")


def _subject_speaker(sentence: str) -> str | None:
    """'Darmawan mengatakan' -> 'Darmawan'; 'Ia menambahkan' and 'Pelatih asal Belanda itu mengakui' -> 'ia'."""
    _, subject_verbs = speech_verbs()
    tokens = sentence.split()
    for i, token in enumerate(tokens[:30]):
        if token.lower().strip(",") in subject_verbs and i > 0:
            subject = " ".join(tokens[:i]).strip(" ,")
            if '"' in subject or "“" in subject:
                return None
            cut = SUBJECT_END.search(subject)
            subject = subject[: cut.start()] if cut else subject
            first = subject.split()[0].lower()
            if first in PRONOUNS or subject.lower().endswith(" itu") or (first in {"sementara", "namun"} and \
                    subject.split()[-1].lower() in PRONOUNS):
                return "ia"
            subject = re.sub(r"^(?:Sementara itu|Selain itu|Namun|Sebelumnya|Menurut dia),?\s+", "", subject)
            # "Di Pasar Flamboyan, pedagang beras Yanti Lestari mengatakan": where it was said is not who.
            subject = re.sub(r"^(?:Di|Dalam|Pada|Saat|Usai|Seusai|Dari)\s+[^,]+,\s+(?=[a-z])", "", subject)
            if "," not in subject and len(subject.split()) > MAX_SUBJECT:
                return None  # a long clause before the verb is not a person ("Kedua pihak memiliki waktu ...")
            return subject if any(w[:1].isupper() for w in subject.split()) else None
    return None


def attributions(paragraph: str) -> list[str]:
    """Everyone the paragraph attributes words to, in order; 'ia' stands for a pronoun or an anaphor."""
    after, _ = speech_verbs()
    found: list[tuple[int, str]] = []
    verbs = "|".join(sorted(after, key=len, reverse=True))
    for m in re.finditer(rf"\b(?:{verbs})(?P<nya>nya)?\b(?:\s+(?P<rest>[^\s].*))?", paragraph, flags=re.IGNORECASE):
        if m["nya"]:
            found.append((m.start(), "ia"))
            continue
        rest = m["rest"] or ""
        first = rest.split(" ", 1)[0].strip(",.").lower() if rest else ""
        if first in PRONOUNS:
            found.append((m.start(), "ia"))
        elif rest[:1].isupper() or first in titles():
            found.append((m.start(), _mention(rest)))
    for m in re.finditer(r"\b[Mm]enurut\s+(?P<rest>[^,.]+)[,.]", paragraph):
        rest = m["rest"].strip()
        if rest.lower() in PRONOUNS:
            found.append((m.start(), "ia"))
        elif rest[:1].isupper():
            found.append((m.start(), _mention(rest)))
    offset = 0
    for start, end in split_sentences(paragraph):
        who = _subject_speaker(paragraph[start:end])
        if who:
            found.append((start + offset, who))
    return [who for _, who in sorted(found) if who]


def paragraph_speakers(article: Article) -> dict[int, Speaker]:
    """Who speaks in each paragraph; a pronoun or "the coach" inherits the last named speaker.

    A first name alone ("kata Novia") is the person named in full before ("Novia Ramadhani").
    """
    found: dict[int, Speaker] = {}
    known: list[Speaker] = []
    last: Speaker | None = None
    text = " ".join(p.text for p in article.paragraphs)
    common = frozenset(re.findall(r"\b[a-z][a-z-]+\b", text))
    for para in article.paragraphs:
        speaker: Speaker | None = None
        said = attributions(para.text)
        # "Title, Name," names a person for sure; prefer it to a subject that may be an institution.
        said.sort(key=lambda who: "," not in who)
        for who in said:
            if who == "ia":
                speaker = speaker or last
                continue
            name = person_name(who, common)
            if not name:
                continue
            same = _same_person(name, known)
            if same is None:
                same = Speaker(name, who.replace("’", "'"))
                known.append(same)
            speaker = speaker or same
        if speaker is not None:
            found[para.number] = speaker
            last = speaker
    return found


def _same_person(name: str, known: list[Speaker]) -> Speaker | None:
    """The person a name refers to: the same name, or one of whose words the short name is ("Ratna")."""
    for i, s in enumerate(known):
        words = s.name.split()
        if s.name == name:
            return s
        if " " not in name and name in words:
            if words.index(name) > 0:  # "Dewan Pers Ratna Sulistyowati" named by "Ratna": the name starts there
                known[i] = Speaker(" ".join(words[words.index(name):]), s.mention)
            return known[i]
    return None


# --- spans that answer --------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A piece of a sentence that may be the precise answer, with its offsets."""

    text: str
    start: int
    end: int


def number_spans(sentence: str) -> list[Span]:
    """Every number with what it counts ("4.317 jiwa", "Rp38,6 miliar", "57 persen", "menit ke-17")."""
    sw = stopwords()
    spans = []
    for m in COUNT_PHRASE.finditer(sentence):
        if re.fullmatch(r"(?:19|20)\d\d", m["num"]) and re.search(
                rf"(?:tahun|sejak|pada|hingga|sampai|{MONTHS})\s*$", sentence[: m.start()], re.IGNORECASE):
            continue  # "tahun 2020", "Oktober 2023": a date, not a count
        what = m["what"].split()
        verb = next((i for i, w in enumerate(what) if _verb(w)), None)
        what = what[:verb]  # "31 anggota dihadiri ...": what is counted is the noun phrase
        while what and what[-1].islower() and what[-1] in sw and what[-1] not in NUMBER_UNITS:
            what.pop()
        lead = (m["lead"] or "").replace("ke- ", "ke-")
        text = " ".join(p for p in (lead + m["num"], " ".join(what)) if p)
        text = re.sub(r"\s+", " ", text).strip()
        start = m.start()
        spans.append(Span(text, start, start + len(text)))
    return _partitives(sentence, spans)


def _partitives(sentence: str, spans: list[Span]) -> list[Span]:
    """"31 dari 48 anggota Komisi I", "Sembilan dari 14 pasien": a bare figure counts what the next one counts."""
    out: list[Span] = []
    for span in spans:
        if out and BARE_FIGURE.fullmatch(out[-1].text) and PARTITIVE.fullmatch(sentence[out[-1].end:span.start]):
            span = Span(sentence[out[-1].start:span.end], out[-1].start, span.end)
            out.pop()
        out.append(span)
    return out


def _verb(word: str) -> bool:
    """A lower-case word with a verb's prefix on a stem ("dihadiri", "menyetujui", "berbanding")."""
    return word.islower() and bool(VERB_PREFIX.match(word)) and stem(word) != word


def has_number(text: str) -> bool:
    """Whether a text states any figure at all (digits or number words)."""
    return bool(number_spans(text))


def date_spans(sentence: str) -> list[Span]:
    """Dates and times: 'Jumat (19/4)', '20 April 2024', 'pukul 21.00 WIB', 'sejak 2019', 'H+4'; a range is one
    span ('akhir Maret hingga April 2024', '20 hingga 24 Agustus 2023').
    """
    spans: list[Span] = []
    for m in DATE.finditer(sentence):  # no alternative of DATE starts or ends with a space
        start, end = m.span()
        if spans and RANGE.fullmatch(sentence[spans[-1].end: start]):
            start = spans.pop().start
        spans.append(Span(sentence[start:end], start, end))
    return spans


def name_spans(sentence: str) -> list[Span]:
    """Capitalised names that do not start the sentence only because of the capital."""
    out = []
    for m in NAME.finditer(sentence):
        text = m.group(0)
        if m.start() == 0 and " " not in text and text.lower() in stopwords():
            continue
        if text.lower() in titles() or re.fullmatch(DAYS + "|" + MONTHS, text):
            continue
        out.append(Span(text, m.start(), m.end()))
    return out


def _near(sentence: str, span: Span) -> set[str]:
    """Light stems of the span and of the words just before and after it, within its clause.

    "... dijual Rp13.800 kini naik 21,7 persen, sedangkan beras medium ... naik 25 persen": "medium" belongs
    to the second figure's clause, though it is only three words after the first.
    """
    before = CLAUSE_BREAK.split(sentence[: span.start])[-1].split()[-NEARBY:]
    after = CLAUSE_BREAK.split(sentence[span.end:])[0].split()[:3]
    return set(content_terms(" ".join([*before, span.text, *after])))


def _figures(text: str) -> set[str]:
    """The figures a text writes, in digits or in words, lower-cased ("5-14", "satu", "rp2,73")."""
    return {re.sub(r"\s+", " ", m.group(0)).lower() for m in FIGURE.finditer(text)}


def _restates(span: Span, given: set[str]) -> bool:
    """Whether the span's figures are ones the question itself states (`given`: the question's figures)."""
    own = _figures(span.text)
    return bool(own) and own <= given


def _figure_words(span: Span) -> set[str]:
    """The words of the span's figures ("sebelas", "3.691")."""
    return {w for f in _figures(span.text) for w in f.split()}


def _counts_other(span: Span, q: Question) -> bool:
    """Whether the figure counts a noun the question never names ("16 kecamatan" for "berapa kasus ...?").

    What a figure counts is the word right after it ("Tujuh bulan berturut-turut" counts months), or after a
    classifier ("3.691 unit kerja"). An amount of money, a length of time and a unit ("persen", "ton per
    bulan", "orang") count no noun of their own; a time of day answers only "jam berapa". A bare figure ("2024",
    "21") does not show what it counts.
    """
    if MONEY.search(span.text):
        return False
    figures = _figure_words(span)
    words = [t for t in content_terms(span.text) if t not in figures and not any(c.isdigit() for c in t)]
    if words and words[0] in CLASSIFIERS:
        words = words[1:] or words
    if not words:
        return True
    if words[0] == "pukul":  # "pukul 21.00 WIB" answers "jam berapa", not "berapa skor"
        return not {"jam", "pukul"} & set(q.words)
    if words[0] in NUMBER_UNITS | DURATION | {"per"}:
        return False
    return not set(words) & set(q.terms)


def best_span(sentence: str, spans: Iterable[Span], q: Question) -> Span | None:
    """The span that names most precisely what the question asks.

    First by the question's words inside the span other than its focus: "berapa instansi yang
    dapat WBK" against "763 instansi ..., terdiri atas 681 WBK" asks for the part the restriction
    names, not the whole the focus names. Then by the focus inside the span ("19 LPNK" for
    "berapa LPNK"), weighing three times a question word just before or after it. The common noun of a
    place's name ("Kecamatan" of "Kecamatan Pedurungan") restricts nothing. A tie means the
    sentence does not tell which figure is meant: no lead rather than a guess.
    """
    terms, focus = set(q.terms), set(q.focus)
    # "Dari semua unit kerja yang diusulkan, berapa yang berhasil?": the whole the question starts from is given
    if whole := WHOLE.match(q.text):
        given_terms = set(content_terms(whole.group(1)))
        terms -= given_terms
        spans = [s for s in spans if not set(content_terms(s.text)) - _figure_words(s) <= given_terms] or list(spans)
    # "Berapa kasus DBD pada anak usia 5-14 tahun?", "Berapa harga satu paket?": the figure the question
    # gives is not the one it asks for, unless the sentence has no other
    given = _figures(q.text)
    spans = [s for s in spans if not _restates(s, given)] or list(spans)
    # "Kecamatan" of "Kecamatan Pedurungan" names a place, it does not restrict what is counted
    name_nouns = {t for n in q.names if " " in n for w in n.split() if ordinary(w) for t in content_terms(w)}
    # "Berapa harga beras premium bulan lalu?" asks for an amount of money, not the "6,3 persen" beside the same
    # words; "Naik berapa persen harga ...?" asks for a share of it
    if q.focus and q.focus[0] in money_words():
        spans = [s for s in spans if MONEY.search(s.text)] or spans
    # "Berapa lama ...?" asks for a length of time: "Enam titik" is no answer to it
    if LONG.search(" ".join(q.words)):
        spans = [s for s in spans if set(s.text.lower().split()) & DURATION] or spans
    # "Berapa kasus DBD ...?" names what it counts: "16 kecamatan" beside the cases answers something else
    if q.kind == "count" and not q.english and q.focus and q.focus[0] not in NUMBER_UNITS | DURATION and \
            "berapa yang" not in " ".join(q.words):  # "berapa yang berhasil?" names no noun it counts
        spans = [s for s in spans if not _counts_other(s, q)]
    # "naik dari Rp108.000 menjadi Rp155.000": "setelah/kini" asks for the figure after "menjadi",
    # "sebelum/semula/asli" for the one after "dari"
    said = set(q.words)
    wanted_link = "sejak" if "sejak" in said else "menjadi" if said & AFTER_CHANGE else "dari" if said & \
        BEFORE_CHANGE else ""
    scored = []
    for span in spans:
        own = set(content_terms(span.text))
        near = _near(sentence, span) - own
        linked = bool(wanted_link) and (sentence[: span.start].rstrip().lower().endswith(f" {wanted_link}")
                                        or span.text.lower().startswith(f"{wanted_link} "))
        scored.append(((len((own & terms) - focus - name_nouns),
                        3 * (len(own & focus) + linked) + len(near & terms)), span))
    if not scored:
        return None
    scored.sort(key=lambda s: s[0], reverse=True)
    if scored[0][0] == (0, 0) and len(scored) > 1:
        return None
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]


def evidence(q: Question, text: str) -> bool:
    """Whether the text holds the kind of thing the question asks for (a figure, a date, a name, a quote)."""
    if q.kind == "count":
        return has_number(text)
    if q.kind == "when":
        return bool(date_spans(text))
    if q.kind in ("who", "who_said"):
        return bool(name_spans(text))
    if q.kind == "where":
        return bool(re.search(r"\b(?:di|ke|dari)\s+[A-Z]", text))
    if q.kind == "quote":
        return bool(re.search(r"[\"“]", text)) or bool(attributions(text))
    if q.kind == "define":
        return bool(re.search(r"\([A-Z][A-Za-z]+\)", text))
    return True


def focus_count(q: Question, text: str) -> bool:
    """A figure of exactly what the question counts: 'berapa rumah' against '2.164 unit rumah'."""
    if q.kind != "count" or not q.focus:
        return False
    return any(set(content_terms(s.text)) & set(q.focus) for s in number_spans(text))


def lead_for(q: Question, sentence: str) -> str | None:
    """The precise answer inside the sentence, when the question's kind says what to look for."""
    if q.kind == "count":
        span = best_span(sentence, number_spans(sentence), q)
    elif q.kind == "when":
        span = best_span(sentence, date_spans(sentence), q)
    else:
        return None
    if span is None:
        return None
    text = span.text
    return text[0].upper() + text[1:] + "."
