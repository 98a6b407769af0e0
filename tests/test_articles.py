"""A knowledge base that grows, against real servers: articles added and removed while they run.

The module starts its own action server and Rasa server (ports overridable) on
a private copy of the knowledge base: the real article in a temporary folder,
with its own index. The invented second article, tests/articles/ (a city's
digital library; no real facts), is then added with `python -m knowledge add`,
exactly as `make add-article` does, and removed again. The Rasa model is the
one `make train` built; nothing is retrained. Tests run in file order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eval import load_items, run, summarize
from serve import Servers

from knowledge.settings import ROOT
from tests.conftest import ARTICLE, start_or_fail
from tests.test_eval_smoke import MIN_ACCURACY  # the same guard, now with two articles

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_PORT = int(os.environ.get("TEST_ARTICLES_RASA_PORT", "5505"))
ACTIONS_PORT = int(os.environ.get("TEST_ARTICLES_ACTIONS_PORT", "5555"))
SECOND = ROOT / "tests" / "articles" / "antara-sukamaju-perpustakaan-2021.txt"
WBK_CITE = "(ANTARA, 2020)"
SUKAMAJU_CITE = "(ANTARA, 2021)"


class KB:
    """The private knowledge base and the servers that answer from it."""

    def __init__(self, root: Path, servers: Servers) -> None:
        self.root = root
        self.servers = servers
        self.env = {**os.environ, "KNOWLEDGE_DIR": str(root / "articles"), "INDEX_DIR": str(root / "index")}

    def knowledge(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m knowledge ...` on this knowledge base, as `make add-article` runs it."""
        return subprocess.run([sys.executable, "-m", "knowledge", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=600, check=False)

    def current(self) -> Path:
        return (self.root / "index" / "current").resolve()

    def ask(self, text: str, sender: str | None = None) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender or f"kb-{uuid.uuid4().hex[:8]}", "message": text}).encode()
        req = urllib.request.Request(self.servers.rasa_url + "/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text") or "") for m in messages)


def refused(reply: str) -> bool:
    """Either honest refusal: retrieval's "not in the article" or the out-of-scope reply."""
    return "tidak membahas" in reply or "di luar yang bisa saya bantu" in reply


def payloads(messages: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons") or []]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KB]:
    root = tmp_path_factory.mktemp("kb")
    (root / "articles").mkdir()
    shutil.copy(ARTICLE, root / "articles" / ARTICLE.name)
    logs = root / "logs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KNOWLEDGE_DIR", str(root / "articles"))
        mp.setenv("INDEX_DIR", str(root / "index"))
        with Servers(RASA_PORT, ACTIONS_PORT, log_dir=logs) as servers:
            kb = KB(root, servers)
            built = kb.knowledge("build", "--quiet")
            assert built.returncode == 0, built.stderr
            start_or_fail(servers, logs)
            yield kb


def test_one_article_knows_nothing_of_the_second(kb: KB) -> None:
    reply = texts(kb.ask("Siapa wali kota Sukamaju?"))
    assert refused(reply) and "Rendra" not in reply, reply
    overview = kb.ask("Artikel apa saja yang kamu tahu?")
    assert "satu artikel" in texts(overview) and WBK_CITE in texts(overview)


def test_adding_an_article_changes_the_answers_without_retraining(kb: KB) -> None:
    model = ROOT / "models" / "tanya-artikel.tar.gz"
    trained = model.stat().st_mtime
    added = kb.knowledge("add", str(SECOND))
    assert added.returncode == 0, added.stderr
    assert "embedded 1 article" in added.stdout, added.stdout  # only the new one
    reply = texts(kb.ask("Siapa wali kota Sukamaju?"))
    assert "Rendra Prasetyo" in reply and SUKAMAJU_CITE in reply, reply
    reply = texts(kb.ask("Siapa yang menerima predikat WBK?"))
    assert "Balai Besar Pengujian Perangkat Telekomunikasi" in reply and WBK_CITE in reply, reply
    assert model.stat().st_mtime == trained


def test_the_overview_lists_both_articles_as_buttons(kb: KB) -> None:
    messages = kb.ask("Artikel apa saja yang kamu tahu?")
    assert "2 artikel" in texts(messages)
    assert sorted(payloads(messages)) == sorted(
        f'/choose_article{{"article": "{aid}"}}' for aid in (ARTICLE.stem, SECOND.stem)
    )


def test_an_ambiguous_question_asks_which_article_and_keeps_the_choice(kb: KB) -> None:
    sender = f"kb-{uuid.uuid4().hex[:8]}"
    messages = kb.ask("Siapa yang menerima penghargaan?", sender)
    assert "Artikel yang mana?" in texts(messages), texts(messages)
    buttons = [p for p in payloads(messages) if SECOND.stem in p]
    assert len(payloads(messages)) == 2 and buttons
    reply = texts(kb.ask(buttons[0], sender))
    assert SUKAMAJU_CITE in reply and "Artikel yang mana?" not in reply, reply
    # The choice is kept: a follow-up that both articles could answer stays in the chosen one.
    reply = texts(kb.ask("Berapa yang diusulkan?", sender))
    assert "1.250 inovasi" in reply and SUKAMAJU_CITE in reply, reply
    # "semua artikel" widens the scope again.
    assert "semua artikel" in texts(kb.ask("semua artikel", sender))
    assert "Artikel yang mana?" in texts(kb.ask("Siapa yang menerima penghargaan?", sender))


def test_the_reader_can_narrow_the_scope_in_words(kb: KB) -> None:
    reply = texts(kb.ask("di artikel tentang perpustakaan digital, siapa yang menerima penghargaan?"))
    assert "Artikel yang mana?" not in reply and SUKAMAJU_CITE in reply, reply


def test_the_smoke_eval_still_meets_its_target_with_two_articles(kb: KB) -> None:
    results = run(kb.servers.rasa_url, load_items(smoke=True), progress=False)
    table = summarize(results)
    failures = [f"{r.item}: {r.ask} -> {'; '.join(r.reasons)}" for r in results if not r.correct]
    print(f"smoke eval with two articles: {table['overall']['accuracy']:.1f} %", failures)
    assert table["overall"]["accuracy"] >= MIN_ACCURACY, failures
    for category in ("offtopic", "chitchat"):
        assert table[category]["no_quote"] == 100.0, failures


def test_a_broken_article_is_refused_and_the_old_index_keeps_serving(kb: KB, tmp_path: Path) -> None:
    broken = tmp_path / "berita-rusak.md"
    broken.write_text("---\ntitle: Berita tanpa penutup\n\nJakarta (ANTARA) - Isi.\n", encoding="utf-8")
    before = kb.current()
    refused = kb.knowledge("add", str(broken))
    assert refused.returncode == 2
    assert f"{broken}:4: front matter line" in refused.stderr, refused.stderr  # the line to fix
    assert not (kb.root / "articles" / broken.name).exists()
    assert kb.current() == before
    reply = texts(kb.ask("Siapa wali kota Sukamaju?"))
    assert "Rendra Prasetyo" in reply, reply


def test_removing_the_article_takes_its_answers_away(kb: KB) -> None:
    removed = kb.knowledge("remove", SECOND.stem)
    assert removed.returncode == 0, removed.stderr
    reply = texts(kb.ask("Siapa wali kota Sukamaju?"))
    assert refused(reply) and "Rendra" not in reply, reply
    reply = texts(kb.ask("Siapa yang menerima predikat WBK?"))
    assert "Balai Besar Pengujian Perangkat Telekomunikasi" in reply, reply
