"""A fake Telegram Bot API on 127.0.0.1 that records every call, for testing the connector offline.

It runs aiohttp in a background thread, so the Rasa server (another process)
can call it while the test thread inspects what was called. One catch-all route,
`/bot{token}/{method}`, like the real API: aiogram posts form fields (nested
values such as `reply_markup` as JSON strings), and gets back `getMe` as a User,
`sendMessage` as a Message, `getUpdates` as the updates queued with
`queue_update` (offset confirms, as in the real API), and `true` for everything else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TOKEN_RE = re.compile(r"^\d+:[\w-]+$")


@dataclass(frozen=True)
class Call:
    """One Bot API call as the fake received it."""

    token: str
    method: str
    params: dict[str, Any]

    def json_param(self, name: str) -> Any:
        """A parameter aiogram sent JSON-encoded (reply_markup, allowed_updates)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


class FakeTelegram:
    """`with FakeTelegram() as api:` then point TELEGRAM_API_BASE at `api.base_url`."""

    def __init__(self, username: str = "tanya_artikel_bot", bot_id: int = 7000000001) -> None:
        self.username = username
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._updates: list[dict[str, Any]] = []  # for getUpdates, oldest first
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-telegram", daemon=True)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE should be."""
        return f"http://127.0.0.1:{self.port}"

    def bot_user(self) -> dict[str, Any]:
        """The bot as getMe describes it."""
        return {"id": self.bot_id, "is_bot": True, "first_name": "Tanya Artikel", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if not TOKEN_RE.match(token):
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        with self._lock:
            self.calls.append(Call(token, method, params))
        if method.lower() == "getupdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def queue_update(self, update: dict[str, Any]) -> None:
        """An update the next getUpdates returns (until an offset past its update_id confirms it)."""
        with self._lock:
            self._updates.append(update)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Like the real API: an offset drops every update before it; an empty answer waits (briefly) first."""
        offset = int(params.get("offset") or 0)
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            pending = list(self._updates[: int(params.get("limit") or 100)])
        if not pending:
            await asyncio.sleep(min(float(params.get("timeout") or 0), 0.2))  # a long poll, shortened
        return pending

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        name = method.lower()
        if name == "getme":
            return self.bot_user()
        if name == "sendmessage":
            chat_id = int(params["chat_id"])
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
            return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                    "from": self.bot_user(), "text": params.get("text", "")}
        return True

    def start(self) -> FakeTelegram:
        """Serve in the background thread; returns once the port accepts connections."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._thread.start()

        async def serve() -> None:
            assert self._runner is not None
            await self._runner.setup()
            await web.SockSite(self._runner, self._sock).start()

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what tests ask ------------------------------------------------------------------------------

    def called(self, method: str, where: Callable[[Call], bool] = lambda _: True) -> list[Call]:
        """Calls of one method (case-insensitive, as in the real API) that satisfy `where`."""
        with self._lock:
            calls = list(self.calls)
        # `where` runs outside the lock: it may itself ask (see sent_to), and the server thread must keep recording.
        return [c for c in calls if c.method.lower() == method.lower() and where(c)]

    def sent_to(self, chat_id: int) -> list[Call]:
        """sendMessage calls to one chat."""
        return self.called("sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat_id))

    def wait_for(
        self, method: str, where: Callable[[Call], bool] = lambda _: True, timeout: float = 30
    ) -> list[Call]:
        """Poll until at least one matching call arrived; the calls, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := self.called(method, where):
                return found
            time.sleep(0.1)
        raise TimeoutError(f"no {method} call matched within {timeout:.0f}s; calls: {self.calls}")
