"""`make report`: what readers asked, how often the bot answered, what they rated; reports/usage.md + a plot.

Figures are computed once (`analyse`) and then rendered twice: as Markdown with a PNG
(`write_report`) and as the short summary printed on the terminal (`summary_lines`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from usage.cluster import Cluster, QueryEmbedder, cluster_questions
from usage.events import Conversation, Feedback, pseudonym
from usage.settings import UsageSettings

OUTCOMES = ("answered", "clarified", "abstained")
OUTCOME_LABELS = {
    "answered": "answered", "clarified": 'asked "which one?"', "abstained": 'abstained ("not in the article")',
}
NO_PASSAGE = "(no passage)"


@dataclass
class Usage:
    """Every figure of the report, before rendering."""

    source: str
    first: float | None = None
    last: float | None = None
    conversations: int = 0
    opened_only: int = 0
    turns: int = 0
    payload_turns: int = 0
    questions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    # Answers to clicks and ratings: a passage or an article picked after "which one?", the next best
    # after a 👎 (clicked or typed).
    answers_to_buttons: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    ratings: Counter[str] = field(default_factory=Counter)
    per_passage: dict[str, Counter[str]] = field(default_factory=dict)
    downvoted: list[tuple[str, Feedback]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    asked: list[Cluster] = field(default_factory=list)
    unanswered: list[Cluster] = field(default_factory=list)
    per_day: dict[str, Counter[str]] = field(default_factory=dict)
    longest: list[tuple[str, int, int, float]] = field(default_factory=list)

    def rate(self, outcome: str) -> float:
        """Share of the questions with this outcome (0 when there were none)."""
        return self.outcomes[outcome] / self.questions if self.questions else 0.0

    def latency(self, p: float) -> float | None:
        """Answer-action latency percentile in milliseconds (nearest rank, like scripts/load.py)."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def day(timestamp: float) -> str:
    """UTC date of an epoch timestamp."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def analyse(
    convs: Iterable[Conversation], embedder: QueryEmbedder, settings: UsageSettings, source: str = "",
) -> Usage:
    """Count everything in one pass over the conversations, then cluster the questions."""
    usage = Usage(source)
    asked: list[str] = []
    unanswered: list[str] = []
    sizes: list[tuple[str, int, int, float]] = []
    for conv in convs:
        usage.first = conv.first if usage.first is None else min(usage.first, conv.first)
        usage.last = conv.last if usage.last is None else max(usage.last, conv.last)
        if not conv.turns:
            usage.opened_only += 1
            continue
        who = pseudonym(conv.sender_id, settings.salt)
        usage.conversations += 1
        usage.turns += len(conv.turns)
        usage.per_day.setdefault(day(conv.turns[0].timestamp), Counter())["conversations"] += 1
        questions = 0
        for turn in conv.turns:
            usage.intents[turn.intent or "(none)"] += 1
            usage.payload_turns += turn.is_payload
            if turn.answer_latency is not None:
                usage.latencies.append(turn.answer_latency)
            if turn.answer is None:
                continue
            if not turn.is_question:
                usage.answers_to_buttons += 1
                continue
            questions += 1
            usage.outcomes[turn.outcome] += 1
            usage.per_day.setdefault(day(turn.timestamp), Counter())["questions"] += 1
            text = turn.answer.resolved or turn.answer.question or turn.text
            asked.append(text)
            if turn.outcome == "abstained":
                unanswered.append(text)
        usage.questions += questions
        sizes.append((who, len(conv.turns), questions, conv.first))
        for item in conv.ratings():
            usage.ratings[item.rating] += 1
            for passage in item.passages or (NO_PASSAGE,):
                usage.per_passage.setdefault(passage, Counter())[item.rating] += 1
            if item.rating == "down":
                usage.downvoted.append((who, item))
    usage.downvoted.sort(key=lambda pair: -pair[1].timestamp)
    usage.longest = sorted(sizes, key=lambda s: (-s[1], -s[2], s[0]))[: settings.top]
    usage.asked = cluster_questions(asked, embedder, settings.cluster_threshold)
    usage.unanswered = cluster_questions(unanswered, embedder, settings.cluster_threshold)
    return usage


# --- rendering ----------------------------------------------------------------------------------


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def _cell(text: str, limit: int = 0) -> str:
    """Text safe inside a Markdown table cell, optionally shortened."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if not limit or len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def summary_rows(usage: Usage) -> list[tuple[str, str]]:
    """The headline figures, shared by the Markdown table and the terminal summary."""
    rows = [
        ("conversations", f"{usage.conversations}" + (f" (and {usage.opened_only} opened without a message)"
                                                       if usage.opened_only else "")),
        ("turns (reader messages)", f"{usage.turns} ({usage.payload_turns} of them button payloads)"),
        ("questions about the articles", str(usage.questions)),
    ]
    rows += [(OUTCOME_LABELS[o], f"{usage.outcomes[o]} ({_pct(usage.rate(o))})") for o in OUTCOMES]
    rows += [
        ("answers to clicks (a pick after \"which one?\", the next best after 👎)", str(usage.answers_to_buttons)),
        ("👍 / 👎", f"{usage.ratings['up']} / {usage.ratings['down']}"),
        ("answer action latency p50 / p95", f"{_ms(usage.latency(50))} / {_ms(usage.latency(95))} ms "
                                            f"(n = {len(usage.latencies)})"),
    ]
    return rows


def _cluster_table(clusters: list[Cluster], top: int, empty: str) -> list[str]:
    if not clusters:
        return [empty, ""]
    lines = ["| # | times asked | question (its most-asked phrasing) | also asked as |", "|---:|---:|---|---|"]
    for i, c in enumerate(clusters[:top], 1):
        others = "; ".join(f"{_cell(v, 60)} ({n})" for v, n in c.variants[1:4])
        more = f"; … {len(c.variants) - 4} more" if len(c.variants) > 4 else ""
        lines.append(f"| {i} | {c.count} | {_cell(c.representative, 100)} | {others}{more} |")
    if len(clusters) > top:
        rest = clusters[top:]
        lines.append(f"| | {sum(c.count for c in rest)} | *{len(rest)} more groups* | |")
    return [*lines, ""]


def render_markdown(usage: Usage, settings: UsageSettings, plot_name: str | None, now: float | None = None) -> str:
    """The report, in Markdown; `plot_name` is the PNG next to it, if one was drawn."""
    generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now or time.time()))
    span = f"{day(usage.first)} to {day(usage.last)}" if usage.first is not None and usage.last is not None else "none"
    out = [
        "# Usage report",
        "",
        f"Generated {generated} by `make report` from `{usage.source}`. Events from {span} (UTC).",
        "Conversations are shown by pseudonym (a keyed hash of the sender id), never by their id.",
        "",
    ]
    if plot_name:
        out += [f"![Usage]({plot_name})", ""]
    out += ["## Summary", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in summary_rows(usage)]
    out += [
        "",
        "A question is a message answered from the articles (typed, or a suggested question clicked).",
        "Clicks such as 👍/👎 or a passage picked after \"which one?\" are turns, not questions.",
        "\"Answered\" includes answers from the byline (who wrote it, when), which quote no paragraph.",
        "",
        "## Most-asked questions",
        "",
        f"Grouped by meaning: e5 embeddings, greedy clustering at cosine ≥ {settings.cluster_threshold:.2f} "
        "(`REPORT_CLUSTER_THRESHOLD`). Follow-ups are counted as the standalone question they were read as.",
        "",
        *_cluster_table(usage.asked, settings.top, "No questions yet."),
        "## Unanswered questions: what readers want that the articles lack",
        "",
        "Questions the bot answered with \"not in the article\", grouped the same way.",
        "",
        *_cluster_table(usage.unanswered, settings.top, "None: every question was answered or clarified."),
        "## 👍/👎 per passage",
        "",
    ]
    if usage.per_passage:
        out += ["| passage (article#paragraph) | 👍 | 👎 |", "|---|---:|---:|"]
        ranked = sorted(usage.per_passage.items(), key=lambda kv: (-kv[1]["down"], -kv[1]["up"], kv[0]))
        out += [f"| {p} | {c['up']} | {c['down']} |" for p, c in ranked]
        out += ["", "A reader who rated one answer twice counts once, with the last rating.", ""]
    else:
        out += ["No ratings yet.", ""]
    out += ["## Answers with 👎", ""]
    if usage.downvoted:
        out += ["| date | conversation | question | answer | passage |", "|---|---|---|---|---|"]
        for who, f in usage.downvoted:
            passages = ", ".join(f.passages) or NO_PASSAGE
            out.append(f"| {day(f.timestamp)} | {who} | {_cell(f.question, 120)} | {_cell(f.answer, 240)} "
                       f"| {passages} |")
        out.append("")
    else:
        out += ["None.", ""]
    out += [
        "## Answer latency",
        "",
        "Measured from event timestamps: from the reader's message (Rasa stores the user event once NLU has",
        "parsed it) to `action_answer_question` (stored when the action has returned). It covers the dialogue",
        "policy, the call to the action server, retrieval and the reply; not NLU, and not the channel.",
        "",
        f"p50 {_ms(usage.latency(50))} ms, p95 {_ms(usage.latency(95))} ms, "
        f"max {_ms(usage.latency(100))} ms over {len(usage.latencies)} runs of the answer action (clicks included).",
        "",
        "## Intents",
        "",
        "| intent | turns |",
        "|---|---:|",
        *[f"| {name} | {n} |" for name, n in sorted(usage.intents.items(), key=lambda kv: (-kv[1], kv[0]))],
        "",
        "## Longest conversations",
        "",
        "| conversation | turns | questions | started |",
        "|---|---:|---:|---|",
        *[f"| {who} | {turns} | {questions} | {day(first)} |" for who, turns, questions, first in usage.longest],
        "",
    ]
    return "\n".join(out)


def plot(usage: Usage, path: Path, top: int) -> None:
    """Six panels: activity per day, outcomes, latency, ratings per passage, most-asked and unanswered."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    # The question groups get whole rows in their own sub-figure, so their long labels
    # do not squeeze the small panels above.
    fig = plt.figure(figsize=(12, 15), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[1, 1.3])
    (ax_day, ax_out), (ax_lat, ax_fb) = upper.subplots(2, 2)
    ax_ask, ax_gap = lower.subplots(2, 1)

    days = sorted(usage.per_day)
    xs = range(len(days))
    ax_day.bar([x - 0.2 for x in xs], [usage.per_day[d]["conversations"] for d in days], 0.4, label="conversations")
    ax_day.bar([x + 0.2 for x in xs], [usage.per_day[d]["questions"] for d in days], 0.4, label="questions")
    ax_day.set_xticks(list(xs), days, rotation=45 if len(days) > 5 else 0, ha="right" if len(days) > 5 else "center",
                      fontsize=8)
    ax_day.set_xlim(-1, max(len(days), 2))
    ax_day.set_title("Activity per day (UTC)")
    ax_day.legend()

    counts = [usage.outcomes[o] for o in OUTCOMES]
    bars = ax_out.bar(["answered", "which one?", "not in article"], counts, color=["#4c9f70", "#e0b040", "#c8553d"])
    ax_out.bar_label(bars, [f"{n} ({_pct(usage.rate(o))})" for n, o in zip(counts, OUTCOMES, strict=True)])
    ax_out.margins(y=0.15)
    ax_out.set_title(f"Outcome of {usage.questions} questions")

    if usage.latencies:
        ms = [1000 * s for s in usage.latencies]
        ax_lat.hist(ms, bins=30, color="#5b7db1")
        for p, style in ((50, "-"), (95, "--")):
            value = usage.latency(p) or 0.0
            ax_lat.axvline(value, color="black", linestyle=style, label=f"p{p} {value:.0f} ms")
        ax_lat.legend()
    ax_lat.set_title("Answer action latency (user event to action event)")
    ax_lat.set_xlabel("ms")

    ranked = sorted(usage.per_passage.items(), key=lambda kv: -(kv[1]["up"] + kv[1]["down"]))[:top][::-1]
    names = [p for p, _ in ranked]
    ax_fb.barh(names, [c["up"] for _, c in ranked], color="#4c9f70", label="up")
    ax_fb.barh(names, [c["down"] for _, c in ranked], left=[c["up"] for _, c in ranked], color="#c8553d",
               label="down")
    ax_fb.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_fb.set_title("Ratings per passage")
    ax_fb.tick_params(axis="y", labelsize=8)
    if ranked:
        ax_fb.legend()
    else:
        ax_fb.text(0.5, 0.5, "no ratings yet", ha="center", va="center", transform=ax_fb.transAxes)
        ax_fb.set_axis_off()

    for ax, clusters, title, colour in (
        (ax_ask, usage.asked, "Most-asked questions (groups)", "#5b7db1"),
        (ax_gap, usage.unanswered, "Unanswered questions (groups)", "#c8553d"),
    ):
        shown = clusters[:top][::-1]
        ax.barh([_cell(c.representative, 90) for c in shown], [c.count for c in shown], color=colour)
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=8)

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(usage: Usage, settings: UsageSettings, out: Path, draw: bool = True) -> Path | None:
    """reports/usage.md, and the plot beside it (usage.png); returns the plot's path."""
    plot_path = out.with_suffix(".png") if draw else None
    if plot_path is not None:
        plot(usage, plot_path, settings.top)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(usage, settings, plot_path.name if plot_path else None), encoding="utf-8")
    return plot_path


def summary_lines(usage: Usage, top: int = 3) -> list[str]:
    """What `make report` prints: the headline figures and the top groups."""
    width = max(len(k) for k, _ in summary_rows(usage))
    lines = [f"{k:<{width}}  {v}" for k, v in summary_rows(usage)]
    for title, clusters in (("most asked", usage.asked), ("not in the articles", usage.unanswered)):
        for c in clusters[:top]:
            lines.append(f"{title:<{width}}  {c.count:>4} x {_cell(c.representative, 80)}")
    return lines
