"""The index grows one article at a time: only an added or changed article is embedded.

A counting wrapper around the fake embedder records every passage text it is
asked to embed, so each test can say exactly what was embedded. The CLI runs
through `knowledge.__main__.main` with the private settings and the fake model.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

import knowledge.__main__ as cli
from knowledge.chunk import chunk_article
from knowledge.index import CACHE, MANIFEST, VECTORS, build_index, load_index, problems, update_index
from knowledge.parse import ArticleParseError, parse_article
from knowledge.settings import ROOT, Settings
from tests.conftest import ARTICLE, HashEmbedder

SECOND = ROOT / "tests" / "articles" / "antara-sukamaju-perpustakaan-2021.txt"
KOMINFO, SUKAMAJU = ARTICLE.stem, SECOND.stem


class CountingEmbedder(HashEmbedder):
    """The fake model, remembering every passage it embeds (and whether it was loaded at all)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed_passages(texts, show_progress)


def passage_texts(path: Path) -> list[str]:
    return [p.text for p in chunk_article(parse_article(path))]


def manifest(settings: Settings) -> dict:
    return json.loads((settings.index_dir / "current" / MANIFEST).read_text(encoding="utf-8"))


def current_state(settings: Settings) -> tuple[Path, bytes]:
    """Which build `current` points at, and its manifest's bytes."""
    current = (settings.index_dir / "current").resolve()
    return current, (current / MANIFEST).read_bytes()


def add_second(settings: Settings) -> None:
    shutil.copy(SECOND, settings.articles_dir / SECOND.name)


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def built(fake_settings: Settings, embedder: CountingEmbedder) -> Settings:
    """The fake settings with the Kominfo article indexed, and the embedder's count reset."""
    build_index(fake_settings, embedder, show_progress=False)  # type: ignore[arg-type]
    embedder.embedded.clear()
    return fake_settings


@pytest.fixture
def run(built: Settings, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch):
    """`python -m knowledge ...` on the private settings and the counting fake model."""
    monkeypatch.setattr(cli, "get_settings", lambda: built)
    monkeypatch.setattr(cli, "_embedder", lambda: embedder)
    return lambda *argv: cli.main([*argv])


# --- the build -----------------------------------------------------------------------------------


def test_adding_an_article_embeds_only_its_passages(built: Settings, embedder: CountingEmbedder) -> None:
    add_second(built)
    report = update_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == passage_texts(SECOND)
    assert report.embedded == {SUKAMAJU: len(passage_texts(SECOND))}
    assert report.reused == {KOMINFO: len(passage_texts(ARTICLE))}
    assert "embedded 1 article" in report.summary() and "reused 1" in report.summary()
    assert {p["article_id"] for p in manifest(built)["passages"]} == {KOMINFO, SUKAMAJU}
    assert problems(built) == []
    assert load_index(built).vectors.ntotal == report.passages


def test_rebuilding_without_a_change_embeds_nothing_and_loads_no_model(built: Settings) -> None:
    idle = CountingEmbedder()
    report = update_index(built, idle, show_progress=False)  # type: ignore[arg-type]
    assert idle.embedded == [] and not idle.warmed
    assert report.embedded == {} and list(report.reused) == [KOMINFO]


def test_changing_an_article_re_embeds_only_it(built: Settings, embedder: CountingEmbedder) -> None:
    add_second(built)
    build_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    embedder.embedded.clear()
    changed = built.articles_dir / SECOND.name
    text = changed.read_text(encoding="utf-8").replace("200.000 orang", "250.000 orang")
    changed.write_text(text, encoding="utf-8")

    report = update_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == passage_texts(changed)
    assert list(report.embedded) == [SUKAMAJU] and list(report.reused) == [KOMINFO]
    assert any("250.000 orang" in p["text"] for p in manifest(built)["passages"])
    assert not any("200.000 orang" in p["text"] for p in manifest(built)["passages"])


def test_removing_an_article_embeds_nothing_and_drops_its_passages(built: Settings, embedder: CountingEmbedder) -> None:
    add_second(built)
    build_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    embedder.embedded.clear()
    sha = parse_article(built.articles_dir / SECOND.name).sha256
    (built.articles_dir / SECOND.name).unlink()

    report = update_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == [] and report.removed == (SUKAMAJU,)
    assert {p["article_id"] for p in manifest(built)["passages"]} == {KOMINFO}
    assert list(manifest(built)["articles"]) == [KOMINFO]
    assert not any(p.name.startswith(sha) for p in (built.index_dir / CACHE).iterdir())  # garbage-collected


def test_an_incremental_index_equals_one_built_from_scratch(built: Settings, embedder: CountingEmbedder) -> None:
    add_second(built)
    incremental = build_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    scratch_settings = replace(built, index_dir=built.index_dir.parent / "scratch")
    scratch = build_index(scratch_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]

    ours, theirs = (json.loads((b / MANIFEST).read_text(encoding="utf-8")) for b in (incremental, scratch))
    assert ours["passages"] == theirs["passages"]
    assert [p["id"] for p in ours["passages"]] == list(range(len(ours["passages"])))
    a, b = (faiss.read_index(str(build / VECTORS)) for build in (incremental, scratch))
    assert np.array_equal(a.reconstruct_n(0, a.ntotal), b.reconstruct_n(0, b.ntotal))


def test_an_unreadable_cache_entry_is_re_embedded(built: Settings, embedder: CountingEmbedder) -> None:
    for entry in (built.index_dir / CACHE).glob("*.npy"):
        entry.write_bytes(entry.read_bytes()[:40])
    update_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == passage_texts(ARTICLE)
    assert load_index(built).vectors.ntotal == len(passage_texts(ARTICLE))


def test_a_cache_of_another_model_is_not_used(built: Settings, embedder: CountingEmbedder) -> None:
    other = replace(built, embedding_model="another-fake")
    update_index(other, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == passage_texts(ARTICLE)


def test_a_broken_article_aborts_the_build_before_anything_is_written(
    built: Settings, embedder: CountingEmbedder
) -> None:
    before = current_state(built)
    cache_before = sorted(p.name for p in (built.index_dir / CACHE).iterdir())
    add_second(built)
    (built.articles_dir / "rusak.txt").write_text("---\ntitle: Tanpa penutup\nsource: ANTARA\n", encoding="utf-8")
    with pytest.raises(ArticleParseError, match=r"rusak\.txt:1: front matter"):
        update_index(built, embedder, show_progress=False)  # type: ignore[arg-type]
    assert embedder.embedded == []
    assert current_state(built) == before
    assert sorted(p.name for p in (built.index_dir / CACHE).iterdir()) == cache_before
    assert [p.name for p in built.index_dir.glob("build-*")] == [before[0].name]


# --- the command line ----------------------------------------------------------------------------


def test_cli_add_copies_the_file_and_embeds_only_it(
    run, built: Settings, embedder: CountingEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("add", "--quiet", str(SECOND)) == 0
    assert (built.articles_dir / SECOND.name).read_bytes() == SECOND.read_bytes()
    assert embedder.embedded == passage_texts(SECOND)
    out = capsys.readouterr().out
    assert f"added {SUKAMAJU} ({len(parse_article(SECOND).paragraphs)} paragraphs)" in out
    assert f"embedded 1 article ({len(passage_texts(SECOND))} passages): {SUKAMAJU}; reused 1" in out
    assert problems(built) == []

    embedder.embedded.clear()
    assert run("add", str(SECOND)) == 0  # the same file again: nothing to do
    assert embedder.embedded == [] and "index is up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"---\ntitle: Judul\nsource: ANTARA\ndate: 2021-05-01\n", "rusak.txt:1: front matter opened"),
        (b"Jakarta (ANTARA) - Baris pertama.\n\nBaris kedua \xff\xfe rusak.\n", "rusak.txt:3: not valid UTF-8"),
    ],
    ids=["unclosed-front-matter", "invalid-utf8"],
)
def test_cli_add_refuses_a_broken_file_and_keeps_serving_the_old_index(
    run, built: Settings, embedder: CountingEmbedder, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    content: bytes, where: str,
) -> None:
    before = current_state(built)
    broken = tmp_path / "rusak.txt"
    broken.write_bytes(content)
    assert run("add", str(broken)) == 2
    err = capsys.readouterr().err
    assert f"{broken.parent}/{where}" in err
    assert not (built.articles_dir / "rusak.txt").exists()
    assert embedder.embedded == []
    assert current_state(built) == before
    assert problems(built) == []


def test_cli_add_of_several_files_copies_none_when_one_is_broken(
    run, built: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "rusak.md"
    broken.write_text("---\nauthor: Siapa\n---\nIsi.\n", encoding="utf-8")
    assert run("add", str(SECOND), str(broken)) == 2
    assert "rusak.md:2: front matter line" in capsys.readouterr().err
    assert sorted(p.name for p in built.articles_dir.iterdir()) == [ARTICLE.name]


def test_cli_add_refuses_a_duplicate_id_unless_replace(
    run, built: Settings, embedder: CountingEmbedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = current_state(built)
    other = tmp_path / ARTICLE.name
    other.write_text(ARTICLE.read_text(encoding="utf-8").replace("681 WBK", "680 WBK"), encoding="utf-8")
    assert run("add", str(other)) == 2
    err = capsys.readouterr().err
    assert f"article {KOMINFO} already exists" in err and "--replace" in err
    assert (built.articles_dir / ARTICLE.name).read_bytes() == ARTICLE.read_bytes()
    assert current_state(built) == before and embedder.embedded == []

    assert run("add", "--replace", "--quiet", str(other)) == 0
    assert f"replaced {KOMINFO}" in capsys.readouterr().out
    assert (built.articles_dir / ARTICLE.name).read_bytes() == other.read_bytes()
    assert embedder.embedded == passage_texts(other)
    assert problems(built) == []


def test_cli_add_puts_the_folder_back_when_the_build_fails(
    run, built: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge.embed import ModelNotFoundError

    def no_model() -> None:
        raise ModelNotFoundError("embedding model folder /nowhere does not exist; build it with `make embedder`")

    before = current_state(built)
    broken_embedder = CountingEmbedder()
    monkeypatch.setattr(broken_embedder, "warm_up", no_model)
    monkeypatch.setattr(cli, "_embedder", lambda: broken_embedder)
    assert run("add", str(SECOND)) == 2
    assert "make embedder" in capsys.readouterr().err
    assert sorted(p.name for p in built.articles_dir.iterdir()) == [ARTICLE.name]
    assert current_state(built) == before


def test_cli_remove_embeds_nothing_and_drops_the_passages(
    run, built: Settings, embedder: CountingEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("add", "--quiet", str(SECOND)) == 0
    embedder.embedded.clear()
    assert run("remove", SUKAMAJU) == 0
    assert embedder.embedded == []
    assert not (built.articles_dir / SECOND.name).exists()
    assert {p["article_id"] for p in manifest(built)["passages"]} == {KOMINFO}
    assert f"removed {SUKAMAJU}" in capsys.readouterr().out

    assert run("remove", "tidak-ada") == 2
    assert "no article 'tidak-ada'" in capsys.readouterr().err
    assert run("remove", KOMINFO) == 2  # the last one: an index needs an article
    assert "only article" in capsys.readouterr().err
    assert (built.articles_dir / ARTICLE.name).is_file()


def test_cli_list_names_each_article(run, built: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    add_second(built)
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    kominfo = next(line for line in lines if line.startswith(KOMINFO))
    sukamaju = next(line for line in lines if line.startswith(SUKAMAJU))
    assert "2020" in kominfo and " 10 " in kominfo and " yes " in kominfo
    assert "2021" in sukamaju and " no " in sukamaju and "Pemerintah Kota Sukamaju meraih" in sukamaju
    assert lines[-1].startswith("2 article files in")
