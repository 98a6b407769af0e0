"""`make load-cluster`'s kill phase kills while messages are still coming, whatever the machine's speed.

A fixed delay once let the whole phase end before the kill on a quiet day, and
"0 failed requests" then proved nothing. The kill now follows a count of
replies, and a run in which nothing was sent after it says so.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from load_cluster import kill_phase_load


async def _phase(kill_at: int, senders: int = 4, messages: int = 5) -> tuple[Any, list[int]]:
    """The phase against a stand-in for nginx that answers every message; `kill` records when it ran."""
    answered = 0

    async def reply(request: web.Request) -> web.Response:
        nonlocal answered
        body = await request.json()
        await asyncio.sleep(0.005)
        answered += 1
        return web.json_response([{"recipient_id": body["sender"], "text": "Jawaban dari artikel."}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", reply)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # any free port
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    kills: list[int] = []
    try:
        run = await kill_phase_load(f"http://127.0.0.1:{port}", senders, messages, seed=3, kill_at=kill_at,
                                    kill=lambda: kills.append(answered))
    finally:
        await runner.cleanup()
    return run, kills


def test_the_kill_comes_after_a_count_of_replies_and_messages_follow_it() -> None:
    run, kills = asyncio.run(_phase(kill_at=7))
    assert len(kills) == 1 and kills[0] >= 7
    assert run.killed_after_replies == 7
    assert run.killed_at is not None
    sent = sum(len(s) for s in run.sent.values())
    assert sent == 20 and not run.failures
    # Each of the 4 readers sends its remaining messages after the kill: 20 - 7 replies - at most 4 in flight.
    assert 20 - 7 - 4 <= run.sent_after_kill <= 20 - 7


def test_a_kill_that_never_comes_is_reported() -> None:
    run, kills = asyncio.run(_phase(kill_at=21))
    assert kills == [] and run.killed_at is None and run.sent_after_kill == 0
