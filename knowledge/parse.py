"""Parse an article as ANTARA publishes it into body paragraphs and metadata.

The layout: an optional front matter block, a dateline ("Jakarta (ANTARA) - "),
one paragraph per line, "Baca juga:" links to other stories, a byline
("Pewarta:", "Editor:") and a copyright line. Only body paragraphs may be
quoted as answers; the rest is metadata.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

DATELINE = re.compile(r"^(?P<city>[A-Z][\w .'-]{1,40}?)\s*\((?P<source>[A-Za-z]{2,20})\)\s*[-–—]\s*")
RELATED = re.compile(r"^baca\s+juga\s*:\s*(?P<title>.+)$", re.IGNORECASE)
BYLINE = re.compile(r"^(?P<role>pewarta|editor|penulis|reporter)\s*:\s*(?P<name>.+)$", re.IGNORECASE)
COPYRIGHT = re.compile(r"^(?:copyright|hak\s+cipta)\b", re.IGNORECASE)
UPPER_NAME = re.compile(r"\b[A-Z]{3,}\b")
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
FRONT_MATTER_KEYS = {"title", "source", "date", "year", "reporter", "editor", "url"}
ARTICLE_SUFFIXES = (".txt", ".md")


class ArticleParseError(ValueError):
    """An article file that cannot be used; names the file and line to fix."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph with its place in the source file, for citations."""

    number: int
    text: str
    start: int
    end: int
    line: int


@dataclass(frozen=True)
class Article:
    """One parsed article: quotable paragraphs plus what the byline and dateline say."""

    id: str
    path: Path
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    title: str | None = None
    source: str | None = None
    city: str | None = None
    date: str | None = None
    year: int | None = None
    reporter: str | None = None
    editor: str | None = None
    url: str | None = None
    related: tuple[str, ...] = field(default_factory=tuple)

    @property
    def headline(self) -> str:
        """The title, or the lead's first clause when the file has no title (ANTARA text files don't)."""
        if self.title:
            return self.title
        lead = self.paragraphs[0].text
        clause = re.split(r",|\s+(?:setelah|karena|sehingga|yang)\s+", lead, maxsplit=1)[0].rstrip(" .")
        words = clause.split()
        return " ".join(words[:16]) + ("…" if len(words) > 16 else "")

    @property
    def cite(self) -> str:
        """How an answer names its article: a short headline, then source and date (or year)."""
        words = self.headline.rstrip("…").split()
        short = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
        when = self.date or (str(self.year) if self.year else None)
        origin = ", ".join(p for p in (self.source, when) if p)
        return f"“{short}”" + (f" ({origin})" if origin else "")

    @property
    def label(self) -> str:
        """A short human name: the title, or the source and year."""
        if self.title:
            return self.title
        parts = [p for p in (self.source, str(self.year) if self.year else None) if p]
        return " ".join(parts) or self.id


def _front_matter(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    """Read a `---` block of `key: value` lines; return it and the first body line index."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, i + 1
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or key not in FRONT_MATTER_KEYS:
            raise ArticleParseError(
                path, i + 1, f"front matter line must be one of {sorted(FRONT_MATTER_KEYS)} as 'key: value'"
            )
        meta[key] = value.strip().strip("\"'")
    raise ArticleParseError(path, 1, "front matter opened with '---' is never closed")


def parse_article(path: Path) -> Article:
    """Parse one article file; raise ArticleParseError naming the line when it is unusable."""
    raw_bytes = path.read_bytes()
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw_bytes[: exc.start].count(b"\n") + 1
        raise ArticleParseError(path, line, "not valid UTF-8 text") from exc
    lines = raw.split("\n")
    meta, first = _front_matter(lines, path)

    paragraphs: list[Paragraph] = []
    related: list[str] = []
    byline: dict[str, str] = {}
    source = meta.get("source")
    city = None
    year = int(meta["year"]) if meta.get("year", "").isdigit() else None
    offset = sum(len(line) + 1 for line in lines[:first])

    for lineno, line in enumerate(lines[first:], start=first + 1):
        line_start = offset
        offset += len(line) + 1
        text = line.strip()
        if not text:
            continue
        if m := RELATED.match(text):
            related.append(m["title"].strip())
            continue
        if m := BYLINE.match(text):
            role = "editor" if m["role"].lower() == "editor" else "reporter"
            byline[role] = m["name"].strip()
            continue
        if COPYRIGHT.match(text):
            name, found_year = UPPER_NAME.search(text), YEAR.search(text)
            source = source or (name.group(0) if name else None)
            year = year or (int(found_year.group(0)) if found_year else None)
            continue
        start = line_start + (len(line) - len(line.lstrip()))
        if not paragraphs and (m := DATELINE.match(text)):
            city, source = m["city"].strip(), source or m["source"]
            start += m.end()
            text = text[m.end():]
        paragraphs.append(Paragraph(len(paragraphs) + 1, text, start, start + len(text), lineno))

    if not paragraphs:
        raise ArticleParseError(path, first + 1, "no body paragraphs found")
    if year is None and meta.get("date"):
        found = YEAR.search(meta["date"])
        year = int(found.group(0)) if found else None
    return Article(
        id=path.stem,
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        paragraphs=tuple(paragraphs),
        title=meta.get("title"),
        source=source,
        city=city,
        date=meta.get("date"),
        year=year,
        reporter=meta.get("reporter") or byline.get("reporter"),
        editor=meta.get("editor") or byline.get("editor"),
        url=meta.get("url"),
        related=tuple(related),
    )


def article_paths(directory: Path) -> list[Path]:
    """The article files in a folder, in a stable order."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in ARTICLE_SUFFIXES)


def load_articles(directory: Path) -> list[Article]:
    """Parse every article in a folder."""
    return [parse_article(p) for p in article_paths(directory)]
