"""`python -m usage report|prune|review`: the Makefile's `report`, `prune` and `review` targets.

The tracker store is bot/endpoints.yml's (SQLite in var/) unless `--endpoints` names another
endpoints file (bot/endpoints-production.yml, with its DB_* variables set) or `--tracker`
gives a SQLAlchemy URL.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from usage.settings import ROOT, UsageSettings
from usage.store import describe, prune, read_rows, tracker_url_from


def _path(value: str) -> Path:
    """Relative paths are relative to the repository, like the Makefile's."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else ROOT / path


def _shown(path: Path) -> Path:
    """Paths inside the repository, printed relative to it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not days >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"DAYS must be a number of days, 0 or more (got {value!r})")
    return days


def _tracker(args: argparse.Namespace) -> str:
    return args.tracker or tracker_url_from(_path(args.endpoints))


def cmd_report(args: argparse.Namespace) -> int:
    """The model loads only here: prune and review must work where no embedder is installed."""
    from knowledge.embed import Embedder
    from knowledge.settings import get_settings
    from usage.events import conversations
    from usage.report import analyse, summary_lines, write_report

    settings = UsageSettings.from_env()
    url = _tracker(args)
    knowledge = get_settings()
    embedder = Embedder(knowledge.embedding_model, knowledge.query_prefix, knowledge.passage_prefix)
    usage = analyse(conversations(read_rows(url)), embedder, settings, source=describe(url))
    out = _path(args.out)
    plot = write_report(usage, settings, out, draw=not args.no_plot)
    print("\n".join(summary_lines(usage)))
    print(f"wrote {_shown(out)}" + (f" and {plot.name}" if plot else ""))
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Prints what was removed, so a cron job's mail says what retention did."""
    url = _tracker(args)
    result = prune(url, args.days, dry_run=args.dry_run)
    cutoff = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.cutoff))
    verb = "would remove" if result.dry_run else "removed"
    print(f"{verb} {result.conversations} conversations ({result.events} events) whose last event is older than "
          f"{args.days:g} days (before {cutoff}) from {describe(url)}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Writes to reports/ only: a person moves the examples into bot/data/nlu/."""
    from usage.events import conversations
    from usage.review import render_review, review_items, training_examples

    settings = UsageSettings.from_env(with_salt=False)
    url = _tracker(args)
    threshold = settings.review_min_confidence if args.min_confidence is None else args.min_confidence
    items = review_items(conversations(read_rows(url)), threshold, training_examples(_path(args.nlu)))
    out = _path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_review(items, describe(url), threshold), encoding="utf-8")
    print(f"wrote {len(items)} examples to review to {_shown(out)}; bot/data/ is unchanged")
    return 0


def main(argv: list[str] | None = None) -> int:
    """One entry point with subcommands, like `python -m knowledge`."""
    parser = argparse.ArgumentParser(prog="python -m usage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--tracker", help="SQLAlchemy URL of the tracker store (overrides --endpoints)")
    store.add_argument("--endpoints", default="bot/endpoints.yml", help="endpoints file naming the tracker store")
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser("report", parents=[store], help="write reports/usage.md and usage.png")
    report.add_argument("--out", default="reports/usage.md")
    report.add_argument("--no-plot", action="store_true", help="Markdown only")
    report.set_defaults(run=cmd_report)

    prune_cmd = commands.add_parser("prune", parents=[store], help="delete conversations idle for more than N days")
    prune_cmd.add_argument("--days", type=_days, required=True, help="whole conversations whose last event is older")
    prune_cmd.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
    prune_cmd.set_defaults(run=cmd_prune)

    review = commands.add_parser("review", parents=[store], help="write reports/review-nlu.yml")
    review.add_argument("--out", default="reports/review-nlu.yml")
    review.add_argument("--nlu", default="bot/data/nlu", help="training data whose examples are not offered again")
    review.add_argument("--min-confidence", type=float, help="default REVIEW_MIN_CONFIDENCE (0.6)")
    review.set_defaults(run=cmd_review)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
