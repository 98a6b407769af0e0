"""What a user's message may contain before it reaches Rasa; shared by the REST, web and Telegram channels.

Every channel screens the raw text with `screen()` and then either passes the
cleaned text on to Rasa or answers directly with the Indonesian reply it gives.
One module, so the three channels cannot drift apart.

- **Cleaning.** Text is NFC-normalised; control characters, lone surrogates
  (JSON lets a client send `"\\ud800"`, which later fails to encode as UTF-8),
  bidirectional overrides (which can make a reply display differently from what
  it says) and byte-order marks are removed; runs of whitespace become one space.
  Emoji, Arabic and every other script are left alone.
- **Length.** Questions about an article are short. A message of more than
  `MAX_MESSAGE_CHARS` characters is not truncated, since cutting a question
  changes what it asks; the user is told to ask something shorter. (The REST
  channel also refuses bodies over `MAX_BODY_BYTES` with 413 before parsing.)
- **Empty.** A message with nothing left after cleaning gets a prompt to type
  a question, instead of NLU guessing an intent for an empty string. One of
  punctuation only ("?!...") gets the domain's "did not understand" text
  (`utter_default`): no letter, digit or emoji, nothing to understand.
- **Slash commands.** Rasa reads `/intent{"entity": value}` as a ready-made
  intent with entities, skipping NLU. Users may trigger only what our own
  buttons and channels send: `/greet` (the web chat's first message, Telegram's
  /start), `/help` (Telegram's /help) and `/choose_passage{"article": ...,
  "paragraph": ...}` (did-you-mean buttons) and `/choose_article{"article":
  ...}` (article buttons) and `/feedback{"rating": "up"|"down"}` (👍/👎), with entities checked. Anything
  else that starts with "/" (`/restart`, `/session_start`, `/ask_article{...}`)
  is read as plain text, without the slash. Entities cannot set slots anyway:
  every slot in bot/domain.yml has only a `custom` mapping, so only our actions
  set them (tests/test_policy.py checks this against Rasa's slot extraction).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 1000
MAX_BODY_BYTES = 64 * 1024  # a 1000-character message is at most 4 KB of UTF-8, or 12 KB as \u escapes
MAX_SENDER_CHARS = 128

EMPTY_REPLY = "Pesannya kosong. Silakan ketik pertanyaan tentang isi artikel."
# The domain's utter_default: the channel cannot render domain responses, so the text is repeated here.
NO_WORDS_REPLY = "Maaf, saya belum paham maksudnya. Coba tanyakan dengan kalimat lain tentang isi artikelnya."
TOO_LONG_REPLY = (
    f"Maaf, pesannya terlalu panjang (lebih dari {MAX_MESSAGE_CHARS} karakter). "
    "Tanyakan satu hal saja dengan kalimat yang lebih pendek."
)

# Intents a user may trigger directly with "/", and the entities each may carry.
USER_INTENTS: dict[str, frozenset[str]] = {
    "greet": frozenset(),
    "help": frozenset(),
    "choose_passage": frozenset({"article", "paragraph"}),
    "choose_article": frozenset({"article"}),
    "feedback": frozenset({"rating"}),
}
_SLASH = re.compile(r"/(?P<intent>[A-Za-z_][A-Za-z0-9_]*)(?P<entities>\{.*\})?", re.DOTALL)
_ARTICLE_ID = re.compile(r"[\w.-]{1,100}")
_MAX_PARAGRAPH = 10_000

# Bidirectional embeddings, overrides, isolates and marks, plus the byte-order mark.
_INVISIBLE = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff")


@dataclass(frozen=True)
class Screened:
    """The outcome of screening: exactly one of `text` (pass to Rasa) and `reply` (answer directly) is set."""

    text: str | None = None
    reply: str | None = None


def clean(text: str) -> str:
    """The text without invisible or unencodable characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace():
            kept.append(" ")
        elif category in ("Cc", "Cs") or char in _INVISIBLE or char in "\ufffe\uffff":
            continue
        else:
            kept.append(char)
    return re.sub(r" {2,}", " ", "".join(kept)).strip()


def _json_object(raw: str | None) -> dict[str, object] | None:
    """The `{...}` after a slash command as a dict, or None when it is missing, not JSON or not an object."""
    if not raw:
        return None
    try:
        entities = json.loads(raw)
    except ValueError:
        return None
    return entities if isinstance(entities, dict) else None


def _choose_passage_entities(raw: str | None) -> str | None:
    """`{"article": ..., "paragraph": n}` re-serialised, or None when it is not what our buttons send."""
    entities = _json_object(raw)
    if entities is None or not set(entities) <= USER_INTENTS["choose_passage"]:
        return None
    paragraph = entities.get("paragraph")
    if isinstance(paragraph, str) and paragraph.isdigit():
        paragraph = int(paragraph)
    if not isinstance(paragraph, int) or isinstance(paragraph, bool) or not 0 < paragraph <= _MAX_PARAGRAPH:
        return None
    article = entities.get("article", "")
    if not isinstance(article, str) or (article and not _ARTICLE_ID.fullmatch(article)):
        return None
    return json.dumps({"article": article, "paragraph": paragraph} if article else {"paragraph": paragraph})


def _choose_article_entities(raw: str | None) -> str | None:
    """`{"article": id}` (or "*" for all articles) re-serialised, or None when it is not what our buttons send."""
    entities = _json_object(raw)
    if entities is None or set(entities) != {"article"}:
        return None
    article = entities["article"]
    if not isinstance(article, str) or not (article == "*" or _ARTICLE_ID.fullmatch(article)):
        return None
    return json.dumps({"article": article})


def _feedback_entities(raw: str | None) -> str | None:
    """`{"rating": "up"|"down"}` re-serialised, or None when it is not what the 👍/👎 buttons send."""
    entities = _json_object(raw)
    if entities is None or set(entities) != {"rating"} or entities["rating"] not in ("up", "down"):
        return None
    return json.dumps(entities)


def slash_command(text: str) -> str:
    """An allowed `/intent` in the exact form our buttons send, or the text as plain words.

    `/greet{"last_question": "x"}` becomes `/greet` (greet takes no entities);
    `/restart` becomes `restart`, which NLU reads like any other words.
    """
    if not text.startswith("/"):
        return text
    match = _SLASH.fullmatch(text)
    intent = match.group("intent") if match else None
    if match and intent in USER_INTENTS:
        if intent == "choose_passage":
            entities = _choose_passage_entities(match.group("entities"))
            if entities is not None:
                return f"/{intent}{entities}"
        elif intent == "choose_article":
            entities = _choose_article_entities(match.group("entities"))
            if entities is not None:
                return f"/{intent}{entities}"
        elif intent == "feedback":
            entities = _feedback_entities(match.group("entities"))
            if entities is not None:
                return f"/{intent}{entities}"
        else:
            return f"/{intent}"
    return text.lstrip("/").strip()


def screen(raw: object) -> Screened:
    """Clean a user's message and decide: pass it to Rasa, or answer it here."""
    if isinstance(raw, str) and len(raw) > 4 * MAX_MESSAGE_CHARS:  # too long even if mostly whitespace
        return Screened(reply=TOO_LONG_REPLY)
    text = clean(raw) if isinstance(raw, str) else ""
    if len(text) > MAX_MESSAGE_CHARS:
        return Screened(reply=TOO_LONG_REPLY)
    text = slash_command(text)
    if not text:
        return Screened(reply=EMPTY_REPLY)
    if not any(char.isalnum() or unicodedata.category(char) == "So" for char in text):
        return Screened(reply=NO_WORDS_REPLY)  # "?!..." : NLU would guess an intent (it guessed "thanks")
    return Screened(text=text)


def valid_sender(sender: object) -> str | None:
    """A REST sender id as a string, or None when it is missing, empty, too long or unprintable.

    Rasa's stock REST channel files every message without `sender` under one
    shared conversation called "default"; we refuse it instead.
    """
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str):
        return None
    sender = sender.strip()
    if not sender or len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        return None
    return sender
