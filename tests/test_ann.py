"""The index type chosen by corpus size: built, recorded in the manifest, reloaded and searched correctly."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from knowledge import ann
from knowledge.index import IndexNotReady, build_index, load_index
from knowledge.settings import Settings
from tests.conftest import HashEmbedder


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few centres on a low-dimensional subspace, like sentence embeddings.

    Uniform noise in every dimension would be harder for any index than real text vectors are.
    """
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(99).normal(size=(12, dim))  # the same subspace for corpus and queries
    centres = np.random.default_rng(98).normal(size=(20, 12))
    latent = centres[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, 12))
    vectors = (latent @ basis + 0.1 * rng.normal(size=(n, dim))).astype(np.float32)
    faiss.normalize_L2(vectors)
    return vectors


def test_small_corpora_are_searched_exactly_and_large_ones_approximately() -> None:
    assert ann.choose_index_type(1) == ann.FLAT
    assert ann.choose_index_type(ann.FLAT_MAX) == ann.FLAT
    assert ann.choose_index_type(ann.FLAT_MAX + 1) == ann.HNSW
    assert ann.choose_index_type(1_000_000) == ann.HNSW


def test_build_follows_the_size_unless_told() -> None:
    vectors = clustered(300)
    index, kind = ann.build(vectors)
    assert kind == ann.FLAT and ann.index_type_of(index) == ann.FLAT and index.ntotal == 300
    index, kind = ann.build(vectors, ann.HNSW)
    assert kind == ann.HNSW and ann.index_type_of(index) == ann.HNSW
    assert index.hnsw.efSearch == ann.HNSW_EF_SEARCH
    with pytest.raises(ValueError, match="unknown index type"):
        ann.build(vectors, "ivf-pq")


def test_hnsw_finds_the_exact_top_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, queries = clustered(4000), clustered(200, seed=1)
    monkeypatch.setattr(ann, "FLAT_MAX", 1000)
    hnsw, kind = ann.build(vectors)
    assert kind == ann.HNSW
    exact, _ = ann.build(vectors, ann.FLAT)
    _, want = exact.search(queries, 10)
    _, got = hnsw.search(queries, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.95


def test_search_depth_is_every_passage_for_flat_and_bounded_for_hnsw() -> None:
    vectors = clustered(1000)
    assert ann.search_depth(ann.build(vectors, ann.FLAT)[0]) == 1000
    hnsw = ann.build(vectors, ann.HNSW)[0]
    assert ann.search_depth(hnsw) == ann.SEARCH_DEPTH
    _, ids = hnsw.search(vectors[:1], ann.search_depth(hnsw))
    assert (ids >= 0).all()  # a depth above efSearch still returns that many neighbours


def test_reloaded_hnsw_gets_its_search_parameters_back(tmp_path) -> None:
    vectors = clustered(500)
    index, kind = ann.build(vectors, ann.HNSW)
    index.hnsw.efSearch = 3  # as if written by a build with other settings
    faiss.write_index(index, str(tmp_path / "index.faiss"))
    loaded = faiss.read_index(str(tmp_path / "index.faiss"))
    assert ann.check_loaded(loaded, kind) is None
    assert loaded.hnsw.efSearch == ann.HNSW_EF_SEARCH


def test_a_type_other_than_the_manifests_is_reported() -> None:
    flat, _ = ann.build(clustered(50), ann.FLAT)
    assert "hnsw-ip" in (ann.check_loaded(flat, ann.HNSW) or "")
    assert ann.check_loaded(flat, None) is None  # manifests from before the choice were all flat


def test_build_index_records_the_chosen_type_and_loads_it(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HashEmbedder()
    flat_build = build_index(fake_settings, embedder, show_progress=False)  # type: ignore[arg-type]
    assert json.loads((flat_build / "manifest.json").read_text(encoding="utf-8"))["index_type"] == ann.FLAT
    flat = load_index(fake_settings)

    monkeypatch.setattr(ann, "FLAT_MAX", 5)  # the article's few dozen passages now count as "large"
    build = build_index(fake_settings, embedder, show_progress=False)  # type: ignore[arg-type]
    assert json.loads((build / "manifest.json").read_text(encoding="utf-8"))["index_type"] == ann.HNSW
    loaded = load_index(fake_settings)
    assert ann.index_type_of(loaded.vectors) == ann.HNSW and loaded.vectors.hnsw.efSearch == ann.HNSW_EF_SEARCH
    query = embedder.embed_queries(["Berapa unit kerja yang diusulkan kepada Tim Penilai Nasional?"])
    assert loaded.vectors.search(query, 5)[1][0][0] == flat.vectors.search(query, 5)[1][0][0]


def test_manifest_and_file_of_different_types_are_refused(fake_settings: Settings) -> None:
    build = build_index(fake_settings, HashEmbedder(), show_progress=False)  # type: ignore[arg-type]
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    manifest["index_type"] = ann.HNSW
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexNotReady, match="make index"):
        load_index(fake_settings)


def test_the_retriever_answers_from_an_hnsw_index(fake_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge.search import Retriever

    monkeypatch.setattr(ann, "FLAT_MAX", 5)
    embedder = HashEmbedder()
    build_index(fake_settings, embedder, show_progress=False)  # type: ignore[arg-type]
    retriever = Retriever(fake_settings, embedder)  # type: ignore[arg-type]
    retriever.warm_up()
    assert ann.index_type_of(retriever.index.vectors) == ann.HNSW
    assert retriever.search("Berapa unit kerja yang diusulkan kepada Tim Penilai Nasional?")[0].paragraph == 10


def test_search_runs_on_one_thread_and_gives_the_setting_back() -> None:
    vectors = clustered(2000)
    hnsw, _ = ann.build(vectors, ann.HNSW)
    before = faiss.omp_get_max_threads()
    scores, ids = ann.search(hnsw, vectors[:3], 10)
    assert faiss.omp_get_max_threads() == before
    want_scores, want_ids = hnsw.search(vectors[:3], 10)
    assert (ids == want_ids).all() and np.allclose(scores, want_scores)
    assert (ids[:, 0] == np.arange(3)).all()  # each vector is its own nearest neighbour
