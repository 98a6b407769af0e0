"""The per-sender token bucket, and the web chat socket's origin check and binary-packet guard, in process."""

from __future__ import annotations

import asyncio

import pytest
from socketio import AsyncServer

from channels.ratelimit import RateLimiter
from channels.web import origin_check, refuse_binary_packets
from knowledge.settings import ChannelSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_let_in_then_one_message_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=3, per_minute=6, clock=clock)  # one token every 10 s
    assert [limiter.check("a").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.check("a")
    assert not refused.allowed and refused.retry_after == 10 and refused.notify
    assert "Tunggu 10 detik" in refused.reply
    clock.now += 9.0
    again = limiter.check("a")
    assert not again.allowed and again.retry_after == 1 and not again.notify  # told once per streak
    clock.now += 1.0
    assert limiter.check("a").allowed
    clock.now += 5.0
    assert limiter.check("a").notify  # a new streak is told again


def test_senders_do_not_share_a_bucket() -> None:
    limiter = RateLimiter(burst=1, per_minute=1, clock=Clock())
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
    assert limiter.check("b").allowed


def test_a_quiet_sender_gets_the_whole_burst_back_but_no_more() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=2, per_minute=60, clock=clock)
    limiter.check("a")
    clock.now += 3600
    assert [limiter.check("a").allowed for _ in range(3)] == [True, True, False]


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(burst=0, per_minute=30, clock=Clock())
    assert not limiter.enabled
    assert all(limiter.check("a").allowed for _ in range(1000))


def test_memory_is_bounded_by_forgetting_the_least_recent_sender() -> None:
    limiter = RateLimiter(burst=1, per_minute=1, clock=Clock(), max_senders=2)
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")  # forgets "a", whose bucket would have refilled long before it mattered
    assert limiter.check("a").allowed
    assert not limiter.check("c").allowed


def test_channel_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_BURST", "5")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "12")
    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "https://news.example.id/, https://m.example.id")
    settings = ChannelSettings.from_env()
    assert (settings.rate_burst, settings.rate_per_minute) == (5, 12)
    assert settings.allowed_origins == ("https://news.example.id", "https://m.example.id")
    monkeypatch.delenv("WEB_ALLOWED_ORIGINS")
    assert ChannelSettings.from_env().allowed_origins == ()


ENVIRON = {"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:5005"}


def test_by_default_only_the_pages_own_origin_may_open_a_socket() -> None:
    check = origin_check(())
    assert check("http://127.0.0.1:5005", ENVIRON)
    assert not check("https://evil.example", ENVIRON)
    assert not check("http://127.0.0.1:5006", ENVIRON)
    assert check(None, ENVIRON)  # not a browser page: CORS does not apply


def test_behind_a_proxy_the_forwarded_origin_is_the_pages_own() -> None:
    proxied = {**ENVIRON, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "bot.example.id"}
    assert origin_check(())("https://bot.example.id", proxied)


def test_configured_origins_are_added_to_the_pages_own() -> None:
    check = origin_check(("https://news.example.id",))
    assert check("https://news.example.id", ENVIRON)
    assert check("http://127.0.0.1:5005", ENVIRON)
    assert not check("https://evil.example", ENVIRON)
    assert origin_check(("*",))("https://anyone.example", ENVIRON)


def test_binary_socket_packets_are_dropped_before_python_socketio_buffers_them() -> None:
    """CVE-2026-48804: a binary event whose attachment never comes stayed in memory; text events still pass."""
    sio = AsyncServer(async_mode="asgi")
    seen: list[str] = []

    @sio.on("user_uttered")
    async def handler(sid: str, data: object) -> None:
        seen.append(str(data))

    refuse_binary_packets(sio)
    on_message = sio.eio.handlers["message"]

    async def scenario() -> None:
        await sio._handle_eio_connect("eio-1", {})
        await on_message("eio-1", "0")  # Socket.IO CONNECT to "/"
        await on_message("eio-1", '51-["user_uttered",{"_placeholder":true,"num":0}]')
        await on_message("eio-1", b"\x00" * 1024)
        await on_message("eio-1", '2["user_uttered","halo"]')

    asyncio.run(scenario())
    assert sio._binary_packet == {}
    assert seen == ["halo"]
