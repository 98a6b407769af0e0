"""Parsing the real ANTARA article: body paragraphs only, metadata from the byline."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.parse import ArticleParseError, parse_article
from tests.conftest import ARTICLE


def test_metadata_comes_from_dateline_byline_and_copyright(article) -> None:
    assert article.source == "ANTARA"
    assert article.city == "Jakarta"
    assert article.year == 2020
    assert article.reporter == "Natisha Andarningtyas"
    assert article.editor == "Maria Rosari Dwi Putri"


def test_only_body_paragraphs_are_quotable(article) -> None:
    assert len(article.paragraphs) == 10
    body = " ".join(p.text for p in article.paragraphs)
    assert "Baca juga" not in body
    assert "Pewarta" not in body and "Editor:" not in body
    assert "Copyright" not in body
    assert not article.paragraphs[0].text.startswith("Jakarta (ANTARA)")
    assert article.paragraphs[0].text.startswith("Kementerian Komunikasi dan Informatika")


def test_related_links_are_kept_as_metadata(article) -> None:
    assert len(article.related) == 4
    assert article.related[0] == "Menkominfo bahas penguatan konektivitas bersama Prancis"


def test_paragraph_spans_point_into_the_file(article) -> None:
    raw = ARTICLE.read_text(encoding="utf-8")
    for para in article.paragraphs:
        assert raw[para.start:para.end] == para.text
        assert raw.split("\n")[para.line - 1].strip().endswith(para.text)


def test_front_matter_overrides_and_adds_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: Judul\ndate: 2021-03-04\n---\nBandung (ANTARA) - Isi berita.\n", encoding="utf-8")
    article = parse_article(path)
    assert (article.title, article.year, article.city, article.source) == ("Judul", 2021, "Bandung", "ANTARA")
    assert article.paragraphs[0].text == "Isi berita."
    assert article.label == "Judul"


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b"Pewarta: A\nEditor: B\n", 1, "no body paragraphs"),
        (b"---\ntitle: x\nwarna: merah\n---\nIsi.\n", 3, "front matter line"),
        (b"---\ntitle: x\n", 1, "never closed"),
        (b"Paragraf satu.\n\nParagraf \xff dua.\n", 3, "UTF-8"),
    ],
)
def test_unusable_files_are_refused_with_file_and_line(tmp_path: Path, content: bytes, line: int, reason: str) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleParseError) as err:
        parse_article(path)
    assert err.value.line == line
    assert reason in str(err.value)
    assert str(path) in str(err.value)
