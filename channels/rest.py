"""The REST channel (`POST /webhooks/rest/webhook`), with the input checks of `channels.policy`.

Rasa's stock `RestInput` answers 500 to a body that is not JSON, files
messages without `sender` under one shared conversation called "default",
passes any `/intent{...}` straight to the dialogue and takes any length. This
subclass keeps its name ("rest", so the URL is unchanged), its response format
(a JSON list of messages) and its `?stream=true` mode, and checks the request
first:

| request                                              | answer |
|------------------------------------------------------|--------|
| body over `MAX_BODY_BYTES` (64 KiB)                   | 413 |
| body not JSON (or not UTF-8), or not a JSON object   | 400 |
| `sender` missing, empty, not a string/int, > 128 chars, unprintable | 400 |
| one `sender` over the rate limit (channels/ratelimit.py) | 429, `Retry-After`, Indonesian reason |
| `message` missing or not a string; `metadata` not an object | 400 |
| message empty after cleaning, or > 1000 characters   | 200, an Indonesian reply, Rasa not involved |
| anything else                                        | 200, Rasa's reply to the cleaned text |

The client-supplied `input_channel` of the stock channel is ignored: replies
are always rendered for "rest".
"""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from channels.policy import MAX_BODY_BYTES, screen, valid_sender
from channels.ratelimit import get_limiter

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class RestInput(RasaRestInput):
    """Rasa's REST channel behind the shared input policy."""

    @classmethod
    def name(cls) -> str:
        """Keeps the URL /webhooks/rest/webhook and the channel name clients and the domain know."""
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / (health) and POST /webhook, like the stock channel, with the request checked first."""
        bp = Blueprint("rest_webhook_checked", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            return await self.receive(request, on_new_message)

        return bp

    async def receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> ResponseStream | HTTPResponse:
        """One message: refuse what is malformed, answer what is empty or too long, pass on the rest."""
        body = request.body or b""
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        try:
            payload = json.loads(body)
        except ValueError:  # also UnicodeDecodeError: bytes that are not UTF-8
            return _error(400, "the body must be JSON (UTF-8): {\"sender\": \"...\", \"message\": \"...\"}")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object")
        sender = valid_sender(payload.get("sender"))
        if sender is None:
            return _error(400, "`sender` is required: a non-empty string of at most 128 printable characters")
        decision = get_limiter().check(f"{self.name()}:{sender}")
        if not decision.allowed:
            return response.json(
                {"error": decision.reply}, status=429, headers={"Retry-After": str(decision.retry_after)}
            )
        message = payload.get("message")
        if not isinstance(message, str):
            return _error(400, "`message` is required and must be a string")
        metadata = payload.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _error(400, "`metadata` must be a JSON object")
        screened = screen(message)
        if screened.reply is not None:
            return response.json([{"recipient_id": sender, "text": screened.reply}])
        text = screened.text
        assert text is not None

        if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
            return response.stream(
                self.stream_response(on_new_message, text, sender, self.name(), metadata),
                content_type="text/event-stream",
            )
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        except CancelledError:
            logger.error("REST message from %s timed out", sender)
        except Exception:
            logger.exception("REST message from %s failed", sender)
        return response.json(collector.messages)
