"""The web chat channel: rasa-webchat served from the Rasa server's own port.

`WebChatInput` is Rasa's Socket.IO channel plus two routes under the same
blueprint, so everything lives under `/webhooks/web/`:

- `/webhooks/web/chat`: the chat page, which names the article(s) the bot knows;
- `/webhooks/web/static/...`: the vendored widget bundle, our script and styles.

Page, script and socket share one origin, so no CORS is involved and nothing is
fetched from a CDN. The widget renders bot text as Markdown, so answers are
sent as Markdown (lead, quoted source sentence as a block quote, citation) and
every piece of text that comes from the article or from the user is escaped
first: it shows up as the characters it is, never as markup.
"""

from __future__ import annotations

import html
import inspect
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

import rasa.shared.utils.io
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.packet import BINARY_ACK as _BINARY_ACK
from socketio.packet import BINARY_EVENT as _BINARY_EVENT

from channels.policy import screen
from channels.ratelimit import get_limiter
from knowledge.parse import Article, load_articles
from knowledge.settings import get_channel_settings, get_settings

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
PAGE_TEMPLATE = HERE / "templates" / "chat.html"

CHANNEL_NAME = "web"
BINARY_EVENT, BINARY_ACK = str(_BINARY_EVENT), str(_BINARY_ACK)  # the first character of such a packet
# The bot answers /greet with its greeting and three suggested questions; without an
# initPayload the widget sends an empty first message that NLU misreads.
INIT_PAYLOAD = "/greet"
# Only our own origin: the socket, the bundle and our script. The inline styles are the
# widget's style-loader <style> tags; data: fonts are its carousel's icon font. Any request to
# another host (such as a web font) is blocked, and so is any script that slipped into a
# message (inline or javascript: URL).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# A session id chosen by the browser becomes a tracker's sender id; keep it a plain token.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")

# The characters the widget's Markdown parser (remark-parse 5, gfm) lets a backslash escape.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*{}\[\]()#+\-.!_>~|])")


def escape_markdown(text: str) -> str:
    """Make text render as itself in the widget's Markdown, whatever it contains.

    `&` and `<` become entities (which the parser decodes back to the same
    characters), so no HTML, entity or `<autolink>` can form; every other Markdown
    sign gets a backslash, so no link, image, emphasis, list or quote can form.
    Line breaks are kept: the caller decides what they mean.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def blockquote(markdown: str) -> str:
    """Prefix every line, so a multi-line quote stays one block quote."""
    return "\n".join(f"> {line}".rstrip() for line in markdown.splitlines() or [""])


def render_answer(text: str, answer: Mapping[str, Any]) -> str:
    """Markdown for an answer: the lead in bold, the source sentence quoted, then the citation.

    An answer without a quote (nothing found, or a did-you-mean that lists two
    passages) is its plain text, escaped, since it may echo the user's own words,
    with one paragraph per line, since Markdown would run single lines together.
    """
    quote = str(answer.get("quote") or "").strip()
    if not answer.get("found") or not quote:
        return "\n\n".join(escape_markdown(line.strip()) for line in text.splitlines() if line.strip())
    parts = []
    lead = str(answer.get("lead") or "").strip()
    if lead and lead != quote:
        parts.append(f"**{escape_markdown(lead)}**")
    parts.append(blockquote(escape_markdown(quote)))
    citation = str(answer.get("citation") or "").strip()
    if citation:
        parts.append(f"*{escape_markdown(f'(Sumber: {citation})')}*")
    return "\n\n".join(parts)


def quick_replies(buttons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rasa buttons in the shape rasa-webchat draws as clickable quick replies."""
    return [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]


class WebChatOutput(SocketIOOutput):
    """Socket.IO output that renders answers (message metadata `answer`) as one Markdown bubble.

    Rasa hands the action's message metadata to these methods as keyword
    arguments; messages without `answer` (greetings, help, ...) go out unchanged.
    """

    @classmethod
    def name(cls) -> str:
        """Channel-specific responses in the domain can target `channel: web`."""
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """An answer without suggestions still gets its quote and citation."""
        answer = kwargs.get("answer")
        if not isinstance(answer, Mapping):
            await super().send_text_message(recipient_id, text, **kwargs)
            return
        await self._send_message(recipient_id, {"text": render_answer(text, answer)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """One bubble per answer, not one per paragraph, with the suggestions under it."""
        answer = kwargs.get("answer")
        if not isinstance(answer, Mapping):
            await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)
            return
        message = {"text": render_answer(text, answer), "quick_replies": quick_replies(buttons)}
        await self._send_message(recipient_id, message)


def article_summaries(directory: Path) -> list[Article]:
    """The articles the bot knows, read from the files (no model, no index); [] if unreadable.

    The page must still open when an article is broken; the action server is
    the one that refuses to start over it.
    """
    try:
        return load_articles(directory)
    except (OSError, ValueError, IndexError) as exc:
        logger.warning("Chat page: cannot read the articles in %s: %s", directory, exc)
        return []


def describe(article: Article) -> str:
    """`<cite>headline</cite> (source, year)`, escaped."""
    origin = ", ".join(p for p in (article.source, str(article.year) if article.year else None) if p)
    suffix = f' <span class="article-source">{html.escape(origin)}</span>' if origin else ""
    return f"<cite>{html.escape(article.headline)}</cite>{suffix}"


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` can end or alter it."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(articles: Sequence[Article], static_url: str, socket_path: str) -> str:
    """The chat page; every value is HTML-escaped (or script-JSON-escaped) before it goes in."""
    if len(articles) == 1:
        known = f'<p class="article">Artikel: {describe(articles[0])}</p>'
        title = f"Tanya Artikel: {html.escape(articles[0].headline)}"
    elif articles:
        items = "".join(f"<li>{describe(a)}</li>" for a in articles)
        known = f'<p class="article">Artikel yang diketahui bot:</p><ul class="articles">{items}</ul>'
        title = "Tanya Artikel"
    else:
        known = '<p class="article">Belum ada artikel.</p>'
        title = "Tanya Artikel"
    config = {
        "socketPath": socket_path,
        "initPayload": INIT_PAYLOAD,
    }
    return Template(PAGE_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=title,
        known=known,
        static=html.escape(static_url),
        config=script_json(config),
    )


async def _done(result: object) -> None:
    """Await `result` if it is awaitable.

    `AsyncServer.enter_room` is a plain function in python-socketio 5.9 (the
    pinned version) and a coroutine from 5.10 on. Rasa 3.6 calls it without
    `await`, which on 5.10+ silently never joins the room and breaks session
    persistence; this way it works on both.
    """
    if inspect.isawaitable(result):
        await result


def own_origins(environ: Mapping[str, Any]) -> set[str]:
    """The origins this request reached us under: the Host header, and a proxy's X-Forwarded-* view of it."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST", "")
    origins = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.add(f"{forwarded_scheme}://{forwarded_host}")
    return origins


def origin_check(allowed: Sequence[str]) -> Callable[[str | None, Mapping[str, Any]], bool]:
    """Socket.IO's origin test: the page's own origin, plus `WEB_ALLOWED_ORIGINS` ("*" allows any).

    Browsers send `Origin` with every socket request and page scripts cannot
    forge it, so this is what stops another site's page from talking to the bot
    in its visitors' name. A request without `Origin` is not from a browser page.
    """
    configured = {o.rstrip("/") for o in allowed}

    def check(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return True
        origin = origin.rstrip("/")
        return "*" in configured or origin in configured or origin in own_origins(environ)

    return check


def refuse_binary_packets(sio: AsyncServer) -> None:
    """Drop Socket.IO binary events and acks before python-socketio buffers them.

    python-socketio 5.9 keeps a binary packet whose attachments have not all
    arrived in memory, even after the client leaves (CVE-2026-48804): a client
    could fill the server's memory. The widget only sends text, so binary
    packets ("5..."/"6..." and their attachments) are never needed here.
    """
    handle = sio._handle_eio_message

    async def on_message(eio_sid: str, data: str | bytes) -> None:
        if isinstance(data, (bytes, bytearray)) or data[:1] in (BINARY_EVENT, BINARY_ACK):
            sio._binary_packet.pop(eio_sid, None)
            return
        await handle(eio_sid, data)

    sio.eio.on("message", on_message)


class WebChatInput(SocketIOInput):
    """Rasa's Socket.IO channel, plus the chat page and its static files under `/webhooks/web/`."""

    @classmethod
    def name(cls) -> str:
        """Rasa mounts the blueprint at `/webhooks/<name>/` and records it as the input channel."""
        return CHANNEL_NAME

    def get_output_channel(self) -> OutputChannel | None:
        """Our renderer also for messages Rasa sends outside a turn (reminders, external events)."""
        if self.sio is None:
            return super().get_output_channel()
        return WebChatOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket blueprint, with two of its handlers replaced and the page routes added.

        Rasa's message handler builds a `SocketIOOutput` inline, so it is replaced to
        use `WebChatOutput`; its session handler calls `enter_room` without awaiting it
        (see `_done`). Registering a handler again for an event replaces the old one.
        """
        bp = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by super().blueprint()
        # Rasa creates the server with cors_allowed_origins=[], which turns the Origin check off:
        # any web page could open a socket to the bot. Closed by default instead.
        sio.eio.cors_allowed_origins = origin_check(get_channel_settings().allowed_origins)
        refuse_binary_packets(sio)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if isinstance(requested, str) and SESSION_ID.fullmatch(requested) else None
            session_id = session_id or uuid.uuid4().hex
            if self.session_persistence:
                await _done(sio.enter_room(sid, session_id, namespace=self.namespace))
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {session_id}.")

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.fullmatch(sender_id):
                    rasa.shared.utils.io.raise_warning(
                        "A message without a valid session_id was received and ignored. "
                        "Set one with the `session_request` socketIO event."
                    )
                    return
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except json.JSONDecodeError:
                    metadata = {}
            output = WebChatOutput(sio, self.bot_message_evt)
            decision = get_limiter().check(f"{self.name()}:{sender_id}")
            if not decision.allowed:
                if decision.notify:
                    await output.send_text_message(sender_id, decision.reply)
                return
            screened = screen(data.get("message", ""))  # channels/policy.py: length, controls, slash commands
            if screened.reply is not None:
                await output.send_text_message(sender_id, screened.reply)
                return
            message = UserMessage(
                screened.text,
                output,
                sender_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await on_new_message(message)

        bp.static("/static", str(STATIC_DIR), name="web_static")
        socket_path = (self.socketio_path or "/socket.io").rstrip("/") + "/"

        @bp.route("/chat", methods=["GET"], name="web_chat_page")
        async def chat_page(request: Request) -> HTTPResponse:
            # /webhooks/web/chat -> /webhooks/web/static/, wherever Rasa mounted us.
            static_url = request.path.rstrip("/").rsplit("/", 1)[0] + "/static/"
            articles = article_summaries(get_settings().articles_dir)
            return response.html(render_page(articles, static_url, socket_path), headers=PAGE_HEADERS)

        return bp
