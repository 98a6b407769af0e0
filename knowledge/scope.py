"""Which article a reader means: "di artikel tentang WBK, ..." narrows, "semua artikel" resets.

With several articles a reader may want to stay in one. They say so in words
("di artikel tentang perpustakaan digital, berapa penggunanya?", "berita soal
WBK: siapa yang menerima?") or with a button. The topic words are matched
against each article's title and text (stemmed), and the article with the
clearly best overlap wins; when none or several match equally, nothing is
narrowed. The rest of the message is the question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .parse import Article
from .text import content_terms

SCOPE = re.compile(
    r"^\s*(?:(?:di|dalam|pada|dari|menurut|untuk|khusus|hanya|cuma|fokus(?:\s+ke)?)\s+)*"
    r"(?:artikel|berita|tulisan)\s+(?:yang\s+)?(?:tentang|soal|mengenai|terkait|ttg|about|on)\s+"
    r"(?P<topic>[^,:;?!.]+?)\s*(?:[,:;?!.]|\s+-\s+|$)\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
RESET = re.compile(
    r"^\s*(?:(?:cari|tanya|jawab|kembali|balik|pakai|gunakan|ke)\s+)*(?:(?:di|dari|ke)\s+)?"
    r"(?:semua|seluruh)\s+(?:artikel|berita)(?:nya)?\s*[.!]?\s*$|^\s*(?:artikel|berita)\s+(?:lain|apa saja)\s*$",
    re.IGNORECASE,
)
QUESTION_START = re.compile(
    r"\s+(?=(?:siapa|apa|apakah|berapa|kapan|mana|dimana|mengapa|kenapa|bagaimana|gimana|adakah|"
    r"who|what|how|when|where|why)\b)",
    re.IGNORECASE,
)
ALL_ARTICLES = "*"  # the button payload's article value that means "every article"


@dataclass(frozen=True)
class Scope:
    """What a message says about scope: an article to narrow to, a reset, or nothing; plus the question left."""

    article_id: str | None = None
    reset: bool = False
    topic: str = ""
    question: str = ""


def _terms(article: Article) -> set[str]:
    body = " ".join(p.text for p in article.paragraphs)
    return set(content_terms(" ".join(filter(None, (article.title, article.headline, body, article.id)))))


def match_article(topic: str, articles: Mapping[str, Article]) -> str | None:
    """The one article that uses the most topic words; None on no match or a tie (words all of them use)."""
    wanted = set(content_terms(topic))
    if not wanted:
        return None
    overlap = sorted(((len(wanted & _terms(a)), aid) for aid, a in articles.items()), reverse=True)
    if not overlap or overlap[0][0] == 0 or (len(overlap) > 1 and overlap[1][0] == overlap[0][0]):
        return None
    return overlap[0][1]


def read_scope(text: str, articles: Mapping[str, Article]) -> Scope:
    """Split "di artikel tentang X, Q" into the article X names and Q; recognise "semua artikel"."""
    if RESET.match(text):
        return Scope(reset=True)
    m = SCOPE.match(text)
    if not m:
        return Scope(question=text)
    topic, rest = m["topic"].strip(), m["rest"].strip()
    head, *tail = QUESTION_START.split(topic, maxsplit=1)  # "artikel tentang Sukamaju siapa wali kotanya?"
    if tail:
        topic, rest = head, f"{tail[0]} {rest}".strip()
    return Scope(article_id=match_article(topic, articles), topic=topic, question=rest)
