"""A hardened Telegram connector: Rasa 3.6's `TelegramInput` / `TelegramOutput`, fixed and finished.

Rasa 3.6.21's stock connector does not work with aiogram 2.15, and it is unsafe
even once it runs (see the DESIGN notes, "Telegram"):

- It creates the bot inside `asyncio.run()` at start-up, so aiogram's HTTP
  session is bound to a loop that is already closed: every update gets a 500.
  Here the bot is created once, lazily, inside the server's running loop.
- It never checks `X-Telegram-Bot-Api-Secret-Token`, so anyone who knows the URL
  can talk as any user. Here the webhook is registered with a secret token and
  every update without the same header is refused with 403 before it is parsed.
- It never answers callback queries (buttons keep spinning), raises on updates
  without a message (a 500 makes Telegram redeliver them forever) and merges
  everyone in a group into one conversation. All three are handled here.
- In groups it answers every message. Here a group message is answered only
  when it addresses the bot: it mentions @username (from getMe), replies to one
  of the bot's messages, or is a /command@username. Anything else gets 200 and
  goes nowhere (not to Rasa, no reply). Button presses on the bot's own
  messages count as addressed; private chats are unchanged.

Without a public URL, scripts/telegram_polling.py (`make telegram-polling`)
fetches updates with getUpdates and posts each one to this same webhook.

Settings come only from the environment, through `knowledge.settings`
(`TELEGRAM_TOKEN`, `TELEGRAM_VERIFY`, `TELEGRAM_WEBHOOK_URL`,
`TELEGRAM_SECRET_TOKEN`, `TELEGRAM_API_BASE`); `bot/credentials.yml` only names
this class, so no secret is ever committed.

**The channel is on only when `TELEGRAM_TOKEN` is set.** Without it the
connector creates no bot, registers no start-up listener and never calls the
Bot API; its routes answer 503 with a message naming the variable. That way
`credentials.yml` can list the channel for everyone while only the deployment
that owns a bot token talks to Telegram.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.core.channels.telegram import TelegramOutput as RasaTelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.policy import screen
from channels.ratelimit import get_limiter
from knowledge.settings import TELEGRAM_DEFAULT_API_BASE, TelegramSettings, get_telegram_settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Only what the connector handles; Telegram then does not even send the rest.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
CALLBACK_DATA_LIMIT = 64  # bytes, Bot API limit
MESSAGE_LIMIT = 4096  # characters, Bot API limit
SHORT_DATA_PREFIX = "~"  # marks callback_data that stands for a longer payload
DISABLED_REASON = "Telegram channel is off: set TELEGRAM_TOKEN (and TELEGRAM_WEBHOOK_URL) to turn it on."
# Telegram's own commands, as Rasa intents. "/start" is what every new user sends first.
COMMANDS = {"/start": "/greet", "/help": "/help"}
GROUP_CHATS = frozenset({"group", "supergroup"})
EXPIRED_BUTTON = "Tombol ini sudah kedaluwarsa. Ketik saja pertanyaannya."


# --- pieces that need no server: callback data, rendering, parsing updates ---------------------------


class CallbackData:
    """Turns button payloads into `callback_data` of at most 64 bytes, and back.

    Telegram rejects a whole message whose button data is longer than 64 bytes,
    and a suggested question easily is. Long payloads are sent as a short,
    deterministic key (so the same question always gets the same key and the
    store does not grow with repeats) and resolved from a bounded store.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        """The payload itself when it fits and cannot be mistaken for a key, else a short key."""
        if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not payload.startswith(SHORT_DATA_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode()).digest()[:12]
        key = SHORT_DATA_PREFIX + base64.urlsafe_b64encode(digest).decode()
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.capacity:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> str | None:
        """The payload behind `data`; None for a key this process no longer (or never) knew."""
        if not data.startswith(SHORT_DATA_PREFIX):
            return data
        return self._payloads.get(data)


class RecentIds:
    """A bounded set of update ids: Telegram redelivers an update it thinks timed out."""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def add(self, update_id: int) -> bool:
        """True the first time an id is seen."""
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


def _escape(text: str) -> str:
    """Telegram's HTML mode needs only &, < and > escaped; a stray `<` would make it reject the message."""
    return html.escape(text, quote=False)


def _pieces(text: str, limit: int) -> list[str]:
    """Cut text at whitespace so every piece, once escaped, has at most `limit` characters."""
    pieces: list[str] = []
    current = ""
    for token in re.split(r"(\s+)", text):
        if len(_escape(current + token)) <= limit:
            current += token
            continue
        if current.strip():
            pieces.append(current.strip())
        current = token.lstrip()
        while len(_escape(current)) > limit:  # one "word" longer than a message
            cut = limit // 5  # "&amp;" is the longest escape
            pieces.append(current[:cut])
            current = current[cut:]
    if current.strip():
        pieces.append(current.strip())
    return pieces


def render_html(text: str, answer: Mapping[str, Any] | None = None, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The reply as Telegram HTML messages, each within Telegram's length limit.

    With the action's `answer` metadata (knowledge.answer.Answer.to_dict()) a
    found answer is shown as its lead, the quoted source as a blockquote and the
    citation in italics. Anything else is the plain text, escaped.
    """
    blocks: list[tuple[str, str, str]] = []  # (opening tag, text, closing tag)
    quote = str(answer.get("quote") or "").strip() if isinstance(answer, Mapping) else ""
    if isinstance(answer, Mapping) and answer.get("found") and quote:
        lead = str(answer.get("lead") or "").strip()
        if lead and lead != quote:
            blocks.append(("", lead, ""))
        blocks.append(("<blockquote>", quote, "</blockquote>"))
        if answer.get("citation"):
            blocks.append(("<i>", f"Sumber: {answer['citation']}", "</i>"))
    elif text.strip():
        blocks.append(("", text.strip(), ""))
    parts = [
        f"{opening}{_escape(piece)}{closing}"
        for opening, body, closing in blocks
        for piece in _pieces(body, limit - len(opening) - len(closing))
    ]
    messages: list[str] = []
    for part in parts:
        if messages and len(messages[-1]) + 2 + len(part) <= limit:
            messages[-1] += "\n\n" + part
        else:
            messages.append(part)
    return messages


def chat_of(recipient_id: str | int) -> int | str:
    """The Telegram chat of a Rasa sender id: "<chat>" in private chats, "<chat>:<user>" in groups."""
    chat = str(recipient_id).partition(":")[0]
    return int(chat) if chat.lstrip("-").isdigit() else chat


def sender_id_for(chat: Mapping[str, Any], user: Mapping[str, Any] | None) -> str:
    """One conversation per person: the chat id in private chats, chat id + user id in groups.

    Private chats keep the stock connector's sender id (the chat id), so their
    existing conversations carry on.
    """
    if chat.get("type") in GROUP_CHATS and user and user.get("id") is not None:
        return f"{chat['id']}:{user['id']}"
    return str(chat["id"])


def bot_id_of(token: str | None) -> int | None:
    """The bot's user id is the part of its token before the colon."""
    left = (token or "").partition(":")[0]
    return int(left) if left.isdigit() else None


def addresses_bot(message: Mapping[str, Any], username: str | None, bot_id: int | None) -> bool:
    """Whether a group message is meant for the bot.

    It is when it mentions @username (as text or as a text_mention of the bot),
    replies to one of the bot's messages, or is a /command@username. A plain
    /command, which every bot in the group receives, is not.
    """
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    if username:
        name = re.escape(username)
        if re.search(rf"(?i)(?<![\w@])@{name}\b", text):
            return True
        if re.match(rf"(?i)^\s*/\w+@{name}\b", text):
            return True
    for entity in message.get("entities") or []:
        if isinstance(entity, Mapping) and entity.get("type") == "text_mention":
            mentioned = entity.get("user")
            if isinstance(mentioned, Mapping) and bot_id is not None and mentioned.get("id") == bot_id:
                return True
    replied = message.get("reply_to_message")
    if isinstance(replied, Mapping) and isinstance(replied.get("from"), Mapping):
        author = replied["from"]
        if bot_id is not None and author.get("id") == bot_id:
            return True
        if username and str(author.get("username") or "").lower() == username.lower():
            return True
    return False


@dataclass(frozen=True)
class Incoming:
    """What one Telegram update asks of the bot, independent of aiogram's types."""

    update_id: int | None
    chat_id: int
    chat_type: str
    sender_id: str
    user_id: int | None
    text: str | None = None
    message_id: int | None = None  # the user's message, to reply to in groups
    callback_query_id: str | None = None
    callback_data: str | None = None
    # data -> title of the inline keyboard the button was on, to resolve data this process forgot
    button_titles: dict[str, str] = field(default_factory=dict)
    # in a group: whether the message is meant for the bot (see addresses_bot); always True elsewhere
    addressed: bool = True


def clean_text(text: str, username: str | None) -> str:
    """Telegram commands as intents, and the bot's own @mention removed (groups need it, NLU does not)."""
    text = text.strip()
    if username:
        text = re.sub(rf"(?i)@{re.escape(username)}\b", "", text).strip()
    command, _, _ = text.partition(" ")
    command = command.split("@", 1)[0].lower()
    return COMMANDS.get(command, text)


def parse_update(
    update: Mapping[str, Any], username: str | None = None, bot_id: int | None = None
) -> Incoming | None:
    """The message, edited message or button press in an update; None for anything else.

    A group message carries `addressed=False` unless it is meant for the bot
    (`addresses_bot`); button presses (only ever on the bot's own messages) are addressed.

    Updates of other kinds (my_chat_member, channel posts, ...) and messages without
    text (stickers, photos) give None, so the webhook answers 200 and Telegram
    does not redeliver them.
    """
    update_id = update.get("update_id") if isinstance(update.get("update_id"), int) else None
    callback = update.get("callback_query")
    if isinstance(callback, Mapping):
        user = callback.get("from") if isinstance(callback.get("from"), Mapping) else None
        message = callback.get("message") if isinstance(callback.get("message"), Mapping) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), Mapping) else None
        if chat is None:  # a button under an inline-mode message: answer the presser privately
            if not user or not isinstance(user.get("id"), int):
                return None
            chat = {"id": user["id"], "type": "private"}
        if not isinstance(chat.get("id"), int) or not isinstance(callback.get("id"), str):
            return None
        markup = message.get("reply_markup") if isinstance(message.get("reply_markup"), Mapping) else {}
        titles = {
            str(b["callback_data"]): str(b.get("text", ""))
            for row in markup.get("inline_keyboard") or []
            if isinstance(row, list)
            for b in row
            if isinstance(b, Mapping) and b.get("callback_data")
        }
        data = callback.get("data")
        return Incoming(
            update_id=update_id, chat_id=chat["id"], chat_type=str(chat.get("type", "")),
            sender_id=sender_id_for(chat, user), user_id=user.get("id") if user else None,
            callback_query_id=callback["id"], callback_data=data if isinstance(data, str) else None,
            button_titles=titles,
        )
    message = update.get("message") or update.get("edited_message")
    if not isinstance(message, Mapping):
        return None
    chat = message.get("chat")
    text = message.get("text")
    if not isinstance(chat, Mapping) or not isinstance(chat.get("id"), int) or not isinstance(text, str):
        return None
    user = message.get("from") if isinstance(message.get("from"), Mapping) else None
    chat_type = str(chat.get("type", ""))
    return Incoming(
        update_id=update_id, chat_id=chat["id"], chat_type=chat_type,
        sender_id=sender_id_for(chat, user), user_id=user.get("id") if user else None,
        text=clean_text(text, username) or None,
        message_id=message.get("message_id") if isinstance(message.get("message_id"), int) else None,
        addressed=chat_type not in GROUP_CHATS or addresses_bot(message, username, bot_id),
    )


# --- output ---------------------------------------------------------------------------------------------


class TelegramOutput(RasaTelegramOutput):
    """Sends Rasa's replies as Telegram HTML, with buttons as an inline keyboard.

    Rasa hands the action's message metadata to `send_text_message` /
    `send_text_with_buttons` as keyword arguments; `answer` (the structured
    reply) is rendered as lead, blockquote and citation.
    """

    def __init__(
        self, access_token: str, api_base: str = TELEGRAM_DEFAULT_API_BASE, callbacks: CallbackData | None = None
    ) -> None:
        # Skip the stock __init__: it cannot take an API server, and tests (or a local Bot API
        # server) need one. aiogram opens its HTTP session on the first request, in that caller's loop.
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_base))
        self.callbacks = callbacks or CallbackData()
        self._reply_to: OrderedDict[str, int] = OrderedDict()

    def remember_reply_target(self, sender_id: str, message_id: int) -> None:
        """In a group, answers quote the asker's message, so it is clear whom they answer."""
        self._reply_to[sender_id] = message_id
        self._reply_to.move_to_end(sender_id)
        while len(self._reply_to) > 4096:
            self._reply_to.popitem(last=False)

    def keyboard(self, buttons: list[dict[str, Any]]) -> InlineKeyboardMarkup:
        """One button per row: suggested questions are long, and a row of three would cut them off.

        The 👍/👎 pair is the exception: short, and side by side as readers expect.
        """
        markup = InlineKeyboardMarkup(row_width=1)
        ratings: list[InlineKeyboardButton] = []
        for button in buttons:
            title = str(button.get("title") or button.get("payload") or "")
            if button.get("url"):
                markup.row(InlineKeyboardButton(title, url=str(button["url"])))
                continue
            payload = str(button.get("payload") or title)
            key = InlineKeyboardButton(title, callback_data=self.callbacks.encode(payload))
            if payload.startswith("/feedback"):
                ratings.append(key)
                if len(ratings) == 2:
                    markup.row(*ratings)
                    ratings = []
            else:
                markup.row(key)
        if ratings:
            markup.row(*ratings)
        return markup

    async def _send(self, recipient_id: str, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
        reply_to = self._reply_to.get(str(recipient_id)) if ":" in str(recipient_id) else None
        await self.send_message(
            chat_of(recipient_id), text, parse_mode="HTML", reply_markup=reply_markup,
            disable_web_page_preview=True, reply_to_message_id=reply_to,
            allow_sending_without_reply=True if reply_to else None,
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One message (not one per paragraph, as the stock channel does), split only past 4096 characters."""
        for part in render_html(text, kwargs.get("answer")):
            await self._send(recipient_id, part)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        button_type: str | None = "inline",
        **kwargs: Any,
    ) -> None:
        """The reply with its buttons as an inline keyboard under the last part.

        Every `button_type` becomes an inline keyboard: a reply keyboard would put
        the questions in the user's input field for good, which suits no reply here.
        """
        parts = render_html(text, kwargs.get("answer")) or [_escape(text) or "…"]
        for part in parts[:-1]:
            await self._send(recipient_id, part)
        await self._send(recipient_id, parts[-1], reply_markup=self.keyboard(buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Group sender ids are "<chat>:<user>"; Telegram needs the chat."""
        await super().send_image_url(str(chat_of(recipient_id)), image, **kwargs)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Group sender ids are "<chat>:<user>"; Telegram needs the chat."""
        await super().send_custom_json(str(chat_of(recipient_id)), json_message, **kwargs)


# --- input ----------------------------------------------------------------------------------------------


def webhook_secret(settings: TelegramSettings) -> str:
    """TELEGRAM_SECRET_TOKEN, or one derived from the bot token when it is unset.

    Deriving it (HMAC of the token) keeps the webhook authenticated even when
    nobody set a secret, and every replica (and the polling script) derives the same one.
    """
    if settings.secret_token:
        return settings.secret_token
    key = (settings.token or "").encode()
    return hmac.new(key, b"tanya-artikel telegram webhook", hashlib.sha256).hexdigest()


def _text(body: str, status: int) -> HTTPResponse:
    return response.text(body, status=status)


class TelegramInput(RasaTelegramInput):
    """Telegram webhook at /webhooks/telegram/webhook, configured from the environment.

    Name it in credentials.yml as `channels.telegram.TelegramInput:` with no keys.
    Off (routes answer 503, no Bot API call ever) while TELEGRAM_TOKEN is unset.
    """

    def __init__(self, settings: TelegramSettings) -> None:
        # debug_mode=False: a failing update must not become a 500, or Telegram redelivers it forever.
        super().__init__(settings.token, settings.verify, settings.webhook_url, debug_mode=False)
        self.settings = settings
        self.username: str | None = settings.verify
        self.refusal: str | None = None  # set at start-up when the token belongs to another bot
        self.webhook_registered = False
        self._output: TelegramOutput | None = None
        self._seen = RecentIds()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        """Settings come from the environment; keys in credentials.yml are ignored, loudly."""
        if credentials:
            logger.warning(
                "channels.telegram ignores %s in credentials.yml; set TELEGRAM_TOKEN, TELEGRAM_VERIFY, "
                "TELEGRAM_WEBHOOK_URL and TELEGRAM_SECRET_TOKEN in the environment instead",
                ", ".join(sorted(credentials)),
            )
        settings = get_telegram_settings()
        if not settings.enabled:
            logger.info(DISABLED_REASON)
        return cls(settings)

    @property
    def webhook_secret(self) -> str:
        """TELEGRAM_SECRET_TOKEN, or one derived from the bot token when it is unset (see `webhook_secret`)."""
        return webhook_secret(self.settings)

    def get_output_channel(self) -> TelegramOutput | None:  # type: ignore[override]
        """The one output channel, created on first use, which is always inside the server's loop.

        None while the channel is off: Rasa then falls back to collecting the
        messages (e.g. for /trigger_intent?output_channel=telegram).
        """
        if not self.settings.enabled or self.settings.token is None:
            return None
        if self._output is None:
            self._output = TelegramOutput(self.settings.token, self.settings.api_base)
        return self._output

    async def start_up(self) -> None:
        """Check the token against TELEGRAM_VERIFY, then register the webhook with its secret.

        aiogram 2.15's `set_webhook` has no `secret_token`, hence the raw request.
        A failure is logged, not raised: the REST and web channels keep working.
        """
        bot = self.get_output_channel()
        if bot is None:
            return
        try:
            me = await bot.get_me()
        except Exception as exc:  # an unreachable API must not take the other channels down
            logger.error("Telegram getMe failed (%s); is TELEGRAM_TOKEN right and the API reachable?", exc)
            return
        if self.settings.verify and (me.username or "").lower() != self.settings.verify.lower():
            # Registering our webhook with somebody else's token would steal their bot's updates.
            self.refusal = (
                f"TELEGRAM_TOKEN belongs to @{me.username}, not @{self.settings.verify} (TELEGRAM_VERIFY); "
                "the webhook was not registered and updates are refused"
            )
            logger.error(self.refusal)
            return
        self.username = me.username or self.username
        if not self.settings.webhook_url:
            logger.warning(
                "TELEGRAM_WEBHOOK_URL is not set, so no webhook was registered. Register it yourself with "
                "secret_token=TELEGRAM_SECRET_TOKEN, or updates will be refused with 403."
            )
            return
        try:
            await bot.request("setWebhook", {
                "url": self.settings.webhook_url,
                "secret_token": self.webhook_secret,
                "allowed_updates": json.dumps(list(ALLOWED_UPDATES)),
            })
        except Exception as exc:
            logger.error("Telegram setWebhook to %s failed: %s", self.settings.webhook_url, exc)
            return
        self.webhook_registered = True
        logger.info("Telegram webhook registered for @%s at %s", self.username, self.settings.webhook_url)

    async def shut_down(self) -> None:
        """Close aiogram's HTTP session while its loop still runs (else: 'Unclosed client session')."""
        if self._output is not None:
            await self._output.session.close()
            self._output = None

    def secret_matches(self, request: Request) -> bool:
        """Constant-time comparison, so the secret cannot be guessed byte by byte from timings."""
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), self.webhook_secret.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes under /webhooks/telegram/: GET / (status) and POST /webhook (updates)."""
        telegram_webhook = Blueprint("telegram_webhook", __name__)

        if not self.settings.enabled:

            @telegram_webhook.route("/", methods=["GET"])
            async def disabled_health(_: Request) -> HTTPResponse:
                return response.json({"status": "disabled", "reason": DISABLED_REASON}, status=503)

            @telegram_webhook.route("/webhook", methods=["GET", "POST"])
            async def disabled_webhook(_: Request) -> HTTPResponse:
                return _text(DISABLED_REASON, 503)

            return telegram_webhook

        @telegram_webhook.listener("after_server_start")
        async def register_webhook(*_: Any) -> None:
            await self.start_up()

        @telegram_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await self.shut_down()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            status = "refused" if self.refusal else "ok"
            return response.json({"status": status, "webhook_registered": self.webhook_registered})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return telegram_webhook

    async def handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """One update. Always 200 once authenticated and parsed, so Telegram never redelivers it."""
        if not self.secret_matches(request):
            logger.warning("Telegram update refused: wrong or missing %s", SECRET_HEADER)
            return _text(f"forbidden: wrong or missing {SECRET_HEADER}", 403)
        if self.refusal:
            return _text(self.refusal, 503)
        try:
            update = json.loads(request.body or b"")
        except ValueError:
            return _text("bad request: the body is not JSON", 400)
        if not isinstance(update, dict):
            return _text("bad request: an update is a JSON object", 400)
        update_id = update.get("update_id")
        if isinstance(update_id, int) and not self._seen.add(update_id):
            return _text("duplicate", 200)
        incoming = parse_update(update, self.username, bot_id_of(self.settings.token))
        if incoming is None:
            logger.debug("Telegram update %s ignored: no text message or button in it", update_id)
            return _text("ignored", 200)
        if not incoming.addressed:
            logger.debug("Telegram update %s ignored: a group message not addressed to the bot", update_id)
            return _text("ignored", 200)
        bot = self.get_output_channel()
        assert bot is not None  # the channel is on, or this route would not exist
        decision = get_limiter().check(f"{self.name()}:{incoming.sender_id}")
        if not decision.allowed:  # 200 all the same: Telegram would only redeliver the flood
            if decision.notify:
                try:
                    await bot.send_text_message(incoming.sender_id, decision.reply)
                except Exception:
                    logger.exception("Telegram reply to update %s failed", incoming.update_id)
            return _text("rate limited", 200)
        text = incoming.text
        if incoming.callback_query_id is not None:
            text = await self.press_button(bot, incoming)
        if not text:
            return _text("ignored", 200)
        if incoming.message_id is not None and incoming.chat_type in GROUP_CHATS:
            bot.remember_reply_target(incoming.sender_id, incoming.message_id)
        screened = screen(text)  # channels/policy.py: length, controls, slash commands
        if screened.reply is not None:
            try:
                await bot.send_text_message(incoming.sender_id, screened.reply)
            except Exception:
                logger.exception("Telegram reply to update %s failed", incoming.update_id)
            return _text("success", 200)
        text = screened.text
        metadata = {"telegram": {
            "update_id": incoming.update_id, "chat_id": incoming.chat_id, "chat_type": incoming.chat_type,
            "user_id": incoming.user_id, "message_id": incoming.message_id,
        }}
        try:
            await on_new_message(
                UserMessage(text, bot, incoming.sender_id, input_channel=self.name(), metadata=metadata)
            )
        except Exception:
            logger.exception("Telegram update %s from %s failed", incoming.update_id, incoming.sender_id)
        return _text("success", 200)

    async def press_button(self, bot: TelegramOutput, incoming: Incoming) -> str | None:
        """Stop the button's spinner first, then the button's payload is what the user said.

        A short key this process does not know (it restarted, or another replica
        made it) falls back to the button's title, which the update carries.
        """
        data = incoming.callback_data or ""
        text = bot.callbacks.decode(data) if data else None
        if text is None and data:
            text = incoming.button_titles.get(data) or None
        try:
            await bot.answer_callback_query(incoming.callback_query_id, text=None if text else EXPIRED_BUTTON)
        except Exception as exc:  # an expired query (older than ~15 min) must not lose the user's message
            logger.warning("Telegram answerCallbackQuery failed: %s", exc)
        return text
