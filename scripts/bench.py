"""`make bench`: how fast the bot answers, against a floor measured in the same run.

The machine is shared and noisy, so every figure is a median or a percentile,
and each cost is shown next to the floors it is compared with, measured in the
same run: the stock `rasa init` bot answering "hello" (what a user would pick
instead; `make stock-bot` trains it once into var/stock-bot/), and this bot's
own Rasa server answering "terima kasih" with a static response, no custom
action. It is a script that prints figures, not a test: it never fails on
timing.

Phases, in this order (the servers are stopped before the knowledge-base
scale phase builds its indexes on both cores):

1. build: `make index` for the article (into var/bench/) and `make train`
   (into var/bench/, Rasa's cache off);
2. stages: the action in-process, stage by stage, with Sastrawi's stock
   stemmer (before) and ours (after);
3. servers: cold starts, the stock bot, the floor and the article path over
   REST at 1, 8 and 32 senders, the action server alone, peak memory;
4. scale: synthetic passages at 1k, 10k and 100k, flat against HNSW and IVF.

Writes bench/results.md, bench/bench.png and var/bench/results.json, and
prints the summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_http  # noqa: E402
import bench_report  # noqa: E402
import bench_scale  # noqa: E402
import bench_stages  # noqa: E402
from serve import Servers, stop  # noqa: E402

from knowledge.progress import Progress, duration  # noqa: E402
from knowledge.search import Retriever  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402

WORK = ROOT / "var" / "bench"
OUT = ROOT / "bench"
# Static responses (bot/data/rules/chitchat.yml): thanks -> utter_thanks, bot_challenge -> utter_iamabot.
FLOOR_MESSAGES = {"terima kasih": "utter_thanks", "makasih ya": "utter_thanks", "terima kasih banyak": "utter_thanks",
                  "kamu bot?": "utter_iamabot", "ini bot ya?": "utter_iamabot"}
# The stock `rasa init` bot's rule and story replies (var/stock-bot/data): greet, goodbye, bot_challenge.
STOCK_MESSAGES = {"hello": "utter_greet", "hi": "utter_greet", "hey there": "utter_greet",
                  "are you a bot?": "utter_iamabot", "bye": "utter_goodbye"}
STOCK_DIR = ROOT / "var" / "stock-bot"
LEVELS = (1, 8, 32)


_bar: Progress | None = None  # the running phase's bar: log lines go above it


def log(message: str) -> None:
    """Progress on stderr; the summary goes to stdout."""
    if _bar is not None:
        _bar.write(message)
    else:
        print(message, file=sys.stderr, flush=True)


@contextmanager
def bar(total: int, desc: str, unit: str) -> Iterator[Progress]:
    """A phase's bar with an ETA (plain lines in a log); `log` writes above it meanwhile."""
    global _bar
    with Progress(total, desc, unit) as progress:
        _bar = progress
        try:
            yield progress
        finally:
            _bar = None


def _make(args: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run a Makefile target; seconds taken and its output. Every `rasa` command stays in the Makefile."""
    started = time.perf_counter()
    proc = subprocess.run(["make", "--no-print-directory", "-s", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"make {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return took, proc.stdout + proc.stderr


# --- 1. build ------------------------------------------------------------------------------------


def phase_build(res: dict[str, Any], train: bool) -> None:
    """The article's index build and `rasa train`, each from a fresh process through make."""
    index_dir = WORK / "article-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    took, out = _make(["index"], {"INDEX_DIR": str(index_dir)})
    inner = re.search(r"index built in ([\d.]+)s", out)
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
    res["build"] = {"index_make_s": took, "index_inner_s": float(inner.group(1)) if inner else None,
                    "index_passages": len(manifest["passages"]), "index_type": manifest["index_type"]}
    log(f"make index: {took:.1f}s ({len(manifest['passages'])} passages, {manifest['index_type']})")
    if train:
        model = WORK / "model.tar.gz"
        model.unlink(missing_ok=True)
        took, _ = _make(["train", f"MODEL={model.relative_to(ROOT)}"], {"RASA_MAX_CACHE_SIZE": "0"})
        res["build"]["train_s"] = took
        log(f"make train: {took:.1f}s")


# --- 2. stages -----------------------------------------------------------------------------------


def _stage_summary(result: bench_stages.StageResult) -> dict[str, Any]:
    return {"n": len(result.ms["total"]),
            **{s: {"p50": result.pct(s, 50), "p99": result.pct(s, 99)} for s in bench_stages.STAGES}}


def phase_stages(res: dict[str, Any]) -> None:
    """The action's stages in-process, with Sastrawi's stock stemmer (before) and ours (after), interleaved."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    from knowledge import text

    settings = get_settings()
    started = time.perf_counter()
    retriever = Retriever(settings)
    retriever.warm_up()
    res["stages_load_s"] = time.perf_counter() - started

    def fresh_words() -> None:
        """Forget every stem but the article's, so the questions' words are new to both stemmers."""
        text.stem.cache_clear()
        for article in retriever.articles.values():
            text.content_terms(article.title or "")
            for paragraph in article.paragraphs:
                text.content_terms(paragraph.text)

    ours = text._stemmer
    stock = StemmerFactory().create_stemmer()  # the dictionary as a list, as Sastrawi ships it
    # before: stock stemmer, the action embeds; after: our stemmer, the action embeds; shared: as shipped,
    # our stemmer and the NLU's vector in the parse data.
    conditions = {"before": (lambda: stock, False), "after": (ours, False), "shared": (ours, True)}
    warm: dict[str, float] = {}
    pooled: dict[str, bench_stages.StageResult] = {}
    # Blocks in turn, twice (the second time as a hurried reader types): drift hits all alike.
    with bar(2 * len(conditions) * bench_stages.turns(), "stages", "turns") as progress:
        for vary in (False, True):
            for name, (stemmer, with_vector) in conditions.items():
                text._stemmer = stemmer  # type: ignore[assignment]
                try:
                    if not vary:
                        text.stem.cache_clear()  # as in a new process: every word of the article is new
                        started = time.perf_counter()
                        Retriever(settings).warm_up()  # the model is loaded: index, lexical statistics, suggestions
                        warm[name] = time.perf_counter() - started
                    fresh_words()
                    got = bench_stages.measure(retriever, vary, with_vector, progress.update)
                finally:
                    text._stemmer = ours
                if name in pooled:
                    pooled[name].merge(got)
                else:
                    pooled[name] = got
    tokens, seconds = bench_stages.embed_rate(retriever)
    runs: dict[str, Any] = {}
    for name, result in pooled.items():
        runs[name] = {**_stage_summary(result), "warm_up_s": warm[name], "tokens_per_s": tokens / seconds,
                      "embedded": result.embedded}
        log(f"stages ({name}): total p50 {runs[name]['total']['p50']:.1f} ms, p99 {runs[name]['total']['p99']:.1f} ms")
    res["stages"] = runs
    res["nlu_embed"] = _message_embedding(retriever)


def _message_embedding(retriever: Any) -> dict[str, float]:
    """p50 ms of the e5 forward pass for the floor's messages and the article questions (NLU runs it on both)."""
    out = {}
    for name, messages in (("floor", list(FLOOR_MESSAGES)), ("article", _article_questions())):
        times = []
        for _ in range(3):
            for message in messages:
                started = time.perf_counter()
                retriever.embedder.embed_queries([message])
                times.append((time.perf_counter() - started) * 1000)
        out[name] = float(np.percentile(times, 50))
    log(f"e5 forward pass p50: floor messages {out['floor']:.1f} ms, article questions {out['article']:.1f} ms")
    return out


# --- 3. servers ----------------------------------------------------------------------------------


def _endpoints() -> Path:
    """bot/endpoints.yml with its own SQLite file, so the bench never shares a tracker store with a test run."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    db = WORK / "tracker.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):  # WAL mode (stores/sql.py)
        stale.unlink(missing_ok=True)
    endpoints["tracker_store"]["db"] = str(db.relative_to(ROOT))
    path = WORK / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def _responses(domain_file: Path = ROOT / "bot" / "domain.yml") -> dict[str, str]:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8"))
    return {name: variants[0]["text"] for name, variants in domain["responses"].items()}


def _static_check(expected: dict[str, str], names: dict[str, str]) -> bench_http.Check:
    """A reply counts only if it is the message's static response."""
    def check(message: str, replies: list[dict[str, Any]] | None) -> str | None:
        got = _texts(replies)
        return None if got == expected[message] else f"expected {names[message]}, got {got[:80]!r}"
    return check


def _article_questions() -> list[str]:
    """First turns of the eval's questions that the article answers."""
    items = yaml.safe_load(bench_stages.QUESTIONS.read_text(encoding="utf-8"))["items"]
    return [i["turns"][0]["ask"] for i in items
            if "paragraph" in i["turns"][0] and not i["turns"][0].get("abstain")]


def _texts(messages: list[dict[str, Any]] | None) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages or [])


def _tracker_counts(prefix: str) -> dict[str, dict[str, int]]:
    """Intents NLU predicted and actions Rasa ran for the conversations of one path, from the tracker store."""
    import sqlite3

    counts: dict[str, dict[str, int]] = {"intents": {}, "actions": {}}
    with sqlite3.connect(WORK / "tracker.db") as db:
        rows = db.execute("SELECT intent_name, action_name FROM events WHERE sender_id LIKE ? "
                          "AND type_name IN ('user', 'action')", (prefix + "%",)).fetchall()
    for intent, action in rows:
        key, name = ("intents", intent) if intent else ("actions", action)
        if name and name not in {"action_listen", "action_session_start"}:
            counts[key][name] = counts[key].get(name, 0) + 1
    return counts


def _conversation_events(sender: str) -> list[dict[str, Any]]:
    """One conversation's events as Rasa stored them (and sends them to the action server)."""
    import sqlite3

    with sqlite3.connect(WORK / "tracker.db") as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def phase_servers(
    res: dict[str, Any], counts: dict[int, int], rasa_port: int, actions_port: int, stock_port: int,
    variant: bool = True,
) -> None:
    """Cold starts, the stock bot and the floor against the article path, the action server alone, peak memory."""
    responses = _responses()
    cannot = responses["utter_cannot_lookup"]
    floor = {message: responses[response] for message, response in FLOOR_MESSAGES.items()}
    stock_responses = _responses(STOCK_DIR / "domain.yml")
    stock = {message: stock_responses[response] for message, response in STOCK_MESSAGES.items()}
    article = _article_questions()
    endpoints = _endpoints()
    logs = WORK / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    out: dict[str, Any] = {"ports": [rasa_port, actions_port, stock_port], "floor_messages": FLOOR_MESSAGES,
                           "stock_messages": STOCK_MESSAGES, "article_questions": len(article)}
    res["servers"] = out
    with Servers(rasa_port, actions_port, log_dir=logs, endpoints=str(endpoints.relative_to(ROOT))) as servers, \
            ExitStack() as stack:  # the requests' bar, from the first timed request to the last
        # Cold starts: from launching the process to its first real answer.
        actions_url = f"http://127.0.0.1:{actions_port}/webhook"
        started = time.monotonic()
        ready = servers.start_actions()
        bench_http.poll_until(lambda: bool(bench_http.post_json(
            actions_url, bench_http.action_call("Siapa yang menerima predikat WBK?"))["responses"]), 60)
        out["actions_cold"] = {"ready_s": ready, "first_answer_s": time.monotonic() - started}
        started = time.monotonic()
        ready = servers.start_rasa()
        rest = servers.rasa_url + "/webhooks/rest/webhook"
        bench_http.poll_until(
            lambda: bool(bench_http.post_json(rest, {"sender": "bench-cold", "message": "terima kasih"})), 120)
        out["rasa_cold"] = {"ready_s": ready, "first_answer_s": time.monotonic() - started}
        started = time.monotonic()
        ready = servers.start_stock(stock_port)
        stock_url = f"http://127.0.0.1:{stock_port}"
        bench_http.poll_until(lambda: bool(bench_http.post_json(
            stock_url + "/webhooks/rest/webhook", {"sender": "bench-cold", "message": "hello"})), 120)
        out["stock_cold"] = {"ready_s": ready, "first_answer_s": time.monotonic() - started}
        log(f"cold start to first answer: action server {out['actions_cold']['first_answer_s']:.1f}s, "
            f"Rasa server {out['rasa_cold']['first_answer_s']:.1f}s, "
            f"stock bot {out['stock_cold']['first_answer_s']:.1f}s")

        def check_article(message: str, replies: list[dict[str, Any]] | None) -> str | None:
            got = _texts(replies)
            if not got or cannot in got:
                return f"no answer ({got[:80]!r})"
            return None if "(Sumber:" in got or "Maksud Anda" in got or "tidak membahas" in got else \
                f"not an article answer: {got[:80]!r}"

        def ours(url: str) -> dict[str, Route]:
            return {"floor": (url, list(floor), _static_check(floor, FLOOR_MESSAGES)),
                    "article": (url, article, check_article)}

        paths = {"stock": (stock_url, list(stock), _static_check(stock, STOCK_MESSAGES)), **ours(servers.rasa_url)}
        requests = _requests(len(paths), counts, LEVELS) + counts[1]  # the paths, then the action server alone
        requests += _requests(2, counts, LEVELS[:2]) if variant else 0
        progress = stack.enter_context(bar(requests, "servers", "requests"))
        out["load"] = _interleaved(paths, counts, LEVELS, "r", progress.update)
        # What NLU really predicted and which actions ran, from the tracker store (the stock bot keeps none).
        out["tracker"] = {name: _tracker_counts(f"bench-r%-{name}-") for name in ("floor", "article")}

        # The action server alone, with a body like Rasa's: a stored conversation's events (no domain, as
        # with enable_selective_domain), with and without the NLU's vector, alternating.
        tracker = {"events": _conversation_events("bench-rwarm-article-4-0-0")}
        retriever = Retriever(get_settings())  # only its embedder: the vectors NLU would send
        retriever.embedder.warm_up()
        vectors = {q: bench_stages.nlu_vector(retriever, q) for q in article}
        times: dict[str, list[float]] = {"with": [], "without": []}
        reply: dict[str, Any] = {}
        for n in range(counts[1]):
            question, kind = article[(n // 2) % len(article)], ("with", "without")[n % 2]
            body = bench_http.action_call(question, None, tracker, sender=f"bench-direct-{n}",
                                          nlu_vector=vectors[question] if kind == "with" else None)
            started = time.perf_counter()
            reply = bench_http.post_json(actions_url, body)
            times[kind].append((time.perf_counter() - started) * 1000)
            progress.update()
        body_kb = len(json.dumps(bench_http.action_call(article[0], None, tracker,
                                                        nlu_vector=vectors[article[0]]))) / 1024
        out["action_direct"] = {"n": len(times["with"]), "body_kb": body_kb,
                                **{f"{k}_{q}": float(np.percentile(v, q)) for k, v in times.items() for q in (50, 99)}}
        procs = {p.args[3]: p.pid for p in servers.procs}  # make --no-print-directory -s <target> ...
        out["rss"] = {target: bench_http.peak_rss_mb(pid)[0] for target, pid in procs.items()}
        # Which runtimes each server really loaded, from its memory map: torch should be in neither of ours.
        out["libraries"] = {target: bench_http.loaded_libraries(pid, bench_http.RUNTIME_LIBRARIES)
                            for target, pid in procs.items()}
        log(f"peak RSS (MB): {out['rss']}; runtimes loaded: {out['libraries']}")
        out["validation"] = _validation_cost(reply)

        # The same again with a Rasa server whose reply validation checks the schema once (bench_patches/).
        if variant:
            for proc in [p for p in servers.procs if p.args[3] in ("rasa-server", "stock-server")]:
                stop(proc)  # one Rasa server at a time on the two cores
                servers.procs.remove(proc)
            patched = Servers(rasa_port + 1, actions_port, log_dir=logs / "patched",
                              endpoints=str(endpoints.relative_to(ROOT)))
            os.environ["PYTHONPATH"] = str(ROOT / "scripts" / "bench_patches")
            try:
                with patched:
                    patched.start_rasa()
                    os.environ.pop("PYTHONPATH")
                    out["patched_pythonpath"] = bench_http.group_has_env(patched.procs[0].pid, "bench_patches")
                    out["load_patched"] = _interleaved(ours(patched.rasa_url), counts, LEVELS[:2], "v",
                                                       progress.update)
            finally:
                os.environ.pop("PYTHONPATH", None)


# A path: the Rasa server's base URL, its messages, and the check a reply must pass.
Route = tuple[str, list[str], bench_http.Check]


WARM_REQUESTS = 16


def _requests(paths: int, counts: dict[int, int], levels: tuple[int, ...]) -> int:
    """How many requests `_interleaved` sends: a progress bar's total."""
    return paths * (WARM_REQUESTS + sum(2 * (counts[senders] // 2) for senders in levels))


def _interleaved(
    paths: dict[str, Route], counts: dict[int, int], levels: tuple[int, ...], tag: str,
    tick: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Every path at each concurrency, in rounds A, B, C then C, B, A: drift and order hit all alike."""
    for name, (url, messages, check) in paths.items():  # warm every path before timing
        bench_http.load(url, name, messages, check, 4, WARM_REQUESTS, f"{tag}warm", tick)
    loads: list[dict[str, Any]] = []
    for senders in levels:
        pooled: dict[str, bench_http.LoadResult] = {}
        for round_ in range(2):
            order = list(paths.items()) if round_ == 0 else list(paths.items())[::-1]
            for name, (url, messages, check) in order:
                ordered = messages if round_ == 0 else messages[::-1]
                got = bench_http.load(url, name, ordered, check, senders, counts[senders] // 2, f"{tag}{round_}",
                                      tick)
                if name in pooled:
                    pooled[name].merge(got)
                else:
                    pooled[name] = got
        for name, result in pooled.items():
            loads.append({"path": name, "senders": senders, "messages": result.messages,
                          "errors": result.errors, "error_samples": result.error_samples,
                          "p50": result.pct(50), "p95": result.pct(95), "p99": result.pct(99),
                          "msg_s": result.throughput})
            log(f"{tag} {name:8s} x{senders:<2d}: p50 {result.pct(50):6.1f} ms  p95 {result.pct(95):6.1f}  "
                f"p99 {result.pct(99):6.1f}  {result.throughput:5.1f} msg/s  errors {result.errors}")
    return loads


def _validation_cost(reply: dict[str, Any]) -> dict[str, float]:
    """Rasa's check of one real action reply (ms, p50): as Rasa runs it, with the validator built once, and
    per event (channels/resilience.py, what the Rasa server runs)."""
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    from channels.resilience import ReplyValidator

    spec = RemoteAction.action_response_format_spec()
    once = jsonschema.validators.validator_for(spec)(spec)
    per_event = ReplyValidator(spec)
    out = {}
    # Stock Rasa 3.6's _validate_action_result is `jsonschema.validate(result, spec)` (importing channels, as
    # here, replaces it in this process).
    checks = {"rasa": lambda: jsonschema.validate(reply, RemoteAction.action_response_format_spec()),
              "once": lambda: once.validate(reply),
              "per_event": lambda: list(per_event.iter_errors(reply))}
    for name, check in checks.items():
        times = []
        for _ in range(100):
            started = time.perf_counter()
            check()
            times.append((time.perf_counter() - started) * 1000)
        out[name] = float(np.percentile(times, 50))
    log(f"Rasa's validation of an action reply: {out['rasa']:.1f} ms as shipped, {out['once']:.2f} ms built once, "
        f"{out['per_event']:.2f} ms per event")
    return out


# --- 4. scale ------------------------------------------------------------------------------------


def phase_scale(res: dict[str, Any], sizes: list[int], n_queries: int) -> None:
    """Flat against approximate indexes on synthetic passages; the product's choice per size marked."""
    from knowledge.embed import Embedder

    settings = get_settings()
    embedder = Embedder(settings.embedding_model, settings.query_prefix, settings.passage_prefix)
    # One torch thread, as in the servers (knowledge/embed.py): on a shared machine two threads made the
    # bulk embedding several times slower as soon as another process took a core.
    embedder.warm_up()
    vectors = bench_scale.embed_corpus(settings, embedder, max(sizes), n_queries, WORK / "vectors", log)
    rows: list[dict[str, Any]] = []
    checks: dict[int, bool] = {}
    for size in sizes:
        got = bench_scale.measure(vectors.passages[:size], vectors.queries, sweep=size == max(sizes))
        rows += [asdict(r) for r in got]
        checks[size] = bench_scale.reload_check(vectors.passages[:size], vectors.queries)
        for r in got:
            chosen = "  <- chosen" if r.chosen else ""
            log(f"{size:>7,} {r.index_type:8s} {r.params:40s} p50 {r.p50_ms:6.3f} ms  p99 {r.p99_ms:6.3f}  "
                f"recall {r.recall:.3f}  build {r.build_s:6.2f}s  {r.disk_mb:7.1f} MB{chosen}")
    from knowledge.ann import FLAT_MAX

    res["scale"] = {"rows": rows, "reload_ok": checks, "queries": n_queries, "flat_max": FLAT_MAX,
                    "processes": os.cpu_count() or 1,
                    "passages_per_s": vectors.passages_per_s, "tokens_per_s": vectors.tokens_per_s,
                    "embedded_now": vectors.embedded_now, "embed_s": vectors.embed_s}


# --- main ----------------------------------------------------------------------------------------


def describe(quick: bool) -> dict[str, Any]:
    """The machine, the versions and the thread settings the figures belong to."""
    import faiss
    import onnxruntime

    from knowledge.embed import resolve_runtime
    from knowledge.settings import embedding_threads

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                           check=False).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "command": "make bench" + (" BENCH_ARGS=--quick" if quick else ""),
        "argv": shlex.join(sys.argv[1:]), "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "machine": bench_http.machine(), "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__,
        "embedding_runtime": resolve_runtime(get_settings().embedding_model)[0],
        "embedding_threads": embedding_threads(), "stock_models": sorted(p.name for p in STOCK_DIR.glob("models/*")),
        "quick": quick,
    }


def main() -> int:
    """Run the phases, write the report, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts, 1k and 10k passages, no training")
    parser.add_argument("--rasa-port", type=int, default=6405)
    parser.add_argument("--actions-port", type=int, default=6455)
    parser.add_argument("--stock-port", type=int, default=6425, help="the stock `rasa init` bot (make stock-server)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["build", "train", "stages", "servers", "scale"])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--variant", action="store_true",
                        help="also start a Rasa server with scripts/bench_patches/ (the reply-validation change, "
                             "which channels/resilience.py now makes in every Rasa server)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from var/bench/results.json")
    args = parser.parse_args()
    if args.report_only:
        print(bench_report.write(json.loads((WORK / "results.json").read_text(encoding="utf-8")), args.out))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"meta": describe(args.quick)}
    counts = {1: 40, 8: 80, 32: 128} if args.quick else {1: 200, 8: 320, 32: 384}
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    started = time.perf_counter()
    phases = {
        "build": lambda: phase_build(res, train=not args.quick and "train" not in args.skip),
        "stages": lambda: phase_stages(res),
        "servers": lambda: phase_servers(res, counts, args.rasa_port, args.actions_port, args.stock_port,
                                         variant=args.variant),
        "scale": lambda: phase_scale(res, sizes, 300 if args.quick else 1000),
    }
    run = [name for name in phases if name not in args.skip]
    for n, name in enumerate(run, 1):
        log(f"[{n}/{len(run)}] {name} (bench elapsed {duration(time.perf_counter() - started)})")
        phases[name]()
    res["meta"]["duration_s"] = time.perf_counter() - started
    res["meta"]["load_after"] = bench_http.machine()["load"]
    (WORK / "results.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    summary = bench_report.write(res, args.out)
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
