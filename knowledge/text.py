"""Text normalisation for matching: chat spelling, stemming and stopwords.

Users write "brp unit yg diusulkan?"; the article writes "berapa unit kerja
yang diusulkan". Lexical matching works on stems of content words after chat
spellings are expanded, so both sides meet in the middle.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Common Indonesian chat spellings. A general lexicon, not tuned to any question.
CHAT_SPELLINGS: dict[str, str] = {
    "yg": "yang", "brp": "berapa", "brapa": "berapa", "gak": "tidak", "ga": "tidak", "gk": "tidak",
    "nggak": "tidak", "ngga": "tidak", "enggak": "tidak", "tdk": "tidak", "g": "tidak", "udah": "sudah",
    "udh": "sudah", "sdh": "sudah", "blm": "belum", "belom": "belum", "gimana": "bagaimana",
    "gmn": "bagaimana", "gmana": "bagaimana", "dgn": "dengan", "sm": "sama", "krn": "karena",
    "karna": "karena", "utk": "untuk", "buat": "untuk", "dr": "dari", "kpd": "kepada", "pd": "pada",
    "org": "orang", "jd": "jadi", "jg": "juga", "aja": "saja", "bgt": "banget", "tsb": "tersebut",
    "dlm": "dalam", "sbg": "sebagai", "spt": "seperti", "knp": "kenapa", "napa": "kenapa", "ngapain": "mengapa",
    "kpn": "kapan", "dmn": "mana", "dimana": "di mana", "kmn": "ke mana", "sapa": "siapa", "syp": "siapa",
    "sp": "siapa", "ap": "apa", "apaan": "apa", "tau": "tahu", "tahun2": "tahun", "thn": "tahun",
    "th": "tahun", "bilang": "kata", "ngomong": "kata", "ngomongin": "bicara", "dapet": "dapat",
    "dpt": "dapat", "ngasih": "memberi", "kasih": "beri", "trus": "terus", "trs": "terus", "lg": "lagi",
    "bs": "bisa", "bsa": "bisa", "mnrt": "menurut", "ttg": "tentang", "tntg": "tentang", "sy": "saya",
    "gw": "saya", "gue": "saya", "aku": "saya", "km": "kamu", "lu": "kamu", "lo": "kamu", "kalo": "kalau",
    "klo": "kalau", "kl": "kalau", "bener": "benar", "emang": "memang", "pemerintahan": "pemerintah",
    "wapres": "wakil presiden", "jkt": "jakarta", "dirjen": "direktur jenderal", "ditjen": "direktorat jenderal",
    "presdir": "presiden direktur", "kadis": "kepala dinas", "kemen": "kementerian", "pemda": "pemerintah daerah",
    "pemprov": "pemerintah provinsi", "pemkot": "pemerintah kota", "pemkab": "pemerintah kabupaten",
    "hrs": "harus", "kominfo": "kementerian komunikasi informatika", "kemkominfo": "kementerian komunikasi informatika",
    "kemenkominfo": "kementerian komunikasi informatika",
}

# Question words, particles and chat fillers that carry no topic.
EXTRA_STOPWORDS = frozenset(
    """apa apakah siapa siapakah berapa berapakah kapan kapankah mana manakah bagaimana bagaimanakah
    mengapa kenapa gimana dong sih deh kok nih tuh yah ya lah kah pun loh lho aja saja banget
    tolong coba jelaskan sebutkan ceritakan beritahu kasih tahu mau ingin tanya nanya bertanya
    artikel berita teks tulisan isi menurut kata dikatakan mengatakan disebut ujar ucap bilang
    arti artinya maksud maksudnya definisi pengertian kepanjangan singkatan akronim stand mean means
    the a an is are was were what who whom which when where why how many much did does do of to in
    on for and or by with about from that this it be at as said say says
    tersebut itu ini tadi lalu terus lagi selain yang dan di ke dari""".split()
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Sastrawi's Indonesian stopwords plus question words and chat particles."""
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return frozenset(StopWordRemoverFactory().get_stop_words()) | EXTRA_STOPWORDS


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = StemmerFactory().create_stemmer()
    # Sastrawi keeps its 30k root words in a list and scans it on every lookup; a word it does not
    # know (a name, English) needs hundreds of lookups, up to 300 ms per word. A set gives the same
    # answers in constant time (make bench, bench/results.md).
    dictionary = stemmer.delegatedStemmer.get_dictionary()
    dictionary.words = frozenset(dictionary.words)
    return stemmer


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Sastrawi stem of one lowercase word; numbers and abbreviations stay as they are."""
    if not word.isalpha() or len(word) <= 3:
        return word
    return _stemmer().stem(word) or word


def normalize(text: str) -> str:
    """Lowercase, unify quotes and dashes, drop apostrophes inside names (Ma’ruf -> maruf)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\w)['’]s\b", "", text)  # English possessive: Ismail's -> ismail
    text = re.sub(r"(?<=\w)['’`](?=\w)", "", text)
    return re.sub(r"[“”\"‘’`]", " ", text)


TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Normalised words with chat spellings expanded; reduplications (kata-kata) kept whole."""
    out: list[str] = []
    for token in TOKEN.findall(normalize(text)):
        out.extend(CHAT_SPELLINGS.get(token, token).split())
    return [strip_clitic(w) for w in out]


def strip_clitic(word: str) -> str:
    """'pemenangnya' -> 'pemenang', 'WBK-nya' -> 'wbk': the possessive -nya carries no topic."""
    if word.endswith("-nya"):
        return word[:-4]
    if word.endswith("nya") and len(word) >= 7:
        return word[:-3]
    return word


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry meaning: no stopwords, no question words.

    English is translated word by word and Indonesian synonyms are mapped to
    the form news text uses, for questions and paragraphs alike, so both sides
    meet on the same stems.
    """
    from .lexicon import looks_english, translate

    sw = stopwords()
    tokens = words(text)
    return [stem(w) for w in translate(tokens, english=looks_english(tokens)) if w not in sw and len(w) > 1]
