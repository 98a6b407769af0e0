"""Each stage of the answer path on its own: retrieve, extract, the fitted model, answerability.

Retrieval runs on the real article with the tiny hashed embedder (fast); the
answerability checks use the real model and index (`slow`).
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from knowledge.extract import best_span, date_spans, lead_for, number_spans
from knowledge.features import ANSWER_FEATURES, RANK_FEATURES, SENTENCE_FEATURES, background
from knowledge.followup import Context
from knowledge.model import MODEL_PATH, Linear, load_model
from knowledge.question import analyse
from knowledge.search import Retriever
from knowledge.settings import ROOT

# --- retrieve -----------------------------------------------------------------------------------------


def test_every_paragraph_of_a_small_article_is_a_candidate_with_both_scores(fake_retriever: Retriever) -> None:
    q = analyse("Berapa unit kerja yang diusulkan kepada Tim Penilai Nasional?")
    query = fake_retriever.embedder.embed_queries([q.text])
    candidates = fake_retriever._retrieve.run(q, query)  # type: ignore[union-attr]
    assert sorted(c.paragraph for c in candidates) == list(range(1, 11))
    best_bm25 = max(candidates, key=lambda c: c.bm25)
    assert best_bm25.paragraph == 10  # the only paragraph with "Tim Penilai Nasional"
    assert all(c.best >= c.dense for c in candidates)  # a sentence can only add to the paragraph's similarity


def test_retrieval_leaves_out_what_it_is_told_to(fake_retriever: Retriever) -> None:
    q = analyse("Berapa unit kerja yang diusulkan?")
    query = fake_retriever.embedder.embed_queries([q.text])
    article = next(iter(fake_retriever.articles))
    kept = fake_retriever._retrieve.run(q, query, within=article, exclude=((article, 10),))  # type: ignore[union-attr]
    assert 10 not in {c.paragraph for c in kept} and len(kept) == 9
    assert fake_retriever._retrieve.run(q, query, within="another-article") == []  # type: ignore[union-attr]


def test_the_ranking_puts_the_paragraph_that_says_it_first(fake_retriever: Retriever) -> None:
    assert fake_retriever.search("Berapa unit kerja yang diusulkan kepada Tim Penilai Nasional?")[0].paragraph == 10


@pytest.mark.parametrize(("follow_up", "kept"), [
    ("kalau WBBM?", True),  # the counts paragraph writes WBBM too: it may well answer again
    ("kalau BBPPT?", False),  # it never writes BBPPT: the previous answer is no hint
])
def test_a_swap_follow_up_favours_the_previous_paragraph_only_if_it_writes_the_new_word(
    fake_retriever: Retriever, follow_up: str, kept: bool,
) -> None:
    article = next(iter(fake_retriever.articles))
    before = Context("Berapa instansi yang dapat WBK?", "", "WBK", (10,), article, article)
    turn = fake_retriever.resolve_turn(follow_up, before)
    ranked = fake_retriever.rank(turn.q, None, turn.within, turn.exclude, turn.asked)
    rows = zip(ranked.candidates, ranked.rows, strict=True)
    previous = next(row["previous"] for c, row in rows if c.paragraph == 10)
    assert previous == (1.0 if kept else 0.0)


def test_a_pronoun_follow_up_asks_about_the_person_not_the_previous_paragraph(fake_retriever: Retriever) -> None:
    article = next(iter(fake_retriever.articles))
    before = Context("Siapa Ismail?", "Ismail", "", (2,), article, article)
    turn = fake_retriever.resolve_turn("terus dia bilang apa?", before)
    assert turn.resolved.pronoun and turn.resolved.text == "terus Ismail bilang apa?"
    ranked = fake_retriever.rank(turn.q, None, turn.within, turn.exclude, turn.asked)
    assert not any(row["previous"] for row in ranked.rows)
    # an elliptic follow-up is about the previous answer, and it still points back there
    turn = fake_retriever.resolve_turn("kalau WBBM?", Context("Berapa instansi yang dapat WBK?", "", "WBK", (10,),
                                                              article, article))
    assert not turn.resolved.pronoun and turn.asked.previous == ((article, 10),)


def test_a_modifier_follow_up_takes_the_place_the_article_pairs_it_with(fake_retriever: Retriever) -> None:
    # the article writes "tujuh pemerintah provinsi, sembilan pemerintah kota": "kota" stands for "provinsi"
    article = next(iter(fake_retriever.articles))
    before = Context("Berapa pemerintah provinsi yang dapat penghargaan?", "", "pemerintah provinsi", (3,), article,
                     article)
    turn = fake_retriever.resolve_turn("kalau yang kota?", before)
    assert turn.resolved.text == "Berapa pemerintah kota yang dapat penghargaan?"


# --- extract ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sentence", "spans"), [
    ("Sebanyak 4.317 jiwa dari 1.286 kepala keluarga (KK) mengungsi.", ["4.317 jiwa", "1.286 kepala keluarga"]),
    ("Kerugian ditaksir mencapai Rp38,6 miliar.", ["Rp38,6 miliar"]),
    ("Rafli mencetak gol pada menit ke-17.", ["menit ke-17"]),
    ("Pada tahun 2020 terdapat 3.691 unit kerja.", ["3.691 unit kerja"]),  # "tahun 2020" is a date
    ("Total ekspor pada Oktober 2023 tercatat 612,48 juta dolar AS.", ["612,48 juta dolar AS"]),
    ("Banjir melanda tujuh kecamatan.", ["tujuh kecamatan"]),
    # a preposition or conjunction ends what is counted
    ("Bulog telah menyalurkan 9.415 ton beras melalui program SPHP.", ["9.415 ton beras"]),
    ("Harga naik tujuh bulan berturut-turut sejak Juli 2023.", ["tujuh bulan berturut-turut"]),
    # ... and so does a verb: what is counted is the noun phrase
    ("Harga naik 6,3 persen dibanding bulan lalu.", ["6,3 persen"]),
    ("Sebanyak 1.275 hektare sawah terendam.", ["1.275 hektare sawah"]),
    ("Sembilan fraksi menyetujui draf revisi.", ["Sembilan fraksi"]),
    # ... a predicate without a verb's prefix, or an aspect word before one
    ("Beras yang sebelumnya Rp11.400 per kilogram naik 25 persen.", ["Rp11.400 per kilogram", "25 persen"]),
    ("Dijual Rp13.800 per kilogram kini turun.", ["Rp13.800 per kilogram"]),
    # a bare figure "dari" another counts what that one counts; a price "dari" a price does not
    ("Rapat itu dihadiri 31 dari 48 anggota Komisi I, serta Dewan Pers.", ["31 dari 48 anggota Komisi I"]),
    ("Sembilan dari 14 pasien yang meninggal adalah anak-anak.", ["Sembilan dari 14 pasien"]),
    ("Harga naik Rp1.000 dari Rp15.800.", ["Rp1.000", "Rp15.800"]),
])
def test_numbers_come_with_what_they_count(sentence: str, spans: list[str]) -> None:
    assert [s.text for s in number_spans(sentence)] == spans


def test_the_common_noun_of_a_place_name_does_not_pick_the_figure() -> None:
    """"Kecamatan" of "Kecamatan Pedurungan" is no restriction: "Tiga kecamatan" is not the count of cases."""
    sentence = "Tiga kecamatan dengan kasus tertinggi adalah Tembalang dengan 187 kasus, Pedurungan 142 kasus."
    span = best_span(sentence, number_spans(sentence), analyse("Berapa kasus DBD di Kecamatan Pedurungan?"))
    assert span is None or span.text.endswith("kasus")  # no lead rather than the wrong figure


def test_dates_and_times_are_found_as_written() -> None:
    found = [s.text for s in date_spans("Air datang pukul 21.00 WIB pada Jumat (19/4), hingga 3 Mei 2024.")]
    assert found == ["pukul 21.00 WIB", "Jumat (19/4)", "3 Mei 2024"]


@pytest.mark.parametrize(("sentence", "spans"), [
    ("Panen raya berlangsung pada akhir Maret hingga April 2024.", ["akhir Maret hingga April 2024"]),
    ("Festival berlangsung 20 hingga 24 Agustus 2023.", ["20 hingga 24 Agustus 2023"]),
    ("Pendaftaran dibuka 3-7 Juni 2024, diumumkan Kamis (13/6).", ["3-7 Juni 2024", "Kamis (13/6)"]),
    ("Ramadhan jatuh pada pertengahan Maret.", ["pertengahan Maret"]),
])
def test_a_range_of_dates_is_one_span(sentence: str, spans: list[str]) -> None:
    assert [s.text for s in date_spans(sentence)] == spans


def test_the_lead_names_the_part_the_question_restricts_to() -> None:
    sentence = ("Pada tahun 2020 terdapat 3.691 unit kerja yang diusulkan, dan 763 instansi yang berhasil mendapatkan "
                "penghargaan, terdiri atas 681 WBK dan 82 WBBM.")
    assert lead_for(analyse("Berapa instansi yang dapat WBBM?"), sentence) == "82 WBBM."
    assert lead_for(analyse("Berapa unit kerja yang diusulkan?"), sentence) == "3.691 unit kerja."


def test_the_words_that_tell_a_figure_apart_are_read_within_its_clause() -> None:
    """"Yordania" is right after the first figure, but in the second figure's clause."""
    sentence = "Indonesia melepaskan 11 tembakan, sementara Yordania 14 tembakan."
    assert lead_for(analyse("Berapa tembakan Yordania?"), sentence) == "14 tembakan."
    sentence = "Premium naik 21,7 persen, sedangkan medium 25 persen."
    assert lead_for(analyse("Berapa persen kenaikan medium?"), sentence) == "25 persen."
    sentence = ("Jika dibandingkan Februari 2023, kenaikannya jauh lebih tajam. Beras premium yang setahun lalu dijual "
                "Rp13.800 per kilogram kini naik 21,7 persen, sedangkan beras medium yang sebelumnya Rp11.400 per "
                "kilogram naik 25 persen.")
    # "naik" ends what "Rp11.400" counts, so it no longer restricts that figure: no lead rather than the price
    assert lead_for(analyse("Naik berapa persen harga beras medium dibanding tahun lalu?"), sentence) in (
        None, "25 persen.")


def test_the_words_after_and_belong_to_the_next_figure() -> None:
    """"... Rp11.500 per kilogram dan beras premium Rp14.400": "premium" is the second price's."""
    sentence = ("Untuk wilayah Kalimantan, HET beras medium ditetapkan Rp11.500 per kilogram dan beras premium "
                "Rp14.400 per kilogram sesuai Peraturan Bapanas.")
    assert [s.text for s in number_spans(sentence)] == ["Rp11.500 per kilogram", "Rp14.400 per kilogram"]
    assert lead_for(analyse("het beras premium brp sih"), sentence) in (None, "Rp14.400 per kilogram.")
    assert lead_for(analyse("Berapa HET beras medium?"), sentence) == "Rp11.500 per kilogram."


def test_the_figure_a_question_gives_is_not_the_one_it_asks_for() -> None:
    """"anak usia 5-14 tahun" qualifies what is counted; the count is the other figure."""
    sentence = "Berdasarkan kelompok usia, anak usia 5-14 tahun paling banyak terjangkit dengan 541 kasus."
    assert lead_for(analyse("Berapa kasus DBD pada anak usia 5-14 tahun?"), sentence) == "541 kasus."
    sentence = "Harga setiap paket dinaikkan dari Rp85.000 menjadi Rp120.000 untuk satu kilogram beras."
    span = best_span(sentence, number_spans(sentence), analyse("Berapa harga satu paket sembako?"))
    assert span is None or not span.text.lower().startswith("satu")  # no lead rather than the question's own figure


def test_a_question_about_a_price_is_answered_with_an_amount_of_money() -> None:
    sentence = "Harga beras premium naik 6,3 persen dibanding bulan lalu yang masih Rp15.800 per kilogram."
    assert lead_for(analyse("Berapa harga beras premium bulan lalu?"), sentence) == "Rp15.800 per kilogram."
    assert lead_for(analyse("Naik berapa persen harga beras premium?"), sentence) == "6,3 persen."  # a share of it


def test_from_and_to_figures_are_told_apart_by_before_and_after() -> None:
    """"dari X menjadi Y": the price after the change follows "menjadi", the one before follows "dari"."""
    sentence = "Harga setiap paket digelembungkan dari Rp108.000 menjadi Rp155.000."
    assert [s.text for s in number_spans(sentence)] == ["Rp108.000", "Rp155.000"]
    assert lead_for(analyse("Berapa harga satu paket setelah digelembungkan?"), sentence) == "Rp155.000."
    assert lead_for(analyse("Berapa harga asli satu paket sebelum digelembungkan?"), sentence) == "Rp108.000."


def test_how_long_is_answered_with_a_length_of_time() -> None:
    sentence = ("Longsor menimbun jalan nasional di enam titik sehingga akses menuju Kayu Aro sempat terputus sekitar "
                "10 jam sebelum dibersihkan dengan dua unit alat berat.")
    assert number_spans(sentence)[0].text == "enam titik"  # "sehingga" ends what is counted
    assert lead_for(analyse("Berapa lama akses jalan ke Kayu Aro terputus karena longsor?"), sentence) == "10 jam."


def test_since_when_is_answered_with_the_date_after_since() -> None:
    sentence = ("Neraca perdagangan pada Oktober 2023 mengalami surplus. Sumsel telah mencatat surplus selama 42 bulan "
                "berturut-turut sejak Mei 2020.")
    assert lead_for(analyse("Sejak kapan neraca perdagangan Sumsel surplus terus?"), sentence) == "Mei 2020."


def test_a_figure_of_another_noun_does_not_lead() -> None:
    # "Berapa kasus ...?" names what it counts: the districts written beside the cases are something else
    sentence = "Ia menyebutkan seluruh 16 kecamatan di Kota Semarang telah melaporkan kasus DBD."
    assert lead_for(analyse("Berapa jumlah kasus DBD di Kota Semarang sejak Januari 2024?"), sentence) is None
    sentence = "Para pengungsi ditampung di 14 posko pengungsian yang tersebar di masjid, sekolah dan kantor desa."
    assert lead_for(analyse("Berapa bungkus nasi yang dimasak untuk pengungsi?"), sentence) is None
    assert lead_for(analyse("Berapa posko pengungsian yang didirikan?"), sentence) == "14 posko pengungsian."
    sentence = ("Pada tahun 2020 terdapat 3.691 unit kerja yang diusulkan kepada Tim Penilai Nasional, dan 763 "
                "instansi yang berhasil mendapatkan penghargaan.")
    assert lead_for(analyse("Secara keseluruhan ada berapa pemenangnya?"), sentence) is None  # "unit" counts "kerja"
    # a unit, a length of time and a time of day count no noun of their own
    sentence = "Menurut Syarif, kebutuhan beras Kalbar mencapai sekitar 42.000 ton per bulan."
    assert lead_for(analyse("Berapa kebutuhan beras Kalbar setiap bulan?"), sentence) == "42.000 ton per bulan."
    sentence = "Unit kerja BBPPT akan dievaluasi setiap dua tahun sekali untuk dinilai apakah masih layak."
    assert lead_for(analyse("Setiap berapa tahun BBPPT akan dievaluasi?"), sentence) == "Dua tahun sekali."
    sentence = "Air datang sangat cepat sekitar pukul 21.00 WIB, membawa lumpur, batu dan kayu gelondongan dari hulu."
    assert lead_for(analyse("Jam berapa air mulai datang ke permukiman?"), sentence) == "Pukul 21.00 WIB."
    assert lead_for(analyse("Berapa skor pertandingan itu?"), sentence) is None


def test_the_whole_a_question_starts_from_is_not_its_answer() -> None:
    # "Dari semua X, berapa yang ...?" gives X: the answer is the part, not the whole
    sentence = ("Pada tahun 2020 terdapat 3.691 unit kerja yang diusulkan kepada Tim Penilai Nasional, dan 763 "
                "instansi yang berhasil mendapatkan penghargaan, terdiri atas 681 WBK dan 82 WBBM.")
    question = analyse("Dari semua unit kerja yang diusulkan, berapa yang akhirnya berhasil?")
    assert lead_for(question, sentence) == "763 instansi."
    assert lead_for(analyse("Berapa unit kerja yang diusulkan?"), sentence) == "3.691 unit kerja."


def test_no_lead_when_the_sentence_does_not_tell_which_figure() -> None:
    sentence = "Indonesia melepaskan 11 tembakan, sementara Yordania mencatatkan 14 tembakan."
    assert best_span(sentence, number_spans(sentence), analyse("Berapa tembakan?")) is None


# --- the fitted model ------------------------------------------------------------------------------------


def test_the_model_file_matches_the_features_the_code_computes() -> None:
    model = load_model()
    assert model.rank.features == RANK_FEATURES
    assert model.answer.features == ANSWER_FEATURES
    assert model.sentence.features == SENTENCE_FEATURES
    assert 0.0 < model.threshold < 1.0


def test_the_model_was_fitted_on_the_dev_split_only() -> None:
    """Tuning on the test split would make its figures meaningless."""
    splits = yaml.safe_load((ROOT / "tests" / "eval" / "splits.yml").read_text(encoding="utf-8"))
    trained = {entry["article"] for entry in load_model().trained_on}
    assert trained and trained <= set(splits["dev"]) | set(splits["kominfo"])
    assert not trained & set(splits["test"])


def test_the_rows_it_was_fitted_on_are_kept_beside_it() -> None:
    rows = MODEL_PATH.with_name("answer-model.rows.csv.gz")
    assert rows.is_file() and rows.stat().st_size > 10_000
    assert json.loads(MODEL_PATH.read_text(encoding="utf-8"))["version"]


def test_a_linear_model_standardises_then_weighs() -> None:
    model = Linear(("a", "b"), (1.0, 0.0), (2.0, 1.0), (4.0, -1.0), 0.5)
    assert model.logit({"a": 3.0, "b": 2.0}) == pytest.approx(0.5 + 4.0 * 1.0 - 2.0)
    assert model.probability({"a": 3.0, "b": 2.0}) == pytest.approx(1 / (1 + math.exp(-2.5)))


# --- answerability on the real model -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "Berapa harga pulsa internet bulan ini?",  # "harga" shares only a root with "penghargaan"
    "Berapa harga beras sekarang?",
])
def test_a_shared_root_never_makes_a_question_answerable(retriever: Retriever, question: str) -> None:
    answer = retriever.answer(question)
    assert not answer.found, answer.text


@pytest.mark.slow
def test_a_name_the_article_never_mentions_is_not_answered(retriever: Retriever) -> None:
    answer = retriever.answer("Apa kata Budi Gunadi Sadikin soal WBK?")
    assert not answer.found and "Budi Gunadi Sadikin" in answer.text  # the reply says what is missing


@pytest.mark.slow
@pytest.mark.parametrize(("question", "expected"), [
    ("Siapa yang menerima predikat WBK?", "Balai Besar Pengujian"),
    ("siapa yg dapet wbk", "Balai Besar Pengujian|Kementerian Komunikasi dan Informatika mendapat"),
    ("Berapa unit kerja yang diusulkan?", "3.691"),
    ("How many work units were proposed?", "3.691"),
])
def test_the_cards_core_questions_are_answered_however_they_are_typed(
    retriever: Retriever, question: str, expected: str,
) -> None:
    answer = retriever.answer(question, Context())
    assert answer.found and any(e in answer.text for e in expected.split("|")), answer.text


@pytest.mark.parametrize(("text", "is_background"), [
    ("Tahun lalu, Kementerian Kominfo melalui Unit Kerja Direktorat Operasi Sumber Daya juga mendapat predikat.", True),
    ("Sebelumnya, pada Desember 2023, banjir juga merendam sekitar 600 rumah.", True),
    # an earlier time inside a paragraph about now does not make it background
    ('"Kami tidak pernah berniat membungkam pers," kata Hendrawan.', False),
    ("Indonesia unggul lebih dulu lewat sundulan Rafli, lalu Yordania menyamakan skor.", False),
])
def test_a_background_paragraph_opens_on_an_earlier_time(text: str, is_background: bool) -> None:
    assert background(text) is is_background
