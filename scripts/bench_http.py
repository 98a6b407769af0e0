"""End-to-end measurements over HTTP: bounded REST load, cold starts and the servers' peak memory.

The load is closed-loop: N concurrent senders, each sending its next message
when the previous reply arrives, over loopback. A sender starts a new
conversation every CONVERSATION_TURNS messages, so trackers stay the size of
a real chat for both paths. Every reply is checked (status 200, the expected
text), so a fast error never counts as a fast answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

CONVERSATION_TURNS = 5


@dataclass
class LoadResult:
    """One path at one concurrency: latencies of the good replies, errors, wall time."""

    path: str
    senders: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def merge(self, other: LoadResult) -> None:
        """Pool a second round of the same path and concurrency."""
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.wall_s += other.wall_s
        self.error_samples += other.error_samples[: 3 - len(self.error_samples)]

    @property
    def messages(self) -> int:
        """Messages sent, good or not."""
        return len(self.latencies_ms) + self.errors

    def pct(self, q: float) -> float:
        """A latency percentile in ms (linear interpolation)."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def throughput(self) -> float:
        """Good replies per second of wall time."""
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0


Check = Callable[[str, list[dict[str, Any]] | None], str | None]  # (message, replies) -> problem


async def _load(
    url: str, path: str, messages: Sequence[str], check: Check, senders: int, total: int, tag: str,
    tick: Callable[[], None] | None = None,
) -> LoadResult:
    result = LoadResult(path, senders)
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=senders, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)

    async def sender(worker: int, session: aiohttp.ClientSession) -> None:
        for sent, n in enumerate(counter):
            conversation = f"bench-{tag}-{path}-{senders}-{worker}-{sent // CONVERSATION_TURNS}"
            body = {"sender": conversation, "message": messages[n % len(messages)]}
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as resp:
                    payload = await resp.json(content_type=None) if resp.status == 200 else None
                    problem = check(body["message"], payload) if resp.status == 200 else f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            took = (time.perf_counter() - started) * 1000
            if problem is None:
                result.latencies_ms.append(took)
            else:
                result.errors += 1
                if len(result.error_samples) < 3:
                    result.error_samples.append(f"{body['message']!r}: {problem}")
            if tick is not None:
                tick()

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(sender(w, session) for w in range(senders)))
    result.wall_s = time.perf_counter() - started
    return result


def load(
    base_url: str, path: str, messages: Sequence[str], check: Check, senders: int, total: int, tag: str,
    tick: Callable[[], None] | None = None,
) -> LoadResult:
    """`total` messages through POST /webhooks/rest/webhook with `senders` concurrent senders; `tick` per reply."""
    return asyncio.run(_load(f"{base_url}/webhooks/rest/webhook", path, messages, check, senders, total, tag, tick))


def post_json(url: str, body: dict[str, Any], timeout: float = 30) -> Any:
    """One POST with a JSON body; the decoded JSON reply."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def get_json(url: str, timeout: float = 30) -> Any:
    """One GET; the decoded JSON reply."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def poll_until(attempt: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Call `attempt` until it returns True; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if attempt():
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"no answer within {timeout:.0f}s")


def action_call(question: str, domain: dict[str, Any] | None = None, tracker: dict[str, Any] | None = None,
                sender: str = "bench", nlu_vector: dict[str, str] | None = None) -> dict[str, Any]:
    """The body Rasa posts to the action server to run action_answer_question for one question.

    `nlu_vector` is the `query_vector` NLU puts in the parse data (knowledge.embed.QueryVector.to_dict).
    """
    latest: dict[str, Any] = {"text": question, "intent": {"name": "ask_article", "confidence": 0.9}, "entities": []}
    if nlu_vector is not None:
        latest["query_vector"] = nlu_vector
    state = dict(tracker or {})
    state.update({
        "sender_id": sender, "latest_message": latest, "paused": False, "followup_action": None,
        "active_loop": {}, "latest_action_name": "action_listen",
    })
    state.setdefault("slots", {})
    state.setdefault("events", [])
    body = {"next_action": "action_answer_question", "sender_id": sender, "tracker": state, "version": "3.6.21"}
    if domain is not None:  # Rasa sends none with `enable_selective_domain` (bot/endpoints.yml)
        body["domain"] = domain
    return body


def group_pids(pgid: int) -> list[int]:
    """Processes of one process group (a server started through make, in its own session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after ")": state, ppid, pgrp
            pids.append(int(entry.name))
    return pids


def group_has_env(pgid: int, text: str) -> bool:
    """Whether a process of the group has `text` in its environment (the variant really got its PYTHONPATH)."""
    for pid in group_pids(pgid):
        try:
            if text.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                return True
        except OSError:
            continue
    return False


def peak_rss_mb(pgid: int) -> tuple[float, str]:
    """The largest peak resident set (VmHWM) in the group, in MB, and that process's command."""
    best, name = 0.0, ""
    for pid in group_pids(pgid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                kb = float(line.split()[1])
                if kb / 1024 > best:
                    best, name = kb / 1024, cmd.strip()
    return best, name


# Shared libraries that show which runtime a server process really loaded (its /proc/PID/maps).
RUNTIME_LIBRARIES = {"torch": "libtorch", "onnxruntime": "onnxruntime_pybind11", "tensorflow": "libtensorflow"}


def loaded_libraries(pgid: int, libraries: dict[str, str]) -> list[str]:
    """The names in `libraries` whose file is mapped into some process of the group."""
    found: set[str] = set()
    for pid in group_pids(pgid):
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found.update(name for name, needle in libraries.items() if needle in maps)
    return sorted(found)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "kernel": os.uname().release, "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
