"""`make load`: many readers at once over REST, then a check that the tracker store kept every turn.

Each simulated reader is one sender that sends its messages one after the
other (a reader waits for the answer before asking again), and all readers run
at the same time. Their scripts are whole conversations of the Kominfo article's eval set (tests/eval/sets/)
strung together: article questions, follow-ups that need the previous turn, and
chit-chat, shuffled with a fixed seed.

Reported: errors (non-200, an empty reply, or the "cannot look up the article"
reply, which means the action server failed), latency p50/p95/p99, throughput,
and the share of replies that hold the eval's expected answer. Then the tracker
store is read directly (SQLite or PostgreSQL, any SQLAlchemy URL): for every
sender, the stored user messages must be exactly the sent ones, in order, each
followed by a bot reply. Anything else counts as lost.

Without `--url` the script starts its own action and Rasa servers (through the
Makefile targets, default endpoints: SQLite in var/) on ports 5405/5455 and
stops them afterwards. It prints figures and exits 1 on any error or loss; it
is not a timed test. Bounded: loopback only, and `--max-seconds` stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from serve import Servers  # noqa: E402

from knowledge.progress import Progress  # noqa: E402
from usage.store import tracker_url_from  # noqa: E402 - one reading of the endpoints file, shared with make report

QUESTIONS = ROOT / "tests" / "eval" / "sets" / "antara-kominfo-wbk-2020.yml"  # the bot's own article
# The reply Rasa gives when the action server failed (channels/resilience.py): an error, not an answer.
DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
CANNOT_LOOK_UP = DOMAIN["responses"]["utter_cannot_lookup"][0]["text"]


@dataclass(frozen=True)
class Turn:
    text: str
    expect: tuple[str, ...] = ()


@dataclass
class Result:
    """Everything measured in one run."""

    senders: int
    messages: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    expected: int = 0
    matched: int = 0
    elapsed: float = 0.0
    lost: int = 0
    rated: int = 0
    loss_examples: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.senders * self.messages + self.rated

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict[str, Any]:
        """The figures, as printed and as `--json` writes them."""
        return {
            "senders": self.senders, "messages_per_sender": self.messages, "sent": self.sent,
            "answered": len(self.latencies), "ratings": self.rated, "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "lost": self.lost, "p50_ms": round(self.percentile(50), 1), "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "mean_ms": round(1000 * statistics.fmean(self.latencies), 1) if self.latencies else None,
            "throughput_msg_s": round(len(self.latencies) / self.elapsed, 2) if self.elapsed else 0.0,
            "elapsed_s": round(self.elapsed, 1),
            "expected_answer_share": round(self.matched / self.expected, 3) if self.expected else None,
        }


def conversations(path: Path = QUESTIONS) -> list[list[Turn]]:
    """The eval's conversations as lists of turns; the expected answer only where one is given."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    out = []
    for item in items:
        turns = [Turn(t["ask"], tuple(t.get("expect") or ())) for t in item["turns"]]
        out.append(turns)
    return out


def scripts_for(senders: int, messages: int, seed: int) -> list[list[Turn]]:
    """Per sender, whole conversations strung together up to `messages` turns (a follow-up keeps its lead)."""
    rng = random.Random(seed)
    pool = conversations()
    scripts = []
    for _ in range(senders):
        script: list[Turn] = []
        while len(script) < messages:
            script.extend(rng.choice(pool))
        scripts.append(script[:messages])
    return scripts


def matches(reply: str, expect: tuple[str, ...]) -> bool:
    """The eval's rule: each element present, "|" separating alternatives, case-insensitive."""
    low = reply.lower()
    return all(any(alt.strip().lower() in low for alt in element.split("|")) for element in expect)


UP, DOWN = '/feedback{"rating": "up"}', '/feedback{"rating": "down"}'


async def run_sender(
    session: aiohttp.ClientSession, url: str, sender: str, script: list[Turn], result: Result,
    sent: list[Turn], rate: float = 0.0, rng: random.Random | None = None, tick: Callable[[], None] | None = None,
) -> None:
    """Send the script in order; with `rate`, press 👍 or 👎 under that share of the rateable answers.

    The reader is honest: 👍 when the reply holds the eval's expected answer (or none is
    expected), 👎 when it does not. `sent` receives every message sent, ratings included.
    `tick` is called once per scripted message, answered or not (ratings are extra).
    """
    rng = rng or random.Random(0)
    pending = list(script)
    while pending:
        turn = pending.pop(0)
        sent.append(turn)
        try:
            await _send_one(session, url, sender, turn, result, pending, rate, rng)
        finally:
            if tick is not None and turn.text not in (UP, DOWN):
                tick()


async def _send_one(
    session: aiohttp.ClientSession, url: str, sender: str, turn: Turn, result: Result, pending: list[Turn],
    rate: float, rng: random.Random,
) -> None:
    """One message and its reply, counted into `result`; a rating to send next goes to the front of `pending`."""
    started = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": turn.text}) as resp:
            status = resp.status
            body = await resp.text()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        result.errors[f"connection: {type(exc).__name__}"] += 1
        return
    took = time.perf_counter() - started
    if status != 200:
        result.errors[f"HTTP {status}"] += 1
        return
    try:
        messages = json.loads(body)
        reply = "\n".join(str(m.get("text") or "") for m in messages)
        payloads = {b.get("payload") for m in messages for b in m.get("buttons") or []}
    except (ValueError, AttributeError):
        result.errors["reply is not a JSON list"] += 1
        return
    if not reply.strip():
        result.errors["empty reply"] += 1
        return
    if CANNOT_LOOK_UP in reply:
        result.errors["action server failed"] += 1
        return
    result.latencies.append(took)
    good = matches(reply, turn.expect) if turn.expect else True
    if turn.expect:
        result.expected += 1
        result.matched += good
    if rate and UP in payloads and rng.random() < rate:
        pending.insert(0, Turn(UP if good else DOWN))
        result.rated += 1


async def run_load(
    urls: list[str], senders: int, messages: int, seed: int = 7, max_seconds: float = 900, prefix: str | None = None,
    rate: float = 0.0, concurrency: int = 0, progress: Progress | None = None,
) -> tuple[Result, dict[str, list[Turn]]]:
    """All senders at once (or `concurrency` at a time); sender i talks to urls[i % len(urls)].

    Returns the result and what each sender sent. `progress` counts the scripted messages as their replies
    (or errors) arrive.
    """
    prefix = prefix or f"load-{uuid.uuid4().hex[:8]}"
    scripts = {f"{prefix}-{i:03d}": s for i, s in enumerate(scripts_for(senders, messages, seed))}
    sent: dict[str, list[Turn]] = {sender: [] for sender in scripts}
    result = Result(senders, messages)
    timeout = aiohttp.ClientTimeout(total=max_seconds)
    connector = aiohttp.TCPConnector(limit=senders)
    gate = asyncio.Semaphore(concurrency or senders)

    async def one(i: int, sender: str, script: list[Turn]) -> None:
        async with gate:
            await run_sender(session, urls[i % len(urls)].rstrip("/") + "/webhooks/rest/webhook", sender, script,
                             result, sent[sender], rate, random.Random(seed * 100_003 + i),
                             progress.update if progress is not None else None)

    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = [one(i, sender, script) for i, (sender, script) in enumerate(scripts.items())]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=max_seconds)
        except asyncio.TimeoutError:
            result.errors["run stopped at --max-seconds"] += 1
    result.elapsed = time.perf_counter() - started
    return result, sent


def check_tracker(tracker_url: str, scripts: dict[str, list[Turn]], result: Result) -> None:
    """Every sent message stored, in order, each followed by at least one bot event; counts the rest as lost."""
    engine = sa.create_engine(tracker_url)
    prefix = next(iter(scripts)).rsplit("-", 1)[0]
    query = sa.text(
        "SELECT sender_id, type_name, data FROM events WHERE sender_id LIKE :prefix "
        "AND type_name IN ('user', 'bot') ORDER BY id"
    )
    stored: dict[str, list[tuple[str, str]]] = {sender: [] for sender in scripts}
    with engine.connect() as conn:
        for sender, kind, data in conn.execute(query, {"prefix": f"{prefix}-%"}):
            if sender in stored:
                stored[sender].append((kind, json.loads(data).get("text") or ""))
    engine.dispose()
    for sender, script in scripts.items():
        events = stored[sender]
        users = [i for i, (kind, _) in enumerate(events) if kind == "user"]
        texts = [events[i][1] for i in users]
        sent = [t.text for t in script]
        unanswered = sum(1 for i in users if i + 1 >= len(events) or events[i + 1][0] != "bot")
        in_order = 0
        while in_order < min(len(texts), len(sent)) and texts[in_order] == sent[in_order]:
            in_order += 1
        # Missing, reordered or duplicated messages all count, and so does a message stored without its reply.
        lost = (len(sent) - in_order) + max(0, len(texts) - len(sent)) + unanswered
        if lost:
            result.lost += lost
            if len(result.loss_examples) < 5:
                result.loss_examples.append(f"{sender}: sent {len(sent)}, stored {len(texts)}, unanswered {unanswered}")


def print_summary(summary: dict[str, Any], examples: list[str]) -> None:
    rows = [
        ("senders x messages", f"{summary['senders']} x {summary['messages_per_sender']}"
                               f" + {summary['ratings']} ratings = {summary['sent']}"),
        ("answered", summary["answered"]),
        ("errors", f"{summary['errors']} {summary['error_kinds'] or ''}".strip()),
        ("lost in the tracker store", summary["lost"]),
        ("latency p50 / p95 / p99", f"{summary['p50_ms']} / {summary['p95_ms']} / {summary['p99_ms']} ms"),
        ("throughput", f"{summary['throughput_msg_s']} msg/s over {summary['elapsed_s']} s"),
        ("replies with the eval's expected answer", summary["expected_answer_share"]),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for example in examples:
        print(f"  lost: {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per sender")
    parser.add_argument("--url", action="append", help="Rasa server base URL (repeat for several); default: start one")
    parser.add_argument("--tracker", help="SQLAlchemy URL of the tracker store; default: from --endpoints")
    parser.add_argument("--endpoints", default="bot/endpoints.yml")
    parser.add_argument("--rasa-port", type=int, default=5405)
    parser.add_argument("--actions-port", type=int, default=5455)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--concurrency", type=int, default=0, help="readers at a time; default: all at once")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="share of answers a reader rates 👍 (expected answer given) or 👎 (not); default 0")
    args = parser.parse_args()
    for url in args.url or []:
        if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            parser.error("load tests target loopback only")
    tracker = args.tracker or tracker_url_from(ROOT / args.endpoints)

    servers = None
    rasa_log = ROOT / "var" / "load-logs" / "rasa-server.log"
    log_start = rasa_log.stat().st_size if rasa_log.exists() else 0
    if not args.url:
        servers = Servers(args.rasa_port, args.actions_port, log_dir=ROOT / "var" / "load-logs",
                          endpoints=args.endpoints)
        print("Starting the action server and the Rasa server ...", flush=True)
        servers.start_actions()
        servers.start_rasa()
    try:
        urls = args.url or [servers.rasa_url]  # type: ignore[union-attr]
        print(f"{args.senders} senders x {args.messages} messages against {', '.join(urls)} ...", flush=True)
        with Progress(args.senders * args.messages, "load", "replies") as progress:
            result, scripts = asyncio.run(
                run_load(urls, args.senders, args.messages, args.seed, args.max_seconds, rate=args.rate,
                         concurrency=args.concurrency, progress=progress)
            )
    finally:
        if servers is not None:
            servers.stop()
    check_tracker(tracker, scripts, result)
    summary = result.summary()
    print_summary(summary, result.loss_examples)
    if servers is not None:
        # Answers the reader got only because channels/resilience.py called a read-only action a second time.
        with rasa_log.open(errors="replace") as f:
            f.seek(log_start)
            retried = sum("calling it again, it is read-only" in line for line in f)
        print(f"action calls repeated after a connection failure (Rasa server's log)  {retried}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if summary["errors"] == 0 and summary["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
