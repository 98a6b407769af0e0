"""`make eval`: ask the running bot every question of tests/eval/questions.yml over REST.

Reports, per category and overall: answer accuracy (the reply holds every key
fact and stays within 800 characters), the no-quote rate on off-topic and
chit-chat turns (no run of 8 article words), retrieval hit@1/hit@3/MRR measured
in-process, and latency. Writes reports/eval.md with a bar chart, and lists
every failure with the reply given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.parse import load_articles  # noqa: E402
from knowledge.search import article_payload  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402
from knowledge.text import normalize  # noqa: E402

QUESTIONS = ROOT / "tests" / "eval" / "questions.yml"
MAX_REPLY = 800
QUOTE_RUN = 8
NO_QUOTE_CATEGORIES = ("offtopic", "chitchat")


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
    rank: int | None = None  # rank of the gold paragraph in-process; 0 = not in the top 10
    picked: bool = False  # the bot asked which article; the reader picked the eval's article


def eval_article(path: Path = QUESTIONS) -> str:
    """The id of the article the questions are about."""
    return str(yaml.safe_load(path.read_text(encoding="utf-8"))["article"])


def load_items(path: Path = QUESTIONS, smoke: bool = False) -> list[dict[str, Any]]:
    """The eval items, or only those marked smoke."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    return [i for i in items if i.get("smoke")] if smoke else items


def _flat(text: str) -> list[str]:
    return normalize(text).split()


class QuoteDetector:
    """Finds runs of QUOTE_RUN consecutive article words inside a reply."""

    def __init__(self, texts: list[str]) -> None:
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


def retrieval_ranks(results: list[TurnResult], items: list[dict[str, Any]]) -> None:
    """Rank of the gold paragraph for single questions, from the retriever in this process."""
    from knowledge.search import Retriever

    retriever = Retriever(get_settings())
    retriever.warm_up()
    gold = {(i["id"], n): t.get("paragraph") for i in items for n, t in enumerate(i["turns"])}
    for r in results:
        paragraphs = gold.get((r.item, r.turn))
        if paragraphs is None or r.turn > 0:
            continue
        wanted = {paragraphs} if isinstance(paragraphs, int) else set(paragraphs)
        hits = [h.paragraph for h in retriever.search(r.ask, k=10)]
        r.rank = next((i + 1 for i, p in enumerate(hits) if p in wanted), 0)


def run(base_url: str, items: list[dict[str, Any]], progress: bool = True) -> list[TurnResult]:
    """Ask every turn of every item; each item is its own conversation."""
    articles = load_articles(get_settings().articles_dir)
    detector = QuoteDetector([p.text for a in articles for p in a.paragraphs])
    results: list[TurnResult] = []
    pick = article_payload(eval_article())
    for n, item in enumerate(items, 1):
        sender = f"eval-{item['id']}-{uuid.uuid4().hex[:6]}"
        for t, turn in enumerate(item["turns"]):
            messages, ms = ask(base_url, sender, turn["ask"])
            picked = pick in [b.get("payload") for m in messages for b in m.get("buttons") or []]
            if picked:  # "which article?": a reader of this article presses its button
                messages, more = ask(base_url, sender, pick)
                ms += more
            reply = reply_text(messages)
            correct, quoted, reasons = score_turn(turn, item["category"], reply, detector)
            results.append(
                TurnResult(item["id"], item["category"], t, turn["ask"], reply, ms, correct, quoted,
                           lead_ok(turn, reply), reasons, picked=picked)
            )
        if progress:
            print(f"\r{n}/{len(items)} items", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return results


def run_in_process(items: list[dict[str, Any]]) -> list[TurnResult]:
    """The same turns answered by the retriever directly, threading context like the action does.

    For fast iteration on retrieval; chit-chat needs Rasa and is skipped.
    """
    from knowledge.search import Retriever

    retriever = Retriever(get_settings())
    retriever.warm_up()
    article = eval_article()
    articles = load_articles(get_settings().articles_dir)
    detector = QuoteDetector([p.text for a in articles for p in a.paragraphs])
    results: list[TurnResult] = []
    for item in items:
        if item["category"] == "chitchat":
            continue
        context = None
        for t, turn in enumerate(item["turns"]):
            started = time.perf_counter()
            answer = retriever.answer(turn["ask"], context)
            picked = any(p == article_payload(article) for _, p in answer.choices)
            if picked:  # "which article?": a reader of this article presses its button
                answer = retriever.answer("", answer.context, chosen_article=article)
            ms = (time.perf_counter() - started) * 1000
            context = answer.context
            correct, quoted, reasons = score_turn(turn, item["category"], answer.text, detector)
            results.append(
                TurnResult(item["id"], item["category"], t, turn["ask"], answer.text, ms, correct, quoted,
                           lead_ok(turn, answer.text), reasons, picked=picked)
            )
    return results


def _pct(values: list[bool]) -> float | None:
    return 100.0 * sum(values) / len(values) if values else None


def summarize(results: list[TurnResult]) -> dict[str, dict[str, Any]]:
    """Per-category and overall figures."""
    groups: dict[str, list[TurnResult]] = defaultdict(list)
    for r in results:
        groups[r.category].append(r)
    groups["overall"] = list(results)
    table: dict[str, dict[str, Any]] = {}
    for name, rs in groups.items():
        ranked = [r.rank for r in rs if r.rank is not None]
        no_quote = [not r.quoted for r in rs if r.category in NO_QUOTE_CATEGORIES]
        leads = [r.lead_ok for r in rs if r.lead_ok is not None]
        latencies = sorted(r.latency_ms for r in rs)
        table[name] = {
            "turns": len(rs),
            "accuracy": _pct([r.correct for r in rs]),
            "no_quote": _pct(no_quote),
            "lead": _pct(leads),
            "hit@1": _pct([k == 1 for k in ranked]),
            "hit@3": _pct([0 < k <= 3 for k in ranked]),
            "mrr": statistics.fmean([1 / k if k else 0.0 for k in ranked]) if ranked else None,
            "p50_ms": statistics.median(latencies),
            "p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        }
    return table


def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def markdown_table(table: dict[str, dict[str, Any]]) -> str:
    """The summary as a Markdown table, overall last."""
    lines = [
        "| category | turns | accuracy | no-quote | precise lead | hit@1 | hit@3 | MRR | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(table, key=lambda n: (n == "overall", n)):
        row = table[name]
        label = f"**{name}**" if name == "overall" else name
        cells = [_fmt(row[k], suffix=" %") for k in ("accuracy", "no_quote", "lead", "hit@1", "hit@3")]
        lines.append(
            f"| {label} | {row['turns']} | {' | '.join(cells)} "
            f"| {_fmt(row['mrr'], '.2f')} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} |"
        )
    return "\n".join(lines)


def plot(table: dict[str, dict[str, Any]], path: Path) -> None:
    """One bar group per category: accuracy, hit@1 and no-quote."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(table, key=lambda n: (n == "overall", n))
    metrics = [("accuracy", "answer accuracy"), ("hit@1", "retrieval hit@1"), ("no_quote", "no-quote")]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.27
    for k, (key, label) in enumerate(metrics):
        values = [table[n][key] if table[n][key] is not None else 0 for n in names]
        bars = ax.bar([i + (k - 1) * width for i in range(len(names))], values, width, label=label)
        for bar, n in zip(bars, names, strict=True):
            if table[n][key] is not None:
                ax.annotate(f"{table[n][key]:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
    ax.axhline(95, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylim(0, 108)
    ax.set_ylabel("%")
    ax.set_title("Tanya Artikel: eval per category")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: list[TurnResult], table: dict[str, dict[str, Any]], out: Path) -> Path:
    """reports/eval.md, the chart, and every failure with the reply the bot gave."""
    out.mkdir(parents=True, exist_ok=True)
    plot(table, out / "eval.png")
    failures = [r for r in results if not r.correct]
    lines = [
        "# Eval report",
        "",
        f"{len(results)} turns from `tests/eval/questions.yml`, asked over REST to the running bot "
        f"({time.strftime('%Y-%m-%d %H:%M')}). Accuracy: the reply holds every key fact and is at most "
        f"{MAX_REPLY} characters; off-topic turns must not quote the article. *Precise lead*: the first line alone "
        "holds the key fact. Retrieval ranks are measured in-process on first turns with a gold paragraph.",
        "",
        markdown_table(table),
        "",
        f"Articles loaded: {len(load_articles(get_settings().articles_dir))}. Turns where the bot first asked "
        f"which article was meant, and the reader picked this one: {sum(r.picked for r in results)} "
        "(scored on the answer after the pick).",
        "",
        "![eval per category](eval.png)",
        "",
        f"## Failures ({len(failures)})",
        "",
    ]
    for r in failures:
        reply = r.reply.replace("\n", " ⏎ ")
        lines += [f"- **{r.item}** turn {r.turn + 1} ({r.category}): {r.ask}",
                  f"  - why: {'; '.join(r.reasons)}", f"  - reply: {reply}"]
    path = out / "eval.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> int:
    """Run the eval against a running bot, or start one."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="base URL of a running Rasa server; default: start one on --rasa-port")
    parser.add_argument("--rasa-port", type=int, default=5305)
    parser.add_argument("--actions-port", type=int, default=5355)
    parser.add_argument("--smoke", action="store_true", help="only the items marked smoke")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--in-process", action="store_true", help="skip Rasa: ask the retriever directly")
    parser.add_argument("--min-accuracy", type=float, default=0.0, help="exit 1 below this overall accuracy (%%)")
    args = parser.parse_args()
    items = load_items(smoke=args.smoke)

    from serve import Servers

    if args.in_process:
        results = run_in_process(items)
    else:
        with Servers(args.rasa_port, args.actions_port, log_dir=ROOT / "var" / "logs") as servers:
            url = args.url
            if url is None:
                print("starting the action server and the Rasa server ...", file=sys.stderr, flush=True)
                servers.start_actions()
                servers.start_rasa()
                url = servers.rasa_url
            results = run(url, items)
    retrieval_ranks(results, items)
    table = summarize(results)
    path = write_report(results, table, args.out)
    print(markdown_table(table))
    print(f"\nreport: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 1 if (table["overall"]["accuracy"] or 0) < args.min_accuracy else 0


if __name__ == "__main__":
    sys.exit(main())
