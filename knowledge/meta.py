"""Answers about the article itself: who wrote it, who edited it, its source, year, place, topic.

These facts live in the byline, dateline and copyright line, which are never
quoted as passages, so retrieval cannot find them. A question is "about the
article" when it uses the vocabulary of journalism (penulis, editor,
narasumber) or names the article (berita/artikel ini) with a meta word.
"""

from __future__ import annotations

from itertools import pairwise

from .parse import Article
from .suggest import speakers
from .text import words

AUTHOR = {"penulis", "penulisnya", "wartawan", "wartawannya", "pewarta", "pewartanya", "reporter", "reporternya",
          "jurnalis", "jurnalisnya", "author", "writer", "journalist"}
# "ditulis" alone may ask when or where it was written; with "siapa" it asks who.
WRITING = {"menulis", "ditulis", "nulis", "meliput", "wrote", "written"}
WHO = {"siapa", "who", "oleh", "by", "nama"}
EDITOR = {"editor", "editornya", "penyunting", "penyuntingnya", "disunting", "menyunting", "edited", "editing"}
SOURCE = {"sumber", "sumbernya", "bersumber", "media", "penerbit", "diterbitkan", "menerbitkan", "copyright", "source",
          "publisher", "published", "outlet", "cipta"}
# "Kapan berita ini diterbitkan?" asks when, although "diterbitkan" also belongs to the source's words.
ASKS_WHEN = {"kapan", "tanggal", "when", "date", "year"}
WHEN = ASKS_WHEN | {"tahun", "terbit", "dirilis"}
PLACE = {"kota", "where", "city", "dateline", "lokasi"}
TOPIC = {"topik", "topiknya", "inti", "intinya", "ringkas", "ringkasan", "rangkum", "rangkuman", "membahas",
         "dibahas", "tentang", "about", "summary", "summarize", "gist", "pokok", "isinya", "ringkasnya", "bahas"}
SPEAKERS = {"narasumber", "narasumbernya", "dikutip", "quoted", "speakers", "sources"}
ARTICLE_WORDS = {"berita", "beritanya", "artikel", "artikelnya", "tulisan", "tulisannya", "article", "news", "story",
                 "liputan", "laporan"}


def meta_answer(question: str, article: Article) -> str | None:
    """A reply from the byline and dateline, or None when the question is about the content."""
    tokens = words(question)
    said = set(tokens)
    # "Sumber Daya" is content (a directorate), not the article's source.
    if "sumber" in said and any(a == "sumber" and b == "daya" for a, b in pairwise(tokens)):
        said.discard("sumber")
    # "kantor berita" is a news agency: which one asks for the source.
    if any(a == "kantor" and b == "berita" for a, b in pairwise(tokens)):
        said.add("sumber")
    names_article = bool(said & ARTICLE_WORDS)
    parts: list[str] = []
    if (said & AUTHOR or (said & WRITING and said & WHO)) and article.reporter:
        parts.append(f"Artikel ini ditulis oleh {article.reporter} (pewarta {article.source or 'kantor berita'}).")
    if said & EDITOR and article.editor:
        parts.append(f"Editornya {article.editor}.")
    if said & SPEAKERS:
        names = speakers(article)
        if names:
            parts.append(f"Narasumber yang dikutip dalam artikel ini: {', '.join(names)}.")
    if parts:
        return " ".join(parts)
    if not names_article:
        return None
    asks_when = bool(said & ASKS_WHEN) or ("tahun", "berapa") in set(pairwise(tokens))
    if asks_when and (article.date or article.year):
        return _published(article)
    if said & SOURCE and article.source:
        year = f" {article.year}" if article.year else ""
        return f"Sumbernya kantor berita {article.source} (Copyright © {article.source}{year})."
    if said & PLACE and article.city:
        return f"Artikel ini ditulis dari {article.city} (dateline: {article.city} ({article.source}))."
    if said & WHEN and (article.date or article.year):
        return _published(article)
    if said & TOPIC:
        lead = article.paragraphs[0].text
        return f"Artikel {article.label} ini tentang: {lead}"
    return None


def _published(article: Article) -> str:
    return f"Artikel ini terbit {('pada ' + article.date) if article.date else 'tahun ' + str(article.year)}."
