"""Command line: `python -m knowledge build | check | ask "pertanyaan"`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .embed import Embedder, ModelNotFoundError
from .index import IndexNotReady, build_index, problems
from .parse import ArticleParseError
from .search import Retriever
from .settings import get_settings


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
    path = build_index(settings, _embedder(), show_progress=not args.quiet)
    print(f"index built in {time.perf_counter() - started:.1f}s: {path}")
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
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ArticleParseError, ModelNotFoundError, IndexNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
