"""`make eval`: ask the bot every question of the benchmark (tests/eval/) and report per article, category and split.

The benchmark's articles are loaded together into an eval knowledge base
(var/eval/), and each conversation first narrows the scope to its article, as
a reader who picks the article from the list. Reported, for the dev split
(tuned on), the test split (never tuned on) and the Kominfo row: answer
accuracy (the reply holds every key fact, stays within 800 characters, and an
abstain turn quotes nothing), per category and per article; abstention
precision and recall; retrieval hit@1/hit@3 of the bot's ranking against
plain dense retrieval; the answer score against correctness (a plot); latency.
Writes reports/eval.md, reports/eval.png and reports/eval-scores.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evalsets import SETS_DIR, EvalSet, load_sets  # noqa: E402

from knowledge.followup import Context  # noqa: E402
from knowledge.progress import Progress  # noqa: E402
from knowledge.search import article_payload  # noqa: E402
from knowledge.settings import Settings, get_settings  # noqa: E402
from knowledge.text import normalize  # noqa: E402

KOMINFO = "antara-kominfo-wbk-2020"
QUESTIONS = SETS_DIR / f"{KOMINFO}.yml"
EVAL_VAR = ROOT / "var" / "eval"
MAX_REPLY = 800
QUOTE_RUN = 8
NO_QUOTE_CATEGORIES = ("offtopic", "unrelated", "chitchat")
SPLITS = ("kominfo", "dev", "test")


@dataclass
class TurnResult:
    """One asked turn and how it scored."""

    item: str
    category: str
    turn: int
    ask: str
    reply: str
    latency_ms: float
    correct: bool
    quoted: bool
    lead_ok: bool | None
    reasons: list[str] = field(default_factory=list)
    rank: int | None = None  # rank of the gold paragraph by the bot's ranking; 0 = not in the top 10
    dense_rank: int | None = None  # the same for plain dense retrieval
    picked: bool = False  # the bot asked which article; the reader picked the eval's article
    article: str = KOMINFO
    split: str = "kominfo"
    should_abstain: bool = False
    score: float | None = None  # the answer score the bot gave this turn (in-process)
    found: bool | None = None  # whether the bot answered from a passage (in-process)


def eval_article(path: Path = QUESTIONS) -> str:
    """The id of the article the questions are about."""
    return str(yaml.safe_load(path.read_text(encoding="utf-8"))["article"])


def load_items(path: Path = QUESTIONS, smoke: bool = False) -> list[dict[str, Any]]:
    """The eval items of one set, or only those marked smoke."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    return [i for i in items if i.get("smoke")] if smoke else items


def _flat(text: str) -> list[str]:
    return normalize(text).split()


class QuoteDetector:
    """Finds runs of QUOTE_RUN consecutive article words inside a reply."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.runs: set[tuple[str, ...]] = set()
        for text in texts:
            words = _flat(text)
            self.runs.update(tuple(words[i:i + QUOTE_RUN]) for i in range(len(words) - QUOTE_RUN + 1))

    def quotes(self, reply: str) -> bool:
        """True when the reply repeats article text."""
        words = _flat(reply)
        return any(tuple(words[i:i + QUOTE_RUN]) in self.runs for i in range(len(words) - QUOTE_RUN + 1))


def ask(base_url: str, sender: str, text: str, timeout: float = 60) -> tuple[list[dict[str, Any]], float]:
    """One REST round trip; returns the bot's messages and the latency in ms."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        messages = json.loads(resp.read())
    return messages, (time.perf_counter() - started) * 1000


def reply_text(messages: list[dict[str, Any]]) -> str:
    """What a reader sees, without the buttons."""
    return "\n".join(str(m["text"]) for m in messages if m.get("text"))


def _matches(alternatives: str, text: str) -> bool:
    low = normalize(text)
    return any(normalize(a.strip()) in low for a in alternatives.split("|"))


def score_turn(
    turn: dict[str, Any], category: str, reply: str, detector: QuoteDetector
) -> tuple[bool, bool, list[str]]:
    """Correctness, whether the reply quotes the article, and why it failed."""
    reasons: list[str] = []
    quoted = detector.quotes(reply)
    if len(reply) > MAX_REPLY:
        reasons.append(f"reply has {len(reply)} characters (> {MAX_REPLY})")
    if not reply.strip():
        reasons.append("no reply")
    for expected in turn.get("expect", []):
        if not _matches(expected, reply):
            reasons.append(f"missing {expected!r}")
    if (turn.get("abstain") or turn.get("no_quote") or category in NO_QUOTE_CATEGORIES) and quoted:
        reasons.append("quotes the article")
    return not reasons, quoted, reasons


def lead_ok(turn: dict[str, Any], reply: str) -> bool | None:
    """Whether the first line alone already holds the key facts (the precise answer leads)."""
    if not turn.get("expect") or turn.get("abstain"):
        return None
    first = reply.strip().split("\n", 1)[0]
    return all(_matches(e, first) for e in turn["expect"])


def _result(item: dict[str, Any], t: int, turn: dict[str, Any], reply: str, ms: float, detector: QuoteDetector,
            article: str, split: str, picked: bool) -> TurnResult:
    correct, quoted, reasons = score_turn(turn, item["category"], reply, detector)
    return TurnResult(
        item["id"], item["category"], t, turn["ask"], reply, ms, correct, quoted, lead_ok(turn, reply), reasons,
        picked=picked, article=article, split=split,
        should_abstain=bool(turn.get("abstain")) or item["category"] in ("offtopic", "unrelated"),
    )


def run(
    base_url: str, items: list[dict[str, Any]], progress: bool = True, article: str = KOMINFO,
    split: str = "kominfo", scope: bool = False, detector: QuoteDetector | None = None,
    tick: Callable[[], None] | None = None,
) -> list[TurnResult]:
    """Ask every turn of every item over REST; each item is its own conversation.

    With `scope`, each conversation first presses the article's button (the bot then answers from that
    article only); without it, a "which article?" question is answered by pressing the eval's article.
    """
    if detector is None:
        from knowledge.parse import load_articles

        detector = QuoteDetector(p.text for a in load_articles(get_settings().articles_dir) for p in a.paragraphs)
    results: list[TurnResult] = []
    pick = article_payload(article)
    bar = Progress(len(items), "eval", "items") if progress and tick is None else None
    tick = bar.update if bar is not None else tick
    for item in items:
        sender = f"eval-{item['id']}-{uuid.uuid4().hex[:6]}"
        if scope:
            ask(base_url, sender, pick)
        for t, turn in enumerate(item["turns"]):
            messages, ms = ask(base_url, sender, turn["ask"])
            picked = pick in [b.get("payload") for m in messages for b in m.get("buttons") or []]
            if picked:  # "which article?": a reader of this article presses its button
                messages, more = ask(base_url, sender, pick)
                ms += more
            results.append(_result(item, t, turn, reply_text(messages), ms, detector, article, split, picked))
        if tick is not None:
            tick()
    if bar is not None:
        bar.close()
    return results


# --- the eval knowledge base: every benchmark article, indexed together ---------------------------------


def eval_settings(sets: list[EvalSet]) -> Settings:
    """Settings whose knowledge base is the benchmark's articles (var/eval/knowledge), indexed in var/eval/index."""
    knowledge = EVAL_VAR / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    wanted = {es.article.path.name: es.article.path for es in sets}
    for stale in knowledge.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        link = knowledge / name
        if not (link.is_symlink() and link.resolve() == path.resolve()):
            link.unlink(missing_ok=True)
            link.symlink_to(path.resolve())
    return replace(get_settings(), articles_dir=knowledge, index_dir=EVAL_VAR / "index")


def build_eval_index(settings: Settings) -> None:
    """Embed what the index cache lacks (each article once, then reused)."""
    from knowledge.embed import Embedder
    from knowledge.index import problems, update_index

    if problems(settings):
        embedder = Embedder(settings.embedding_model, settings.query_prefix, settings.passage_prefix)
        report = update_index(settings, embedder, show_progress=False)
        print(f"eval index: {report.summary()}", file=sys.stderr)


def run_in_process(
    retriever: Any, es: EvalSet, detector: QuoteDetector, scope: bool = True, tick: Callable[[], None] | None = None,
) -> list[TurnResult]:
    """The same turns answered by the retriever directly, threading context like the action does.

    For fast iteration on retrieval; chit-chat needs Rasa and is skipped.
    """
    results: list[TurnResult] = []
    for item in es.items:
        if item["category"] == "chitchat":
            continue
        context = retriever.answer("", Context(), chosen_article=es.article_id).context if scope else None
        for t, turn in enumerate(item["turns"]):
            started = time.perf_counter()
            answer = retriever.answer(turn["ask"], context)
            picked = any(p == article_payload(es.article_id) for _, p in answer.choices)
            if picked:  # "which article?": a reader of this article presses its button
                answer = retriever.answer("", answer.context, chosen_article=es.article_id)
            ms = (time.perf_counter() - started) * 1000
            context = answer.context
            r = _result(item, t, turn, answer.text, ms, detector, es.article_id, es.split, picked)
            r.score, r.found = answer.score, answer.found
            results.append(r)
        if tick is not None:
            tick()
    return results


def annotate(retriever: Any, es: EvalSet, results: list[TurnResult], rest: bool) -> None:
    """Ranks of the gold paragraph (bot and plain dense) on first turns, and, after a REST run, the answer scores.

    The scores come from the retriever in this process, which answers exactly as the action server does.
    """
    turns = {(i["id"], n): t for i in es.items for n, t in enumerate(i["turns"])}
    context0 = retriever.answer("", Context(), chosen_article=es.article_id).context
    contexts: dict[str, Any] = {}
    for r in results:
        if r.article != es.article_id:
            continue
        turn = turns[(r.item, r.turn)]
        if rest:
            context = contexts.get(r.item, context0) if r.turn else context0
            answer = retriever.answer(r.ask, context)
            contexts[r.item] = answer.context
            r.score, r.found = answer.score, answer.found
        gold = turn.get("paragraph")
        if gold is None or r.turn > 0:
            continue
        wanted = {gold} if isinstance(gold, int) else set(gold)
        ranked = [h.paragraph for h in retriever.search(r.ask, k=10, only=es.article_id)]
        dense = [p for _, p in retriever.dense_ranking(r.ask, only=es.article_id)[:10]]
        r.rank = next((i + 1 for i, p in enumerate(ranked) if p in wanted), 0)
        r.dense_rank = next((i + 1 for i, p in enumerate(dense) if p in wanted), 0)


# --- figures ------------------------------------------------------------------------------------------


def _pct(values: list[bool]) -> float | None:
    return 100.0 * sum(values) / len(values) if values else None


def figures(rs: list[TurnResult]) -> dict[str, Any]:
    """Accuracy, no-quote, precise lead, hit@k (bot and dense), MRR, abstention and latency of some turns."""
    ranked = [r.rank for r in rs if r.rank is not None]
    dense = [r.dense_rank for r in rs if r.dense_rank is not None]
    no_quote = [not r.quoted for r in rs if r.category in NO_QUOTE_CATEGORIES]
    leads = [r.lead_ok for r in rs if r.lead_ok is not None]
    latencies = sorted(r.latency_ms for r in rs) or [0.0]
    judged = [r for r in rs if r.category not in ("meta", "chitchat")]
    abstained = [r for r in judged if not r.quoted]
    should = [r for r in judged if r.should_abstain]
    return {
        "turns": len(rs),
        "accuracy": _pct([r.correct for r in rs]),
        "no_quote": _pct(no_quote),
        "lead": _pct(leads),
        "hit@1": _pct([k == 1 for k in ranked]),
        "hit@3": _pct([0 < k <= 3 for k in ranked]),
        "dense@1": _pct([k == 1 for k in dense]),
        "dense@3": _pct([0 < k <= 3 for k in dense]),
        "mrr": statistics.fmean([1 / k if k else 0.0 for k in ranked]) if ranked else None,
        "abstain_precision": _pct([r.should_abstain for r in abstained]),
        "abstain_recall": _pct([not r.quoted for r in should]),
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
    }


def summarize(results: list[TurnResult]) -> dict[str, dict[str, Any]]:
    """Per-category and overall figures (of whatever turns are given)."""
    groups: dict[str, list[TurnResult]] = defaultdict(list)
    for r in results:
        groups[r.category].append(r)
    groups["overall"] = list(results)
    return {name: figures(rs) for name, rs in groups.items()}


def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def markdown_table(table: dict[str, dict[str, Any]], label: str = "category") -> str:
    """Rows of figures as a Markdown table, overall last."""
    lines = [
        f"| {label} | turns | accuracy | no-quote | precise lead | hit@1 | hit@3 | dense hit@1 | dense hit@3 | MRR "
        "| p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(table, key=lambda n: (n == "overall", n)):
        row = table[name]
        label_cell = f"**{name}**" if name == "overall" else name
        cells = [_fmt(row[k], suffix=" %") for k in ("accuracy", "no_quote", "lead", "hit@1", "hit@3", "dense@1",
                                                     "dense@3")]
        lines.append(f"| {label_cell} | {row['turns']} | {' | '.join(cells)} | {_fmt(row['mrr'], '.2f')} "
                     f"| {row['p50_ms']:.0f} |")
    return "\n".join(lines)


def split_table(results: list[TurnResult]) -> str:
    """The headline: one row per split, with the targets' figures."""
    lines = [
        "| split | articles | turns | accuracy | off-topic without a quote | abstention precision | abstention recall "
        "| hit@1 (bot) | hit@1 (dense) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for split in SPLITS:
        rs = [r for r in results if r.split == split]
        if not rs:
            continue
        f = figures(rs)
        off = _pct([not r.quoted for r in rs if r.category == "offtopic"])
        lines.append(
            f"| **{split}** | {len({r.article for r in rs})} | {f['turns']} | {_fmt(f['accuracy'], suffix=' %')} "
            f"| {_fmt(off, suffix=' %')} | {_fmt(f['abstain_precision'], suffix=' %')} "
            f"| {_fmt(f['abstain_recall'], suffix=' %')} | {_fmt(f['hit@1'], suffix=' %')} "
            f"| {_fmt(f['dense@1'], suffix=' %')} |"
        )
    return "\n".join(lines)


def article_table(results: list[TurnResult]) -> str:
    """One row per article: its split and accuracy."""
    lines = ["| article | split | turns | accuracy | off-topic without a quote | hit@1 |",
             "|---|---|---:|---:|---:|---:|"]
    by_article: dict[str, list[TurnResult]] = defaultdict(list)
    for r in results:
        by_article[r.article].append(r)
    for aid, rs in sorted(by_article.items(), key=lambda kv: (SPLITS.index(kv[1][0].split), kv[0])):
        f = figures(rs)
        off = _pct([not r.quoted for r in rs if r.category == "offtopic"])
        lines.append(f"| {aid} | {rs[0].split} | {f['turns']} | {_fmt(f['accuracy'], suffix=' %')} "
                     f"| {_fmt(off, suffix=' %')} | {_fmt(f['hit@1'], suffix=' %')} |")
    return "\n".join(lines)


def plot_categories(results: list[TurnResult], path: Path) -> None:
    """Accuracy per category, one bar per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = [s for s in SPLITS if any(r.split == s for r in results)]
    categories = sorted({r.category for r in results})
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / max(1, len(splits))
    for k, split in enumerate(splits):
        values = []
        for c in categories:
            rs = [r.correct for r in results if r.split == split and r.category == c]
            values.append(_pct(rs))
        xs = [i + (k - (len(splits) - 1) / 2) * width for i in range(len(categories))]
        bars = ax.bar(xs, [v or 0 for v in values], width, label=split)
        for bar, v in zip(bars, values, strict=True):
            if v is not None:
                ax.annotate(f"{v:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                            va="bottom", fontsize=6)
    ax.axhline(90, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(categories)), categories, rotation=20)
    ax.set_ylim(0, 108)
    ax.set_ylabel("answer accuracy %")
    ax.set_title("Tanya Artikel: accuracy per category and split")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(results: list[TurnResult], path: Path) -> None:
    """The answer score against correctness: where answers are right, wrong, or should have been refused."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in results if r.score is not None and r.category not in ("meta", "chitchat")]
    groups = {
        "answerable, answered right": [r.score for r in scored if not r.should_abstain and r.correct],
        "answerable, wrong or refused": [r.score for r in scored if not r.should_abstain and not r.correct],
        "should refuse, refused": [r.score for r in scored if r.should_abstain and r.correct],
        "should refuse, quoted": [r.score for r in scored if r.should_abstain and not r.correct],
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    values = [s for v in groups.values() for s in v] or [0.0, 1.0]
    lo, hi = min(values), max(values)
    bins = [lo + (hi - lo) * i / 20 for i in range(21)] if hi > lo else 10
    for label, v in groups.items():
        if v:
            left.hist(v, bins=bins, alpha=0.55, label=f"{label} ({len(v)})")
    left.set_xlabel("answer score")
    left.set_ylabel("turns")
    left.set_title("answer score by outcome (all splits)")
    left.legend(fontsize=7)
    for split in SPLITS:
        rs = sorted((r for r in scored if r.split == split and not r.should_abstain), key=lambda r: r.score or 0.0)
        if len(rs) < 5:
            continue
        size = max(5, len(rs) // 8)
        xs, ys = [], []
        for i in range(0, len(rs), size):
            chunk = rs[i:i + size]
            xs.append(statistics.fmean(r.score or 0.0 for r in chunk))
            ys.append(100 * statistics.fmean(r.correct for r in chunk))
        right.plot(xs, ys, marker="o", label=split)
    right.set_xlabel("answer score (bins of answerable turns)")
    right.set_ylabel("correct %")
    right.set_ylim(0, 105)
    right.set_title("answerable turns: correctness by score")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: list[TurnResult], out: Path, mode: str, hidden: tuple[str, ...] = ("test",)) -> Path:
    """reports/eval.md and its plots. Failures are listed for the dev and Kominfo rows only.

    The test split's failures are not printed: once read, an article is no longer unseen.
    """
    out.mkdir(parents=True, exist_ok=True)
    plot_categories(results, out / "eval.png")
    plot_scores(results, out / "eval-scores.png")
    lines = [
        "# Eval report",
        "",
        f"{len(results)} turns over {len({r.article for r in results})} articles ({mode}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}). Accuracy: the reply holds every key fact and is at most {MAX_REPLY} "
        "characters; off-topic and unrelated turns must not quote the article (no run of 8 article words). "
        "Abstention precision: of the replies that quote nothing, the share that should; recall: of the turns "
        "that should quote nothing, the share that did (meta turns excluded). hit@k: rank of the gold paragraph "
        "on first turns, by the bot's ranking and by plain e5 dense retrieval.",
        "",
        split_table(results),
        "",
        "## Per article",
        "",
        article_table(results),
        "",
    ]
    for split in SPLITS:
        rs = [r for r in results if r.split == split]
        if rs:
            lines += [f"## {split}: per category", "", markdown_table(summarize(rs)), ""]
    lines += ["![accuracy per category](eval.png)", "", "![answer score against correctness](eval-scores.png)", ""]
    shown = [r for r in results if not r.correct and r.split not in hidden]
    lines += [f"## Failures ({len(shown)}; the test split's "
              f"{sum(1 for r in results if not r.correct and r.split in hidden)} are not shown)", ""]
    for r in shown:
        reply = r.reply.replace("\n", " ⏎ ")
        lines += [f"- **{r.article} {r.item}** turn {r.turn + 1} ({r.category}): {r.ask}",
                  f"  - why: {'; '.join(r.reasons)}", f"  - reply: {reply}"]
    path = out / "eval.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Every turn with its reply, the test split's too, for analysis: kept out of reports/ so that reading the
    # report never shows the test failures.
    EVAL_VAR.mkdir(parents=True, exist_ok=True)
    (EVAL_VAR / "results.json").write_text(
        json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return path


def main() -> int:
    """Run the benchmark over REST against servers it starts (or in-process), and write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", action="append", choices=SPLITS, help="only these splits (default: all)")
    parser.add_argument("--article", action="append", help="only these articles")
    parser.add_argument("--url", help="base URL of a running Rasa server that serves var/eval/knowledge")
    parser.add_argument("--rasa-port", type=int, default=5305)
    parser.add_argument("--actions-port", type=int, default=5355)
    parser.add_argument("--smoke", action="store_true", help="only the items marked smoke")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--in-process", action="store_true", help="skip Rasa: ask the retriever directly")
    parser.add_argument("--show-test-failures", action="store_true",
                        help="list the test split's failures too (the test articles then become dev: see splits.yml)")
    parser.add_argument("--min-accuracy", type=float, default=0.0, help="exit 1 below this accuracy (%%) on any split")
    args = parser.parse_args()

    sets = load_sets(tuple(args.split or SPLITS))
    if args.article:
        sets = [es for es in sets if es.article_id in args.article]
    if args.smoke:
        sets = [replace(es, items=[i for i in es.items if i.get("smoke")]) for es in sets]
    settings = eval_settings(sets)
    build_eval_index(settings)

    from knowledge.search import Retriever

    retriever = Retriever(settings)
    retriever.warm_up()
    detector = QuoteDetector(p.text for a in retriever.articles.values() for p in a.paragraphs)
    progress = Progress(sum(len(es.items) for es in sets), "eval", "items")
    results: list[TurnResult] = []
    if args.in_process:
        for es in sets:
            results += run_in_process(retriever, es, detector, tick=progress.update)
    else:
        from serve import Servers

        os.environ["KNOWLEDGE_DIR"], os.environ["INDEX_DIR"] = str(settings.articles_dir), str(settings.index_dir)
        with Servers(args.rasa_port, args.actions_port, log_dir=EVAL_VAR / "logs") as servers:
            url = args.url
            if url is None:
                print("starting the action server and the Rasa server ...", file=sys.stderr, flush=True)
                servers.start_actions()
                servers.start_rasa()
                url = servers.rasa_url
            for es in sets:
                results += run(url, es.items, article=es.article_id, split=es.split, scope=True, detector=detector,
                               tick=progress.update)
    progress.close()
    for es in sets:
        annotate(retriever, es, results, rest=not args.in_process)
    hidden = () if args.show_test_failures else ("test",)
    path = write_report(results, args.out, "in-process" if args.in_process else "over REST", hidden)
    print(split_table(results))
    print()
    print(article_table(results))
    print(f"\nreport: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    worst = min((figures([r for r in results if r.split == s])["accuracy"] or 0.0)
                for s in SPLITS if any(r.split == s for r in results))
    return 1 if worst < args.min_accuracy else 0


if __name__ == "__main__":
    sys.exit(main())
