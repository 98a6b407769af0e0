"""Several articles in-process: scope words, article names in answers, and the "which article?" question."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.followup import Context
from knowledge.index import build_index
from knowledge.parse import Article, parse_article
from knowledge.scope import ALL_ARTICLES, read_scope
from knowledge.search import Retriever
from knowledge.settings import ROOT, get_settings
from tests.conftest import ARTICLE

SECOND = ROOT / "tests" / "articles" / "antara-sukamaju-perpustakaan-2021.txt"
WBK, SUKAMAJU = ARTICLE.stem, SECOND.stem


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {a.id: a for a in (parse_article(ARTICLE), parse_article(SECOND))}


@pytest.mark.parametrize(("text", "article", "question"), [
    ("di artikel tentang WBK, siapa yang menerima predikat?", WBK, "siapa yang menerima predikat?"),
    ("berita soal perpustakaan digital: berapa penggunanya?", SUKAMAJU, "berapa penggunanya?"),
    ("Dalam artikel tentang Sukamaju siapa wali kotanya?", SUKAMAJU, "siapa wali kotanya"),
    ("artikel tentang WBK", WBK, ""),
    ("artikel tentang penghargaan", None, ""),  # both articles are about an award: a tie narrows nothing
    ("artikel tentang gempa bumi, berapa korbannya?", None, "berapa korbannya?"),
])
def test_scope_words_pick_the_article_whose_text_uses_them(
    articles: dict[str, Article], text: str, article: str | None, question: str
) -> None:
    scope = read_scope(text, articles)
    assert (scope.article_id, scope.question, scope.reset) == (article, question, False)


@pytest.mark.parametrize("text", ["semua artikel", "cari di semua artikel", "kembali ke semua artikel"])
def test_semua_artikel_resets(articles: dict[str, Article], text: str) -> None:
    assert read_scope(text, articles).reset


def test_a_plain_question_has_no_scope(articles: dict[str, Article]) -> None:
    scope = read_scope("Siapa yang menerima penghargaan?", articles)
    assert scope.article_id is None and not scope.reset and scope.question == "Siapa yang menerima penghargaan?"


def test_an_article_is_cited_by_headline_source_and_year(articles: dict[str, Article]) -> None:
    assert articles[WBK].cite == (
        "“Kementerian Komunikasi dan Informatika mendapat penghargaan Zona Integritas…” (ANTARA, 2020)"
    )
    assert articles[SUKAMAJU].cite.endswith("(ANTARA, 2021)")


# --- the real model on both articles ------------------------------------------------------------------


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    root = tmp_path_factory.mktemp("two-articles")
    (root / "articles").mkdir()
    for path in (ARTICLE, SECOND):
        shutil.copy(path, root / "articles" / path.name)
    settings = replace(get_settings(), articles_dir=root / "articles", index_dir=root / "index")
    retriever = Retriever(settings)
    build_index(settings, retriever.embedder, show_progress=False)
    retriever.warm_up()
    return retriever


@pytest.mark.slow
@pytest.mark.parametrize(("question", "article", "expected"), [
    ("Siapa yang menerima predikat WBK?", WBK, "Balai Besar Pengujian Perangkat Telekomunikasi"),
    ("Apa kata Ma'ruf Amin?", WBK, "Ma’ruf Amin"),
    ("Berapa unit kerja yang diusulkan?", WBK, "3.691"),
    ("Siapa wali kota Sukamaju?", SUKAMAJU, "Rendra Prasetyo"),
    ("Berapa anjungan baca yang dipasang?", SUKAMAJU, "14 anjungan"),
    ("Kapan aplikasi itu dikembangkan?", SUKAMAJU, "2019"),
])
def test_each_question_is_answered_from_its_own_article(
    two: Retriever, question: str, article: str, expected: str
) -> None:
    answer = two.answer(question)
    assert answer.found and answer.article_id == article, answer.text
    assert expected in answer.text
    assert two.articles[article].cite in answer.text  # the answer names its article


@pytest.mark.slow
def test_an_ambiguous_question_asks_which_article_then_answers_there(two: Retriever) -> None:
    asked = two.answer("Siapa yang menerima penghargaan?")
    assert "Artikel yang mana?" in asked.text
    assert {p for _, p in asked.choices} == {f'/choose_article{{"article": "{a}"}}' for a in (WBK, SUKAMAJU)}
    chosen = two.answer("", asked.context, chosen_article=SUKAMAJU)
    assert chosen.article_id == SUKAMAJU and chosen.context.article == SUKAMAJU
    follow = two.answer("Kapan acara itu?", chosen.context)  # both articles have an award ceremony
    assert follow.article_id == SUKAMAJU, follow.text
    widened = two.answer("", follow.context, chosen_article=ALL_ARTICLES)
    assert widened.context.article == "" and "semua artikel" in widened.text


@pytest.mark.slow
def test_a_question_about_the_article_itself_is_answered_for_each_or_for_the_one_in_view(two: Retriever) -> None:
    both = two.answer("Siapa penulis artikel ini?")
    assert "Natisha Andarningtyas" in both.text and "Galih Pratama" in both.text
    assert two.articles[WBK].cite in both.text and two.articles[SUKAMAJU].cite in both.text
    scoped = two.answer("Siapa penulis artikel ini?", Context(article=SUKAMAJU))
    assert "Galih Pratama" in scoped.text and "Natisha" not in scoped.text
    last = two.answer("Siapa wali kota Sukamaju?")
    after = two.answer("siapa editor artikelnya?", last.context)  # the article of the last answer
    assert "Ratna Kusumawati" in after.text and "Maria" not in after.text


@pytest.mark.slow
def test_a_follow_up_stays_in_the_article_of_the_last_answer(two: Retriever) -> None:
    first = two.answer("Berapa kementerian yang dapat penghargaan?")  # only one article has ministries
    assert first.article_id == WBK and "22 kementerian" in first.text, first.text
    follow = two.answer("kalau pemerintah kota?", first.context)
    assert follow.article_id == WBK and "sembilan pemerintah kota" in follow.text, follow.text


@pytest.mark.slow
def test_the_overview_lists_every_article_with_its_year(two: Retriever) -> None:
    overview = two.overview()
    assert "2 artikel" in overview.text and "(ANTARA, 2020)" in overview.text and "(ANTARA, 2021)" in overview.text
    assert len(overview.choices) == 2
    scoped = two.overview(Context(article=WBK))
    assert ("Semua artikel", f'/choose_article{{"article": "{ALL_ARTICLES}"}}') in scoped.choices


@pytest.mark.slow
def test_suggestions_take_turns_between_articles_and_respect_the_scope(two: Retriever) -> None:
    mixed = two.suggest(limit=4)
    sources = {two.answer(q).article_id for q in mixed}
    assert sources >= {WBK, SUKAMAJU} or "Artikel yang mana?" in " ".join(two.answer(q).text for q in mixed)
    for question in two.suggest(article=SUKAMAJU):
        assert two.answer(question, Context(article=SUKAMAJU)).article_id == SUKAMAJU


def test_reload_switches_to_a_new_build_and_keeps_the_old_one_on_failure(
    fake_settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """get_retriever() follows the `current` symlink; a build it cannot load leaves the old one serving."""
    import knowledge.search as search
    from tests.conftest import HashEmbedder

    settings = fake_settings
    embedder = HashEmbedder()
    build_index(settings, embedder, show_progress=False)  # type: ignore[arg-type]
    first = Retriever(settings, embedder)  # type: ignore[arg-type]
    first.warm_up()
    monkeypatch.setattr(search, "_current", first)
    monkeypatch.setattr(search, "_refused", None)
    assert search.get_retriever() is first
    shutil.copy(SECOND, settings.articles_dir / SECOND.name)  # type: ignore[attr-defined]
    build_index(settings, embedder, show_progress=False)  # type: ignore[arg-type]
    second = search.get_retriever()
    assert second is not first and set(second.articles) == {WBK, SUKAMAJU}
    (settings.articles_dir / "rusak.md").write_text("---\ntitle: x\n", encoding="utf-8")  # type: ignore[attr-defined]
    current = settings.index_dir / "current"  # type: ignore[attr-defined]
    target = current.resolve()
    # A build whose articles no longer match the folder (a broken file was dropped in) cannot be loaded.
    fake = target.parent / "build-fake"
    shutil.copytree(target, fake)
    current.unlink()
    current.symlink_to(fake.name)
    assert search.get_retriever() is second  # refused, logged, old one keeps serving
    assert search.get_retriever() is second  # and not retried on every question
