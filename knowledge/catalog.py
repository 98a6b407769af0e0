"""Add, replace and remove article files, all or nothing.

A file is parsed before it is copied, so a broken file never reaches the
article folder and the index keeps serving. A copy is written under a
temporary name and renamed into place, so a build never reads half a file.
Each change comes with an `Undo`, so the CLI can put the folder back when the
index build that follows fails.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .parse import ARTICLE_SUFFIXES, article_paths, parse_article


class ArticleRefused(ValueError):
    """An add or remove that would clash with or lose existing content; the message says how to go ahead."""


@dataclass(frozen=True)
class Change:
    """What happened to one article file."""

    id: str
    action: str  # "added", "replaced", "unchanged" or "removed"
    path: Path
    paragraphs: int | None = None


@dataclass
class Undo:
    """The article files as they were before a change: bytes to restore, or None for a file to delete."""

    saved: list[tuple[Path, bytes | None]] = field(default_factory=list)

    def remember(self, path: Path) -> None:
        """Save a file's current state, once, before it is overwritten or deleted."""
        if all(p != path for p, _ in self.saved):
            self.saved.append((path, path.read_bytes() if path.is_file() else None))

    def __call__(self) -> None:
        """Put every remembered file back."""
        for path, data in reversed(self.saved):
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so the rename is atomic.

    The temporary name ends in `.tmp-PID`, not `.txt`/`.md`, so a build running
    meanwhile does not take it for an article.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def existing_files(articles_dir: Path, article_id: str) -> list[Path]:
    """The files that hold an article id (one, unless someone put both `x.txt` and `x.md` there)."""
    candidates = [articles_dir / f"{article_id}{suffix}" for suffix in ARTICLE_SUFFIXES]
    return [path for path in candidates if path.is_file()]


def add_articles(articles_dir: Path, files: Sequence[Path], replace: bool = False) -> tuple[list[Change], Undo]:
    """Copy article files into the folder after checking all of them; nothing is copied if one is refused.

    Raises ArticleParseError (naming file:line) for an unusable file, and
    ArticleRefused for a missing file, a wrong suffix, or an id that already
    holds other content when `replace` is off.
    """
    parsed = []
    for file in files:
        if not file.is_file():
            raise ArticleRefused(f"{file}: no such file")
        if file.suffix not in ARTICLE_SUFFIXES:
            raise ArticleRefused(f"{file}: an article must be a {' or '.join(ARTICLE_SUFFIXES)} file")
        parsed.append(parse_article(file))
    ids = [a.id for a in parsed]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ArticleRefused(f"two files would both be article {', '.join(twice)}; rename one")

    plans: list[tuple[Path, Path, list[Path], Change]] = []
    for article in parsed:
        target = articles_dir / article.path.name
        existing = existing_files(articles_dir, article.id) if articles_dir.is_dir() else []
        data = article.path.read_bytes()
        if existing == [target] and target.read_bytes() == data:
            plans.append((article.path, target, [], Change(article.id, "unchanged", target, len(article.paragraphs))))
            continue
        if existing and not replace:
            raise ArticleRefused(
                f"article {article.id} already exists ({existing[0]}) with other content; "
                "use --replace (make add-article ... REPLACE=1) to replace it"
            )
        action = "replaced" if existing else "added"
        others = [p for p in existing if p != target]
        plans.append((article.path, target, others, Change(article.id, action, target, len(article.paragraphs))))

    undo = Undo()
    articles_dir.mkdir(parents=True, exist_ok=True)
    try:
        for source, target, others, change in plans:
            if change.action == "unchanged":
                continue
            undo.remember(target)
            write_atomic(target, source.read_bytes())
            for other in others:
                undo.remember(other)
                other.unlink()
    except BaseException:
        undo()
        raise
    return [change for *_, change in plans], undo


def remove_article(articles_dir: Path, article_id: str) -> tuple[Change, Undo]:
    """Delete an article's file; refuses an unknown id and the last article (an index needs one)."""
    name = Path(article_id)
    if name.suffix in ARTICLE_SUFFIXES:
        article_id = name.stem  # `remove x.txt` means article x
    found = existing_files(articles_dir, article_id) if articles_dir.is_dir() else []
    if not found:
        raise ArticleRefused(f"no article {article_id!r} in {articles_dir}; `make articles` lists them")
    if set(article_paths(articles_dir)) <= set(found):
        raise ArticleRefused(f"{article_id} is the only article; the index needs at least one, so add another first")
    undo = Undo()
    for path in found:
        undo.remember(path)
        path.unlink()
    return Change(article_id, "removed", found[0]), undo
