"""knowledge/progress.py: a tqdm bar on a terminal, sparse plain lines with counts and an ETA in a log."""

from __future__ import annotations

import io
import shutil

import pytest

from knowledge import index
from knowledge.index import update_index
from knowledge.progress import Progress, duration
from knowledge.settings import ROOT, Settings
from tests.conftest import HashEmbedder

SECOND = ROOT / "tests" / "articles" / "antara-sukamaju-perpustakaan-2021.txt"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_minutes_and_seconds() -> None:
    assert [duration(s) for s in (0, 9.6, 63, 200, 3725)] == ["0s", "10s", "1m03s", "3m20s", "1h02m"]


def test_a_log_gets_a_plain_line_per_tenth_with_counts_and_eta() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress(50, "eval", "items", stream=out, clock=clock) as bar:
        assert not bar.tty and bar.bar is None  # a StringIO is no terminal
        for _ in range(12):
            clock.now += 5.25
            bar.update()
        lines = out.getvalue().splitlines()
        assert lines[-1] == "eval: 10/50 items (20 %) elapsed 52s, about 3m30s left"
        for _ in range(38):
            clock.now += 5.25
            bar.update()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10  # one per tenth, the last once
    assert lines[0] == "eval: 5/50 items (10 %) elapsed 26s, about 3m56s left"
    assert lines[-1] == "eval: 50/50 items (100 %) done in 4m22s"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_lines_stay_bounded_for_many_fast_updates() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(100_000, "load", "replies", stream=out, clock=clock)
    for _ in range(100_000):
        clock.now += 0.001  # 100 s in all: the 30 s rule adds nothing between tenths 10 s apart
        bar.update()
    bar.close()
    assert len(out.getvalue().splitlines()) == 10


def test_a_slow_stretch_prints_a_line_after_the_seconds_rule() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(1000, "build", "articles", stream=out, clock=clock, seconds=30)
    clock.now += 31
    bar.update()  # 0.1 % done, but 31 s without a line
    assert out.getvalue() == "build: 1/1000 articles (0 %) elapsed 31s, about 8h36m left\n"
    bar.update()  # right after: no line
    assert out.getvalue().count("\n") == 1
    bar.close()  # interrupted: the last state, with what was left
    assert out.getvalue().splitlines()[-1].startswith("build: 2/1000 articles (0 %) elapsed 31s")


def test_close_does_not_repeat_the_last_line() -> None:
    out = io.StringIO()
    with Progress(4, "x", stream=out) as bar:
        bar.update(4)
    assert out.getvalue().splitlines() == [bar.line()]
    bar.close()
    assert len(out.getvalue().splitlines()) == 1


def test_messages_go_through_write() -> None:
    out = io.StringIO()
    with Progress(2, "bench", stream=out) as bar:
        bar.write("phase 1 done")
        bar.update(2)
    assert out.getvalue().splitlines()[0] == "phase 1 done"


def test_unknown_total_counts_without_a_share() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(0, "wait", "polls", stream=out, clock=clock)
    clock.now += 40
    bar.update(3)
    assert out.getvalue() == "wait: 3 polls elapsed 40s\n"


def test_a_terminal_gets_a_tqdm_bar_with_an_eta() -> None:
    from tqdm import tqdm

    out = io.StringIO()
    out.isatty = lambda: True  # type: ignore[method-assign]
    with Progress(20, "eval", "items", stream=out) as bar:
        assert bar.tty and isinstance(bar.bar, tqdm)
        for _ in range(20):
            bar.update()
        bar.write("a message")
    text = out.getvalue()
    assert "\r" in text and "20/20" in text and "eval" in text and "a message" in text
    assert "<00:00" in text  # tqdm's elapsed<remaining


def test_an_index_build_counts_articles_and_stays_quiet_on_cached_ones(
    fake_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Several articles to embed: plain lines per article group in a log; only cached articles: nothing."""
    monkeypatch.setattr(index, "EMBED_GROUP", 1)  # one article per call, so the bar moves per article
    shutil.copy(SECOND, fake_settings.articles_dir / SECOND.name)
    embedder = HashEmbedder()
    update_index(fake_settings, embedder, show_progress=True)  # type: ignore[arg-type]
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("embedding: 1/2 articles (50 %) elapsed ")
    assert err[-1].startswith("embedding: 2/2 articles (100 %) done in ")
    update_index(fake_settings, embedder, show_progress=True)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""


def test_one_article_to_embed_gets_no_bar(fake_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    update_index(fake_settings, HashEmbedder(), show_progress=True)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""


def test_make_load_counts_replies_as_they_arrive(capsys: pytest.CaptureFixture[str]) -> None:
    """scripts/load.py against a stub REST webhook (in-process aiohttp, no Rasa): one tick per scripted message."""
    import asyncio

    import load
    from aiohttp import web

    async def reply(request: web.Request) -> web.Response:
        body = await request.json()
        rating = body["message"] in (load.UP, load.DOWN)  # thanked for, with no 👍 button again
        buttons = [] if rating else [{"payload": load.UP}]
        return web.json_response([{"recipient_id": body["sender"], "text": "jawaban", "buttons": buttons}])

    async def main() -> tuple[load.Result, int]:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", reply)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            with Progress(4 * 5, "load", "replies") as progress:
                result, _ = await load.run_load([f"http://127.0.0.1:{port}"], 4, 5, max_seconds=30, rate=1.0,
                                                progress=progress)
            return result, progress.done
        finally:
            await runner.cleanup()

    result, done = asyncio.run(main())
    assert done == 20 and len(result.latencies) == 20 + result.rated  # ratings are sent but not counted
    err = capsys.readouterr().err.splitlines()
    assert 1 <= len(err) <= 10 and err[-1].startswith("load: 20/20 replies (100 %) done in ")


def test_the_bench_servers_bar_total_is_the_requests_sent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """`_requests` counts exactly the requests `_interleaved` sends, and the phase lines go through the bar."""
    import bench_http

    import bench

    sent: list[int] = []

    def fake_load(url, path, messages, check, senders, total, tag, tick=None):  # type: ignore[no-untyped-def]
        sent.append(total)
        for _ in range(total):
            tick()
        return bench_http.LoadResult(path, senders, latencies_ms=[1.0] * total, wall_s=1.0)

    monkeypatch.setattr(bench_http, "load", fake_load)
    counts = {1: 40, 8: 80, 32: 128}
    paths = {name: ("http://127.0.0.1:1", ["hai"], lambda m, r: None) for name in ("stock", "floor", "article")}
    total = bench._requests(len(paths), counts, bench.LEVELS)
    with bench.bar(total, "servers", "requests") as progress:
        bench._interleaved(paths, counts, bench.LEVELS, "t", progress.update)
    assert sum(sent) == total == progress.done
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"servers: {total}/{total} requests (100 %) done in ") for line in err)
    assert sum(line.startswith("servers: ") for line in err) == 10
    assert any(line.startswith("t stock    x1 : p50") for line in err)  # the phase's own lines are kept
