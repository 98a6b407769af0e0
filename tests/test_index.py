"""Index build, staleness detection and search, with the fast deterministic embedder."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from knowledge.index import IndexNotReady, build_index, load_index, problems
from knowledge.settings import Settings
from tests.conftest import HashEmbedder


def test_build_writes_index_and_manifest(fake_settings: Settings) -> None:
    build = build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    assert (fake_settings.index_dir / "current").resolve() == build
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == "fake-hash"
    meta = manifest["articles"]["antara-kominfo-wbk-2020"]
    assert meta["reporter"] == "Natisha Andarningtyas" and meta["year"] == 2020
    assert len(meta["sha256"]) == 64
    kinds = [p["kind"] for p in manifest["passages"]]
    assert kinds.count("paragraph") == 10 and kinds.count("sentence") == 2 and kinds.count("clause") > 10
    assert problems(fake_settings) == []
    loaded = load_index(fake_settings)
    assert loaded.vectors.ntotal == len(loaded.passages) == len(kinds)


def test_rebuild_swaps_and_removes_the_old_build(fake_settings: Settings) -> None:
    first = build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    second = build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    assert first != second and not first.exists()
    assert (fake_settings.index_dir / "current").resolve() == second


def test_missing_index_names_the_command(fake_settings: Settings) -> None:
    with pytest.raises(IndexNotReady, match="make index"):
        load_index(fake_settings)


def test_changed_article_makes_the_index_stale(fake_settings: Settings) -> None:
    build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    path = next(fake_settings.articles_dir.iterdir())
    path.write_text(path.read_text(encoding="utf-8") + "\nParagraf baru.\n", encoding="utf-8")
    assert any("changed" in p for p in problems(fake_settings))
    with pytest.raises(IndexNotReady, match="make index"):
        load_index(fake_settings)


def test_other_model_makes_the_index_stale(fake_settings: Settings) -> None:
    build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    other = replace(fake_settings, embedding_model="another-model")
    assert any("another-model" in p for p in problems(other))


def test_corrupt_vectors_are_refused(fake_settings: Settings) -> None:
    build = build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    (build / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexNotReady, match="corrupt"):
        load_index(fake_settings)


def test_search_ranks_the_paragraph_that_shares_the_words(fake_retriever) -> None:
    hits = fake_retriever.search("Berapa unit kerja yang diusulkan kepada Tim Penilai Nasional?")
    assert hits[0].paragraph == 10
    assert hits[0].lexical > 0.9


def test_answer_keeps_the_whole_quote_around_the_matching_sentence(fake_retriever) -> None:
    answer = fake_retriever.answer("inovasi terbaik dan cara kerja baru")
    assert answer.found and answer.paragraph == 9
    assert answer.quote is not None
    assert answer.quote.startswith('"Saya harapkan') and answer.quote.endswith("keterangan yang sama.")
    assert answer.text.endswith(
        "(Sumber: paragraf 9, “Kementerian Komunikasi dan Informatika mendapat penghargaan Zona Integritas…” "
        "(ANTARA, 2020))"
    )
    raw = fake_retriever.articles["antara-kominfo-wbk-2020"].path.read_text(encoding="utf-8")
    assert raw[answer.start:answer.end] == answer.quote
    assert "paragraf 9" in (answer.citation or "")
    assert answer.suggestions and all("?" in s for s in answer.suggestions)


def test_unrelated_question_abstains_without_quoting(fake_retriever) -> None:
    answer = fake_retriever.answer("Siapa pemenang Liga Inggris musim lalu?")
    assert not answer.found
    assert answer.text.startswith("Maaf, artikel ini tidak membahas")
    assert "Liga Inggris" in answer.text
    assert answer.suggestions
