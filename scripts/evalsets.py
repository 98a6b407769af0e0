"""The answer benchmark: articles, their question sets, the dev/test split, and a checker for them.

Layout (tests/eval/):
  splits.yml          which articles are dev (tuned on), test (reported, never tuned on) and the Kominfo row
  articles/<id>.txt   benchmark articles in ANTARA's layout (the Kominfo article stays in knowledge/articles/)
  sets/<id>.yml       one question set per article, written from the article as a reader would

`python scripts/evalsets.py check` checks every set against its article: gold
paragraphs exist, every expected fact is in them, paraphrases share no
content word with their answer sentence, and each category has its minimum.
`python scripts/evalsets.py show ID` prints an article's numbered paragraphs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from knowledge.parse import Article, parse_article  # noqa: E402

EVAL_DIR = ROOT / "tests" / "eval"
SETS_DIR = EVAL_DIR / "sets"
ARTICLES_DIR = EVAL_DIR / "articles"
SPLITS = EVAL_DIR / "splits.yml"
BOT_ARTICLES_DIR = ROOT / "knowledge" / "articles"

# What each category asks; the minimum per benchmark article (the Kominfo set predates the minimums).
CATEGORIES: dict[str, int] = {
    "number": 4,  # a figure: count, amount, percentage, score
    "fact": 4,  # who, what, where, when, stated in the article
    "quote": 3,  # what someone said, or who said it
    "paraphrase": 3,  # no content word shared with the answer sentence
    "informal": 3,  # chat spelling: yg, brp, gmn, dapet ...
    "english": 3,  # asked in English
    "meta": 2,  # about the article itself: writer, editor, date, source
    "followup": 3,  # two turns; the second leans on the first
    "offtopic": 4,  # the article's own subject, but the article does not answer it
    "unrelated": 2,  # nothing to do with the article
}
# Categories of the older Kominfo set that the benchmark does not use.
LEGACY_CATEGORIES = {"chitchat"}
MIN_PARAGRAPHS = 10
MIN_ITEMS = 30
# Words a paraphrase may share with its answer sentence: they carry no content.
FUNCTION_WORDS = set(
    """yang dan di ke dari untuk pada dengan dalam itu ini ada adalah akan oleh sebagai atau juga tidak
    apa siapa berapa kapan mana bagaimana mengapa kenapa apakah saja para sang si telah sudah masih
    bisa dapat harus lebih paling sangat se per the a an of to in on is was are were what who how
    which when where why did does do""".split()
)


@dataclass(frozen=True)
class EvalSet:
    """One article's questions, with the article and its split."""

    article_id: str
    split: str  # dev, test or kominfo
    path: Path
    items: list[dict[str, Any]]
    article: Article


def splits() -> dict[str, list[str]]:
    """split name -> article ids, from tests/eval/splits.yml."""
    data = yaml.safe_load(SPLITS.read_text(encoding="utf-8")) or {}
    return {name: list(ids or []) for name, ids in data.items()}


def article_path(article_id: str) -> Path:
    """A benchmark article's file, or the bot's own article for the Kominfo row."""
    for folder in (ARTICLES_DIR, BOT_ARTICLES_DIR):
        for suffix in (".txt", ".md"):
            path = folder / f"{article_id}{suffix}"
            if path.exists():
                return path
    raise FileNotFoundError(f"no article file for {article_id!r} in {ARTICLES_DIR} or {BOT_ARTICLES_DIR}")


def load_set(article_id: str, split: str = "") -> EvalSet:
    """Read one question set and parse its article."""
    path = SETS_DIR / f"{article_id}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("article") != article_id:
        raise ValueError(f"{path}: 'article' is {data.get('article')!r}, expected {article_id!r}")
    return EvalSet(article_id, split, path, list(data["items"]), parse_article(article_path(article_id)))


def load_sets(names: tuple[str, ...] = ("dev", "test", "kominfo")) -> list[EvalSet]:
    """Every set of the named splits, in splits.yml's order."""
    return [load_set(aid, name) for name, ids in splits().items() if name in names for aid in ids]


def _norm(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", re.sub(r"[“”\"]", " ", text)).strip()


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", _norm(text).replace("'", "")) if t not in FUNCTION_WORDS}


def _stems(tokens: set[str]) -> set[str]:
    try:
        from knowledge.text import stem
    except ImportError:  # the checker runs without the venv too; stems then equal words
        return tokens
    return {stem(t) for t in tokens}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?\"”])\s+(?=[\"“A-Z0-9])", text) if s.strip()]


def _meta_text(article: Article) -> str:
    parts = [article.title, article.source, article.city, article.date, str(article.year or ""),
             article.reporter, article.editor, article.headline]
    return " ".join(p for p in parts if p)


def check_set(es: EvalSet, strict: bool = True) -> list[str]:
    """Every problem of one set, as 'file: item: reason' lines; empty when it is sound.

    `strict` adds the benchmark's rules (minimums, true paraphrases) that the older Kominfo set predates.
    """
    problems: list[str] = []
    where = es.path.relative_to(ROOT)
    paras = es.article.paragraphs
    if strict and len(paras) < MIN_PARAGRAPHS:
        problems.append(f"{where}: the article has {len(paras)} body paragraphs (< {MIN_PARAGRAPHS})")
    ids = Counter(i.get("id") for i in es.items)
    problems += [f"{where}: id {i!r} used {n} times" for i, n in ids.items() if n > 1]
    counts = Counter(i.get("category") for i in es.items)
    for item in es.items:
        name = f"{where}: {item.get('id')}"
        category = item.get("category")
        if category not in CATEGORIES and category not in LEGACY_CATEGORIES:
            problems.append(f"{name}: unknown category {category!r}")
        turns = item.get("turns") or []
        if not turns:
            problems.append(f"{name}: no turns")
        if category == "followup" and len(turns) < 2:
            problems.append(f"{name}: a follow-up needs at least two turns")
        for t, turn in enumerate(turns, 1):
            problems += [f"{name} turn {t}: {p}" for p in _check_turn(turn, category, es.article, strict)]
    if strict:
        for category, least in CATEGORIES.items():
            if counts[category] < least:
                problems.append(f"{where}: {counts[category]} {category} items (< {least})")
        if len(es.items) < MIN_ITEMS:
            problems.append(f"{where}: {len(es.items)} items (< {MIN_ITEMS})")
    return problems


def _check_turn(turn: dict[str, Any], category: str, article: Article, strict: bool) -> list[str]:
    problems = []
    if not str(turn.get("ask", "")).strip():
        return ["no 'ask'"]
    expect = turn.get("expect") or []
    if turn.get("abstain"):
        if expect or turn.get("paragraph"):
            problems.append("an abstain turn has no 'expect' and no 'paragraph'")
        return problems
    if not expect:
        return ["no 'expect' (or 'abstain: true')"]
    if category == "chitchat":
        return problems  # answered by Rasa's responses, not by the article
    gold = turn.get("paragraph")
    if gold is None:  # about the article itself: byline, front matter, dateline, or who it quotes
        source = " ".join([_meta_text(article), *(p.text for p in article.paragraphs)])
        if not all(any(_norm(a.strip()) in _norm(source) for a in str(e).split("|")) for e in expect):
            return ["no 'paragraph' (the body paragraph(s) that answer it, counted from 1)"]
    else:
        numbers = [gold] if isinstance(gold, int) else list(gold)
        bad = [n for n in numbers if not (isinstance(n, int) and 1 <= n <= len(article.paragraphs))]
        if bad:
            return [f"paragraph {bad} is not between 1 and {len(article.paragraphs)}"]
        source = " ".join(article.paragraphs[n - 1].text for n in numbers)
    for element in expect:
        alternatives = [a.strip() for a in str(element).split("|")]
        if not any(_norm(a) in _norm(source) for a in alternatives):
            problems.append(f"expected {element!r} is not in the gold text")
    if category == "paraphrase" and strict:
        problems += _check_paraphrase(str(turn["ask"]), expect, source)
    return problems


def _check_paraphrase(ask: str, expect: list[Any], source: str) -> list[str]:
    """A paraphrase shares no content word (nor stem) with the sentence holding its first expected fact."""
    first = [_norm(a) for a in str(expect[0]).split("|")]
    sentence = next((s for s in _sentences(source) if any(a in _norm(s) for a in first)), source)
    shared = _stems(_tokens(ask)) & _stems(_tokens(sentence))
    return [f"a paraphrase shares {sorted(shared)} with its answer sentence"] if shared else []


def show(article_id: str) -> str:
    """The article's body paragraphs, numbered as the sets count them, and its metadata."""
    article = parse_article(article_path(article_id))
    lines = [f"{article.id}: {article.cite}", f"meta: {_meta_text(article)}", ""]
    lines += [f"[{p.number}] {p.text}" for p in article.paragraphs]
    return "\n".join(lines)


def main() -> int:
    """`check [ID ...]` or `show ID`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check question sets against their articles")
    check.add_argument("ids", nargs="*", help="article ids (default: every set in splits.yml)")
    sub.add_parser("show", help="print an article's numbered paragraphs").add_argument("id")
    args = parser.parse_args()
    if args.command == "show":
        print(show(args.id))
        return 0
    split_of = {aid: name for name, ids in splits().items() for aid in ids}
    ids = args.ids or list(split_of)
    problems: list[str] = []
    for aid in ids:
        es = load_set(aid, split_of.get(aid, ""))
        found = check_set(es, strict=es.split != "kominfo")
        problems += found
        print(f"{aid}: {len(es.items)} items, {len(es.article.paragraphs)} paragraphs, "
              f"{'ok' if not found else f'{len(found)} problems'}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
