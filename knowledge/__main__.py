"""Command line: `python -m knowledge build | check | ask "pertanyaan" | add FILE | remove ID | list`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .catalog import ArticleRefused, Undo, add_articles, remove_article
from .embed import Embedder, ModelNotFoundError
from .index import IndexNotReady, indexed_articles, problems, update_index
from .parse import ArticleParseError, article_paths, parse_article
from .search import Retriever
from .settings import Settings, get_settings


def _embedder() -> Embedder:
    s = get_settings()
    return Embedder(s.embedding_model, s.query_prefix, s.passage_prefix)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the index; with --if-stale, only when the articles or the model changed."""
    settings = get_settings()
    if args.if_stale and not problems(settings):
        print(f"index is up to date: {settings.index_dir / 'current'}")
        return 0
    started = time.perf_counter()
    report = update_index(settings, _embedder(), show_progress=not args.quiet)
    print(f"index built in {time.perf_counter() - started:.1f}s: {report.path}")
    print(f"  {report.summary()}")
    return 0


def cmd_check(_: argparse.Namespace) -> int:
    """Exit 1 and say why when the index does not match the articles and model."""
    found = problems(get_settings())
    for problem in found:
        print(f"stale: {problem}")
    if found:
        print("fix: make index")
        return 1
    print("index is up to date")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question in-process, for debugging retrieval without Rasa."""
    retriever = Retriever(get_settings(), _embedder())
    retriever.warm_up()
    for question in args.question:
        answer = retriever.answer(question)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            print(f"? {question}\n{answer.text}\n  [{answer.citation or 'tidak ditemukan'}] score={answer.score:.3f}\n")
    return 0


def _update(settings: Settings, undo: Undo, quiet: bool) -> int:
    """Rebuild after the article folder changed; if the build fails, put the folder back as it was."""
    started = time.perf_counter()
    try:
        report = update_index(settings, _embedder(), show_progress=not quiet)
    except BaseException:
        undo()
        print("the index was not updated; the article folder is back as it was", file=sys.stderr)
        raise
    print(f"index updated in {time.perf_counter() - started:.1f}s: {report.summary()}")
    print("no `rasa train` needed: a running action server switches to the new index at its next question")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Check, copy and index article files; a broken file or a clashing id is refused before anything changes."""
    settings = get_settings()
    changes, undo = add_articles(settings.articles_dir, [Path(f) for f in args.files], replace=args.replace)
    for change in changes:
        print(f"{change.action} {change.id} ({change.paragraphs} paragraphs): {change.path}")
    if all(c.action == "unchanged" for c in changes) and not problems(settings):
        print("index is up to date")
        return 0
    return _update(settings, undo, args.quiet)


def cmd_remove(args: argparse.Namespace) -> int:
    """Delete an article file and drop its passages from the index; nothing else is re-embedded."""
    settings = get_settings()
    change, undo = remove_article(settings.articles_dir, args.id)
    print(f"removed {change.id}: {change.path}")
    return _update(settings, undo, args.quiet)


def _index_state(article_id: str, sha256: str, indexed: dict[str, str]) -> str:
    if article_id not in indexed:
        return "no"
    return "yes" if indexed[article_id] == sha256 else "changed"


def cmd_list(_: argparse.Namespace) -> int:
    """One line per article file: id, date, paragraphs, whether the index holds it, headline; 1 if one is broken."""
    settings = get_settings()
    indexed = indexed_articles(settings.index_dir)
    rows: list[tuple[str, str, str, str, str]] = [("id", "date", "paragraphs", "indexed", "headline")]
    broken = 0
    for path in article_paths(settings.articles_dir) if settings.articles_dir.is_dir() else []:
        try:
            article = parse_article(path)
        except ArticleParseError as exc:
            broken += 1
            rows.append((path.stem, "-", "-", "broken", f"error: {exc}"))
            continue
        when = article.date or (str(article.year) if article.year else "-")
        state = _index_state(article.id, article.sha256, indexed)
        rows.append((article.id, when, str(len(article.paragraphs)), state, article.headline))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for aid, when, paragraphs, state, headline in rows:
        print(f"{aid:<{widths[0]}}  {when:<{widths[1]}}  {paragraphs:>{widths[2]}}  {state:<{widths[3]}}  {headline}")
    count = len(rows) - 1
    print(f"{count} article file{'' if count == 1 else 's'} in {settings.articles_dir}")
    return 1 if broken else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m knowledge` and `tanya-knowledge`."""
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="parse, chunk and embed the articles into a FAISS index")
    build.add_argument("--if-stale", action="store_true", help="do nothing when the index is up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=cmd_build)
    sub.add_parser("check", help="tell whether the index is up to date").set_defaults(func=cmd_check)
    ask = sub.add_parser("ask", help="answer questions without Rasa")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=cmd_ask)
    add = sub.add_parser("add", help="check article files, copy them into the article folder and update the index")
    add.add_argument("files", nargs="+", metavar="FILE", help="ANTARA text (.txt) or front matter + text (.md)")
    add.add_argument("--replace", action="store_true", help="replace an article of the same id with other content")
    add.add_argument("--quiet", action="store_true", help="no progress bar")
    add.set_defaults(func=cmd_add)
    remove = sub.add_parser("remove", help="delete an article file and update the index")
    remove.add_argument("id", help="the article id: its file name without .txt or .md")
    remove.add_argument("--quiet", action="store_true", help="no progress bar")
    remove.set_defaults(func=cmd_remove)
    sub.add_parser("list", help="the articles: id, date, paragraphs, headline").set_defaults(func=cmd_list)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ArticleParseError, ArticleRefused, ModelNotFoundError, IndexNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
