"""`make load-cluster`: one Rasa server against two, through nginx, side by side in one run; then one killed mid-load.

It starts `make cluster`'s set-up (serving/cluster.py, fresh PostgreSQL data
in var/load-cluster/) with two Rasa servers, one action server and an extra
nginx port that reaches Rasa server 1 only. Both doors share everything else
(nginx, the action server, PostgreSQL, Redis, the machine), so the comparison
is about the second Rasa process alone.

1. Throughput and latency at 8 and 32 senders, each level in rounds that
   alternate the doors (one, two, then two, one): drift on the shared machine
   hits both alike. The readers are those of `make load` (scripts/load.py):
   conversations of the eval, each reply checked, and afterwards every sender's
   messages read back from PostgreSQL (none lost, reordered or doubled).
2. 32 senders through the two-server door while Rasa server 1 is killed with
   SIGKILL once a third of the replies are back. A request in flight on it fails (nginx
   answers 502); the rest go on at the other server, and supervisord restarts
   the killed one. Printed: the failed requests, and, read from PostgreSQL,
   whether every accepted message (HTTP 200 with a real reply) is stored once
   with its reply.

It prints figures and exits 1 on an error in phase 1, on any accepted message
lost or doubled, or when no message was sent after the kill; timing never
fails it. Ports default to 76xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from load import CANNOT_LOOK_UP, Result, Turn, check_tracker, run_load, scripts_for  # noqa: E402

from knowledge.progress import Progress  # noqa: E402
from serving.ports import holders  # noqa: E402

WORK = ROOT / "var" / "load-cluster"
LEVELS = {8: 10, 32: 5}  # senders -> messages per sender, per round
ROUNDS = 2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Cluster:
    """`python -m serving cluster` in a session of its own, with an extra door to Rasa server 1."""

    port: int
    single_port: int
    actions_port: int
    pg_port: int
    redis_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def rasa_ports(self) -> tuple[int, int]:
        return self.port + 1, self.port + 2

    def start(self, timeout: float) -> float:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        out = open(WORK / "cluster.out", "wb")  # noqa: SIM115 - the cluster's lifetime
        env = {**os.environ, "SERVE_DIR": str(WORK / "serve"), "SERVE_LOG_DIR": str(WORK / "logs")}
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serving", "cluster", "--port", str(self.port), "--single-port",
             str(self.single_port), "--actions-port", str(self.actions_port), "--pg-port", str(self.pg_port),
             "--redis-port", str(self.redis_port), "--rasa-servers", "2", "--action-servers", "1",
             "--data", str(WORK / "data")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
        while "\nReady (" not in (text := (WORK / "cluster.out").read_text(errors="replace")):
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                raise RuntimeError(f"the cluster did not start:\n{text[-3000:]}")
            time.sleep(0.5)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def tracker_url(self) -> str:
        secrets = dict(line.split("=", 1) for line in (WORK / "data" / "secrets.env").read_text().split())
        return f"postgresql://rasa:{secrets['DB_PASSWORD']}@127.0.0.1:{self.pg_port}/rasa"

    def kill_rasa(self, index: int) -> int:
        """SIGKILL the Rasa server listening on its port; its pid."""
        pid = min(h.pid for h in holders(self.rasa_ports[index]))
        os.kill(pid, signal.SIGKILL)
        return pid


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(cluster: Cluster) -> dict[str, float]:
    """CPU time used so far by each part of the cluster (a server and every process below it), and by this script."""
    state = WORK / "serve" / f"cluster-{cluster.port}"
    marks = {"rasa-1": f"--port {cluster.rasa_ports[0]}", "rasa-2": f"--port {cluster.rasa_ports[1]}",
             "actions": f"--port {cluster.actions_port + 1}", "nginx": str(state / "nginx.conf"),
             "postgres": str(WORK / "data" / "pg" / "data"), "redis": str(state / "redis" / "redis.conf")}
    used: dict[int, float] = {}
    parent: dict[int, int] = {}
    command: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        used[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
        parent[pid] = int(fields[1])
        command[pid] = cmd
    out = dict.fromkeys(marks, 0.0)
    for pid in used:
        ancestor: int | None = pid
        while ancestor:  # the nearest process, this one or above, that names one of the parts
            name = next((n for n, mark in marks.items() if mark in command.get(ancestor, "")), None)
            if name is not None:
                out[name] += used[pid]
                break
            ancestor = parent.get(ancestor)
    own = os.times()
    out["load generator"] = own.user + own.system
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    out["machine"] = (sum(int(x) for x in cpu[:8]) - int(cpu[3]) - int(cpu[4])) / CLK_TCK  # all but idle, iowait
    return out


def summary(result: Result) -> dict[str, Any]:
    s = result.summary()
    return {k: s[k] for k in ("answered", "errors", "error_kinds", "lost", "p50_ms", "p95_ms", "throughput_msg_s",
                              "elapsed_s")}


def pooled(results: list[Result]) -> dict[str, Any]:
    """Rounds of one door at one level, as one: latencies pooled, throughput = answers / summed wall time."""
    latencies = [x for r in results for x in r.latencies]
    pool = Result(results[0].senders, results[0].messages, latencies=latencies)
    pool.elapsed = sum(r.elapsed for r in results)
    pool.errors = sum((r.errors for r in results), Counter())
    pool.lost = sum(r.lost for r in results)
    return summary(pool)


def phase_compare(cluster: Cluster, seed: int) -> dict[str, Any]:
    """Both doors at each level, in alternating rounds; every run's store checked."""
    doors = {"one": f"http://127.0.0.1:{cluster.single_port}", "two": f"http://127.0.0.1:{cluster.port}"}
    tracker = cluster.tracker_url()
    out: dict[str, Any] = {}
    progress = Progress(sum(s * m for s, m in LEVELS.items()) * 2 * ROUNDS, "compare", "replies")
    for senders, messages in LEVELS.items():
        runs: dict[str, list[Result]] = {"one": [], "two": []}
        cpu: dict[str, dict[str, float]] = {"one": {}, "two": {}}
        for round_ in range(ROUNDS):
            order = ["one", "two"] if round_ % 2 == 0 else ["two", "one"]
            for door in order:
                prefix = f"lc-{door}{senders}-{uuid.uuid4().hex[:6]}"
                before = cpu_seconds(cluster)
                result, scripts = asyncio.run(run_load([doors[door]], senders, messages, seed + round_,
                                                       max_seconds=600, prefix=prefix, progress=progress))
                after = cpu_seconds(cluster)
                for name in after:
                    cpu[door][name] = cpu[door].get(name, 0.0) + after[name] - before[name]
                cpu[door]["wall"] = cpu[door].get("wall", 0.0) + result.elapsed
                cpu[door]["messages"] = cpu[door].get("messages", 0.0) + len(result.latencies)
                check_tracker(tracker, scripts, result)
                runs[door].append(result)
                s = summary(result)
                progress.write(f"{door} Rasa server(s), {senders} senders, round {round_ + 1}: "
                               f"{s['throughput_msg_s']} msg/s, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
                               f"errors {s['errors']}, lost {s['lost']}")
        out[str(senders)] = {door: {**pooled(results), "cpu": cpu[door]} for door, results in runs.items()}
        one, two = out[str(senders)]["one"], out[str(senders)]["two"]
        out[str(senders)]["ratio"] = round(two["throughput_msg_s"] / one["throughput_msg_s"], 2) \
            if one["throughput_msg_s"] else None
    progress.close()
    return out


@dataclass
class KillRun:
    """What the readers of the kill phase sent, and what came back."""

    sent: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # sender -> (text, accepted)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    killed_at: float | None = None  # seconds into the phase, once the kill has run
    killed_after_replies: int = 0
    sent_after_kill: int = 0  # messages posted after the kill: without them the kill tested nothing
    elapsed: float = 0.0


async def kill_phase_load(url: str, senders: int, messages: int, seed: int, kill_at: int,
                          kill: Any, progress: Progress | None = None) -> KillRun:
    """Closed-loop readers as in `make load`; `kill()` runs once `kill_at` replies have come back.

    A count, not a time: on a quiet day the whole phase can end before a fixed delay, and a kill after the
    last message proves nothing (the run then says so, and fails).
    """
    run = KillRun()
    done = 0
    started = time.perf_counter()
    prefix = f"lk-{uuid.uuid4().hex[:6]}"
    scripts = {f"{prefix}-{i:03d}": s for i, s in enumerate(scripts_for(senders, messages, seed))}
    timeout = aiohttp.ClientTimeout(total=600)

    async def reader(session: aiohttp.ClientSession, sender: str, script: list[Turn]) -> None:
        nonlocal done
        run.sent[sender] = []
        for turn in script:
            if run.killed_at is not None:
                run.sent_after_kill += 1
            begun = time.perf_counter()
            accepted = False
            try:
                async with session.post(url + "/webhooks/rest/webhook",
                                        json={"sender": sender, "message": turn.text}) as resp:
                    body = await resp.text()
                    if resp.status != 200:
                        run.failures[f"HTTP {resp.status}"] += 1
                    else:
                        reply = "\n".join(str(m.get("text") or "") for m in json.loads(body))
                        if not reply.strip():
                            run.failures["empty reply"] += 1
                        elif CANNOT_LOOK_UP in reply:
                            run.failures["action server failed"] += 1
                        else:
                            accepted = True
                            run.latencies.append(time.perf_counter() - begun)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                run.failures[f"connection: {type(exc).__name__}"] += 1
            run.sent[sender].append((turn.text, accepted))
            done += 1
            if progress is not None:
                progress.update()
            if done == kill_at:
                kill()  # os.kill: immediate
                run.killed_at = time.perf_counter() - started
                run.killed_after_replies = done

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=senders)) as session:
        await asyncio.gather(*(reader(session, s, script) for s, script in scripts.items()))
    run.elapsed = time.perf_counter() - started
    return run


def check_accepted(tracker_url: str, run: KillRun) -> dict[str, Any]:
    """Every accepted message stored once, followed by a reply; failed ones may or may not be stored."""
    engine = sa.create_engine(tracker_url)
    stored: dict[str, list[tuple[str, str]]] = {s: [] for s in run.sent}
    query = sa.text("SELECT sender_id, type_name, data FROM events WHERE sender_id LIKE :p "
                    "AND type_name IN ('user', 'bot') ORDER BY id")
    prefix = next(iter(run.sent)).rsplit("-", 1)[0]
    with engine.connect() as conn:
        for sender, kind, data in conn.execute(query, {"p": f"{prefix}-%"}):
            stored[sender].append((kind, json.loads(data).get("text") or ""))
    engine.dispose()
    missing = doubled = stored_failed = 0
    examples: list[str] = []
    for sender, sent in run.sent.items():
        events = stored[sender]
        users = [(i, text) for i, (kind, text) in enumerate(events) if kind == "user"]
        counts = Counter(text for _, text in users)
        sent_counts = Counter(text for text, _ in sent)
        for text, accepted in sent:
            if not accepted:
                continue
            answered = [i for i, t in users if t == text and i + 1 < len(events) and events[i + 1][0] == "bot"]
            if not answered:
                missing += 1
                if len(examples) < 5:
                    examples.append(f"{sender}: {text!r} accepted but not stored with a reply")
        doubled += sum(max(0, n - sent_counts[t]) for t, n in counts.items())
        stored_failed += sum(1 for text, accepted in sent if not accepted and counts[text] > 0)
    return {"accepted": sum(a for s in run.sent.values() for _, a in s), "accepted_missing": missing,
            "doubled": doubled, "failed_but_stored": stored_failed, "examples": examples}


def phase_kill(cluster: Cluster, senders: int, messages: int, seed: int, kill_share: float) -> dict[str, Any]:
    url = f"http://127.0.0.1:{cluster.port}"
    killed: dict[str, Any] = {}

    def kill() -> None:
        killed["pid"] = cluster.kill_rasa(0)
        killed["at"] = time.monotonic()
        progress.write(f"killed Rasa server 1 (pid {killed['pid']}) with SIGKILL")

    with Progress(senders * messages, "kill phase", "replies") as progress:
        kill_at = max(1, round(kill_share * senders * messages))
        run = asyncio.run(kill_phase_load(url, senders, messages, seed, kill_at, kill, progress))
    store = check_accepted(cluster.tracker_url(), run)
    sent = sum(len(s) for s in run.sent.values())
    back = _wait_back(cluster) if killed else None
    return {"senders": senders, "messages_per_sender": messages, "sent": sent,
            "failed_requests": sum(run.failures.values()), "failure_kinds": dict(run.failures),
            "p50_ms": round(1000 * statistics.median(run.latencies), 1) if run.latencies else None,
            "elapsed_s": round(run.elapsed, 1),
            "killed_after_s": round(run.killed_at, 1) if run.killed_at is not None else None,
            "killed_after_replies": run.killed_after_replies, "sent_after_kill": run.sent_after_kill,
            "restarted_after_s": round(back - killed["at"], 1) if back else None, **store}


def _wait_back(cluster: Cluster, timeout: float = 400) -> float | None:
    """When supervisord's restarted Rasa server 1 answers again (monotonic time), or None."""
    from serving.supervise import http_ok

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(f"http://127.0.0.1:{cluster.rasa_ports[0]}/webhooks/rest/"):
            return time.monotonic()
        time.sleep(0.5)
    return None


def print_report(res: dict[str, Any]) -> None:
    print(f"\nOne Rasa server against two, through nginx (same nginx, action server, PostgreSQL and Redis); "
          f"{ROUNDS} rounds per level, doors alternating. CPU in busy cores (CPU seconds per second) of the "
          f"{os.cpu_count()}: Rasa servers, all of the cluster, and every other process on the machine")
    print(f"{'senders':>8} {'door':>5} {'answered':>9} {'errors':>7} {'lost':>5} {'msg/s':>7} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'rasa':>6} {'cluster':>8} {'others':>7}")
    parts = ["rasa-1", "rasa-2", "actions", "nginx", "postgres", "redis", "load generator"]
    for senders, doors in res["compare"].items():
        for door in ("one", "two"):
            d = doors[door]
            cpu, wall = d["cpu"], d["cpu"]["wall"]
            ours = sum(cpu.get(p, 0.0) for p in parts)
            print(f"{senders:>8} {door:>5} {d['answered']:>9} {d['errors']:>7} {d['lost']:>5} "
                  f"{d['throughput_msg_s']:>7} {d['p50_ms']:>8} {d['p95_ms']:>8} "
                  f"{(cpu['rasa-1'] + cpu['rasa-2']) / wall:>6.2f} {ours / wall:>8.2f} "
                  f"{(cpu['machine'] - ours) / wall:>7.2f}")
        print(f"{'':>8} two/one throughput: {doors['ratio']}x (target 1.4x)")
    k = res["kill"]
    print(f"\nRasa server 1 killed (SIGKILL) during {k['senders']} senders x {k['messages_per_sender']} messages "
          f"through the two-server door, after {k['killed_after_replies']} replies ({k['killed_after_s']}s in); "
          f"{k['sent_after_kill']} messages were sent after the kill; the phase took {k['elapsed_s']}s:")
    if not k["sent_after_kill"]:
        print("  THE KILL CAME AFTER THE LAST MESSAGE: this phase tested nothing (raise --kill-messages)")
    print(f"  sent {k['sent']}, failed requests {k['failed_requests']} {k['failure_kinds'] or ''}".rstrip())
    print(f"  accepted {k['accepted']}: {k['accepted_missing']} without their reply in PostgreSQL, "
          f"{k['doubled']} stored twice; {k['failed_but_stored']} failed requests were stored all the same")
    print(f"  Rasa server 1 answered again {k['restarted_after_s']}s after the kill (supervisord)")
    for example in k["examples"]:
        print(f"  {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=7605, help="nginx; the Rasa servers take the next two ports")
    parser.add_argument("--single-port", type=int, default=7604, help="nginx, to Rasa server 1 only")
    parser.add_argument("--actions-port", type=int, default=7655, help="nginx; the action server takes the next")
    parser.add_argument("--pg-port", type=int, default=7632)
    parser.add_argument("--redis-port", type=int, default=7637)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--kill-senders", type=int, default=32)
    parser.add_argument("--kill-messages", type=int, default=10)
    parser.add_argument("--kill-at", type=float, default=1 / 3,
                        help="kill Rasa server 1 once this share of the kill phase's replies has come back")
    parser.add_argument("--json", type=Path, default=WORK.parent / "load-cluster.json")
    args = parser.parse_args()
    cluster = Cluster(args.port, args.single_port, args.actions_port, args.pg_port, args.redis_port)
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M %Z"),
                           "load_before": Path("/proc/loadavg").read_text().split()[:3]}
    try:
        log("Starting the cluster (2 Rasa servers, 1 action server, nginx, PostgreSQL, Redis) ...")
        res["start_s"] = round(cluster.start(900), 1)
        log(f"cluster ready in {res['start_s']}s; warming both doors ...")
        for url in (f"http://127.0.0.1:{cluster.single_port}", f"http://127.0.0.1:{cluster.port}"):
            asyncio.run(run_load([url], 4, 4, args.seed, max_seconds=300, prefix=f"lc-warm-{uuid.uuid4().hex[:6]}"))
        res["compare"] = phase_compare(cluster, args.seed)
        res["kill"] = phase_kill(cluster, args.kill_senders, args.kill_messages, args.seed, args.kill_at)
    finally:
        cluster.stop()
    res["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    args.json.write_text(json.dumps(res, indent=1) + "\n")
    print_report(res)
    errors = sum(d[door]["errors"] + d[door]["lost"] for d in res["compare"].values() for door in ("one", "two"))
    bad = errors + res["kill"]["accepted_missing"] + res["kill"]["doubled"] + (not res["kill"]["sent_after_kill"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
