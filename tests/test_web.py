"""The web chat channel: its rendering in Python, then the real page in Debian's Chromium.

The browser tests drive `/webhooks/web/chat` on the session's real Rasa and
action servers through Python Playwright, with the system Chromium (never a
browser downloaded by `playwright install`). Each test opens its own browser
context, so each one is a fresh profile with its own localStorage and session.

Set `WEB_CHAT_SCREENSHOT=docs/web-chat.png` to also refresh the screenshot in the README and docs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from serve import Servers

from channels.web import WebChatInput, WebChatOutput, _done, escape_markdown, render_answer
from knowledge.parse import load_articles
from knowledge.settings import ROOT, get_settings
from tests.tracker_events import wait_for_slot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# The first answer of a session can wait for the action server's first embedding.
ANSWER_MS = 60_000
PAGE_MS = 30_000

WHO = "Siapa yang menerima predikat WBK?"
WHO_ANSWER = "Balai Besar Pengujian Perangkat Telekomunikasi"
HOW_MANY = "Berapa unit kerja yang diusulkan?"
HOW_MANY_ANSWER = "3.691"

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a thread of its own: Playwright's sync API owns this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class FakeSio:
    """Records what an output channel emits, instead of a Socket.IO server."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str | None]] = []

    async def emit(self, event: str, data: Any = None, room: str | None = None, **_: Any) -> None:
        self.emitted.append((event, data, room))


ANSWER = {
    "found": True, "text": "ignored", "lead": "3.691 unit kerja yang diusulkan.",
    "quote": "Pada tahun 2020 terdapat 3.691 unit kerja yang diusulkan.", "citation": "paragraf 10, ANTARA 2020",
}
# Everything here must show up as these very characters, and nothing else.
HOSTILE = {
    "found": True, "lead": "**tebal** <b>x</b> &lt;i&gt; 1. daftar",
    "quote": "[klik](javascript:window.__xss='md') ![gambar](x) <img src=x onerror=\"window.__xss='img'\"> `kode` # h",
    "citation": "paragraf 1, <ANTARA> & _co_",
}
HOSTILE_BUTTONS = [{"title": "<img src=x onerror=\"window.__xss='button'\">", "payload": "Apa itu WBBM?"}]
# Runs before the page's scripts (through the DevTools protocol, so the page's CSP does not apply).
SOCKET_SPY = """
window.__sockets = []; window.__frames = [];
window.WebSocket = class extends window.WebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
  send(data) { window.__frames.push(data); return super.send(data); }
};
"""


# --- rendering, no browser ---------------------------------------------------------------------


def test_escape_markdown_backslashes_markdown_and_entity_encodes_html() -> None:
    assert escape_markdown("3.691 *a* [b](c) <i> & _d_") == r"3\.691 \*a\* \[b\]\(c\) &lt;i\> &amp; \_d\_"


def test_answer_is_one_bubble_lead_quote_citation_with_quick_replies() -> None:
    sio = FakeSio()
    buttons = [{"title": "Apa itu WBBM?", "payload": "Apa itu WBBM?"}]
    run_async(WebChatOutput(sio, "bot_uttered").send_text_with_buttons("s1", "x\n\ny", buttons, answer=ANSWER))  # type: ignore[arg-type]
    assert sio.emitted == [(
        "bot_uttered",
        {
            "text": "**3\\.691 unit kerja yang diusulkan\\.**\n\n"
            "> Pada tahun 2020 terdapat 3\\.691 unit kerja yang diusulkan\\.\n\n"
            "*\\(Sumber: paragraf 10, ANTARA 2020\\)*",
            "quick_replies": [{"content_type": "text", "title": "Apa itu WBBM?", "payload": "Apa itu WBBM?"}],
        },
        "s1",
    )]


def test_not_found_answer_is_its_escaped_text() -> None:
    text = "Maaf, artikel ini tidak membahas soal *liga* [inggris](x)."
    rendered = render_answer(text, {"found": False, "quote": None})
    assert rendered == r"Maaf, artikel ini tidak membahas soal \*liga\* \[inggris\]\(x\)\."


def test_did_you_mean_keeps_one_line_per_passage() -> None:
    """A tie lists two passages on separate lines, as `1. ...`, which must not turn into a Markdown list."""
    text = "Maksud Anda yang mana?\n1. Unit kerja Kominfo (paragraf 2)\n2. Pada tahun 2020 (paragraf 10)"
    rendered = render_answer(text, {"found": True, "quote": None, "choices": [{"title": "a", "payload": "/x"}]})
    assert rendered.split("\n\n") == [
        "Maksud Anda yang mana?", r"1\. Unit kerja Kominfo \(paragraf 2\)", r"2\. Pada tahun 2020 \(paragraf 10\)",
    ]


def test_messages_without_answer_metadata_go_out_as_rasa_sends_them() -> None:
    """Greetings and help come from the domain: our own text, split per paragraph like stock socketio."""
    sio = FakeSio()
    out = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    run_async(out.send_text_with_buttons("s1", "Halo!\n\nTanya *apa* saja.", [{"title": "A", "payload": "A"}]))
    run_async(out.send_text_message("s1", "Sampai jumpa."))
    assert [data for _, data, _ in sio.emitted] == [
        {"text": "Halo!", "quick_replies": []},
        {"text": "Tanya *apa* saja.", "quick_replies": [{"content_type": "text", "title": "A", "payload": "A"}]},
        {"text": "Sampai jumpa."},
    ]


def test_answer_without_buttons_still_renders_quote_and_citation() -> None:
    sio = FakeSio()
    run_async(WebChatOutput(sio, "bot_uttered").send_text_message("s1", "x", answer=ANSWER))  # type: ignore[arg-type]
    assert sio.emitted[0][1]["text"].startswith("**3\\.691")
    assert "> Pada tahun" in sio.emitted[0][1]["text"]


def test_done_accepts_plain_results_and_coroutines() -> None:
    """enter_room is a plain call in python-socketio 5.9 and a coroutine from 5.10."""
    joined: list[str] = []

    async def enter_async(room: str) -> None:
        joined.append(room)

    run_async(_done(None))
    run_async(_done(enter_async("a")))
    assert joined == ["a"]


def test_session_request_joins_the_room_and_confirms(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replaced handler works whether enter_room is sync (5.9, pinned) or async (5.10+)."""
    channel = WebChatInput(session_persistence=True)

    async def on_message(_: Any) -> None:
        return None

    channel.blueprint(on_message)
    sio = channel.sio
    assert sio is not None
    rooms: list[tuple[str, str]] = []
    emitted: list[tuple[str, Any, Any]] = []

    async def enter_room(sid: str, room: str, namespace: str | None = None) -> None:
        rooms.append((sid, room))

    async def emit(event: str, data: Any = None, room: Any = None, **_: Any) -> None:
        emitted.append((event, data, room))

    monkeypatch.setattr(sio, "enter_room", enter_room)
    monkeypatch.setattr(sio, "emit", emit)
    handler = sio.handlers["/"]["session_request"]
    run_async(handler("sid-1", {"session_id": "abc123"}))
    run_async(handler("sid-2", {"session_id": {"not": "a string"}}))
    assert rooms[0] == ("sid-1", "abc123")
    assert emitted[0] == ("session_confirm", "abc123", "sid-1")
    assert rooms[1][0] == "sid-2" and len(rooms[1][1]) == 32  # a fresh uuid4 hex, not the dict


# --- the page in Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (`make system-deps` installs it), headless, once per module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make system-deps` (Debian packages chromium, chromium-driver)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile: empty localStorage, so a new chat session."""
    ctx = browser.new_context(viewport={"width": 900, "height": 1000}, locale="id-ID")
    yield ctx
    ctx.close()


@pytest.fixture
def chat_url(servers: Servers) -> str:
    return servers.rasa_url + "/webhooks/web/chat"


class Chat:
    """One chat page, with what the tests wait for and what must never happen on it."""

    def __init__(self, context: BrowserContext, url: str) -> None:
        self.url = url
        self.origin = url.split("/webhooks/")[0]
        self.page: Page = context.new_page()
        self.foreign_requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", self._on_request)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._on_dialog)

    def _on_request(self, request: Any) -> None:
        if not request.url.startswith((self.origin + "/", "data:")):
            self.foreign_requests.append(request.url)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def responses(self) -> Locator:
        """Bot bubbles (the typing indicator is one too, until the message replaces it)."""
        return self.page.locator(".rw-response")

    @property
    def questions(self) -> Locator:
        return self.page.locator(".rw-client")

    @property
    def replies(self) -> Locator:
        """Quick-reply buttons; the widget shows only those of the latest bot message."""
        return self.page.locator(".rw-reply")

    def open(self) -> Chat:
        """Load the page and wait for the greeting and its three suggested questions."""
        self.page.goto(self.url)
        expect(self.responses.first).to_contain_text("Halo", timeout=ANSWER_MS)
        expect(self.replies).to_have_count(3, timeout=ANSWER_MS)
        return self

    def ask(self, question: str, expected: str) -> Locator:
        """Type a question, press Enter, and return the bot's reply once it contains `expected`."""
        before = self.responses.count()
        box = self.page.locator(".rw-new-message")
        box.fill(question)
        box.press("Enter")
        expect(self.questions.last).to_have_text(question)
        reply = self.responses.nth(before)
        expect(reply).to_contain_text(expected, timeout=ANSWER_MS)
        return reply

    def session_id(self) -> str:
        """The id the widget keeps in localStorage; Rasa uses it as the tracker's sender id."""
        return str(self.page.evaluate("JSON.parse(localStorage.getItem('chat_session')).session_id"))

    def assert_clean(self) -> None:
        """Nothing fetched from another host, no script errors, no alert."""
        assert self.foreign_requests == []
        assert self.errors == []
        assert self.dialogs == []


@pytest.fixture
def chat(context: BrowserContext, chat_url: str) -> Chat:
    return Chat(context, chat_url).open()


def test_first_screen_names_the_article_and_greets_with_three_questions(chat: Chat) -> None:
    page = chat.page
    articles = load_articles(get_settings().articles_dir)
    assert articles
    header = page.locator("header")
    for article in articles:
        expect(header).to_contain_text(article.headline)
        expect(header).to_contain_text(f"{article.source}, {article.year}")
    assert articles[0].headline in page.title()
    expect(chat.responses).to_have_count(1)
    titles = chat.replies.all_inner_texts()
    assert len(titles) == 3 and all(t.strip().endswith("?") for t in titles), titles
    # No web font, no CDN: everything came from the Rasa server's own port.
    assert page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)") == []
    chat.assert_clean()


def test_typed_questions_are_answered_with_quote_and_citation(chat: Chat, tmp_path: Path) -> None:
    who = chat.ask(WHO, WHO_ANSWER)
    expect(who.locator("blockquote")).to_contain_text(WHO_ANSWER)
    expect(who.locator("em")).to_contain_text("paragraf")

    how_many = chat.ask(HOW_MANY, HOW_MANY_ANSWER)
    expect(how_many.locator("strong")).to_contain_text(HOW_MANY_ANSWER)  # the lead, first
    expect(how_many.locator("blockquote")).to_contain_text("Tim Penilai Nasional")  # then its source sentence
    expect(how_many.locator("em")).to_contain_text("paragraf")  # then where it stands
    expect(chat.replies.first).to_be_visible()  # follow-up suggestions under the latest answer

    shot = tmp_path / "web-chat.png"
    chat.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("WEB_CHAT_SCREENSHOT"):
        chat.page.screenshot(path=str(ROOT / target))
    chat.assert_clean()


def test_a_suggested_question_button_is_answered(chat: Chat) -> None:
    button = chat.replies.first
    title = button.inner_text().strip()
    before = chat.responses.count()
    button.click()
    expect(chat.questions.last).to_have_text(title)
    expect(chat.responses.nth(before)).to_contain_text("paragraf", timeout=ANSWER_MS)
    chat.assert_clean()


def test_thumbs_up_under_an_answer_is_stored_against_it(chat: Chat) -> None:
    chat.ask(WHO, WHO_ANSWER)
    rate = chat.replies.filter(has_text="👍")
    expect(rate).to_have_count(1)
    before = chat.responses.count()
    rate.click()
    expect(chat.responses.nth(before)).to_contain_text("Terima kasih", timeout=ANSWER_MS)
    [record] = wait_for_slot(chat.session_id(), "feedback")
    assert record["rating"] == "up" and record["question"] == WHO
    assert record["passages"] == ["antara-kominfo-wbk-2020#2"] and WHO_ANSWER in record["answer"]
    chat.assert_clean()


def test_reload_keeps_the_conversation_and_its_session(chat: Chat) -> None:
    chat.ask(HOW_MANY, HOW_MANY_ANSWER)
    session = chat.session_id()
    chat.page.reload()
    expect(chat.questions.first).to_have_text(HOW_MANY)
    expect(chat.responses.filter(has_text=HOW_MANY_ANSWER)).to_have_count(1)
    expect(chat.responses.filter(has_text="Halo")).to_have_count(1)  # history redrawn, no second greeting
    assert chat.session_id() == session
    # The new socket re-joined the session's room: answers still reach this page.
    chat.ask(WHO, WHO_ANSWER)
    assert chat.session_id() == session
    chat.assert_clean()


def test_a_second_profile_gets_its_own_empty_conversation(chat: Chat, browser: Browser, chat_url: str) -> None:
    chat.ask(WHO, WHO_ANSWER)
    other_context = browser.new_context()
    try:
        other = Chat(other_context, chat_url).open()
        expect(other.questions).to_have_count(0)
        expect(other.responses).to_have_count(1)  # its own greeting only
        expect(other.page.locator("#webchat")).not_to_contain_text(WHO_ANSWER)
        assert other.session_id() != chat.session_id()
        other.assert_clean()
    finally:
        other_context.close()


@pytest.mark.parametrize(
    "question",
    [
        "<script>window.__xss = 'script'; alert(1)</script>",
        "<img src=x onerror=\"window.__xss = 'img'; alert(2)\">",
        "[klik](javascript:window.__xss='md') ![gambar](x)",
    ],
)
def test_injected_markup_in_a_question_shows_literally_and_runs_nothing(chat: Chat, question: str) -> None:
    before = chat.responses.count()
    box = chat.page.locator(".rw-new-message")
    box.fill(question)
    box.press("Enter")
    expect(chat.questions.last).to_have_text(question)
    expect(chat.responses.nth(before)).to_contain_text("Maaf", timeout=ANSWER_MS)  # the bot's reply is in, too
    messages = chat.page.locator(".rw-messages-container")
    expect(messages).to_have_count(1)
    expect(messages.locator("img, script, a")).to_have_count(0)
    expect(chat.page.locator("img[src='x']")).to_have_count(0)
    assert chat.page.evaluate("window.__xss") is None
    chat.assert_clean()


def test_hostile_text_in_a_bot_message_renders_as_text(context: BrowserContext, chat_url: str) -> None:
    """Article text (and button titles) reach the widget's Markdown renderer; none of it may become markup.

    The message is exactly what `WebChatOutput` emits for a hostile answer. It is
    delivered through the page's own socket, as if the server had sent it: an
    init script keeps the page's WebSockets and the frames it sends, so the test
    can wait for the Engine.IO upgrade (frame "5") and then hand the socket a frame.
    """
    sio = FakeSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    run_async(output.send_text_with_buttons("s", "", HOSTILE_BUTTONS, answer=HOSTILE))
    ((_, message, _),) = sio.emitted
    context.add_init_script(SOCKET_SPY)
    chat = Chat(context, chat_url).open()
    chat.page.wait_for_function("window.__frames.includes('5')", timeout=PAGE_MS)
    before = chat.responses.count()
    frame = "42" + json.dumps(["bot_uttered", message])
    chat.page.evaluate(
        "frame => window.__sockets.at(-1).dispatchEvent(new MessageEvent('message', {data: frame}))", frame
    )
    reply = chat.responses.nth(before)
    expect(reply).to_contain_text("Sumber", timeout=PAGE_MS)
    expect(reply.locator("strong")).to_have_text(HOSTILE["lead"])
    expect(reply.locator("blockquote")).to_have_text(HOSTILE["quote"])
    expect(reply.locator("em")).to_have_text(f"(Sumber: {HOSTILE['citation']})")
    expect(chat.replies).to_have_text([HOSTILE_BUTTONS[0]["title"]])
    messages = chat.page.locator(".rw-messages-container")
    expect(messages).to_have_count(1)
    expect(messages.locator("img, script, a, code, h1, li")).to_have_count(0)
    expect(chat.page.locator("img[src='x']")).to_have_count(0)
    assert chat.page.evaluate("window.__xss") is None
    chat.assert_clean()
