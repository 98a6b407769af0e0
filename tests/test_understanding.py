"""Stage 1 on the real article: question kinds, focus and names, follow-ups, and who speaks where."""

from __future__ import annotations

import re

import pytest

from knowledge.extract import paragraph_speakers, person_name
from knowledge.followup import Context, focus_of, resolve
from knowledge.question import analyse, embedding_text


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Berapa unit kerja yang diusulkan?", "count"),
        ("brp unit kerja yg diusulkan", "count"),
        ("How many work units were proposed?", "count"),
        ("Siapa yang menerima predikat WBK?", "who"),
        ("Siapa yang bilang begitu?", "who_said"),
        ("Siapa yang menilai revisi itu mendesak?", "who_said"),  # a verb of saying from speech.txt
        ("Siapa yang berpendapat bahwa kepercayaan publik lahir dari kerja keras?", "who_said"),
        ("Apa kata Ismail?", "quote"),
        ("Ismail bilang apa?", "quote"),
        ("Apa kepanjangan WBK?", "define"),
        ("Kapan acara itu diadakan?", "when"),
        ("Tanggal berapa acara itu?", "when"),
        ("When was the ceremony held?", "when"),
        ("Di mana acaranya?", "where"),
        ("Mengapa predikat itu penting?", "why"),
        ("Apa yang dibahas?", "what"),
        # formal -kah and a preposition written onto "mana" ask the same as the plain word
        ("Siapakah yang menerima predikat WBK?", "who"),
        ("Kapankah acara itu diadakan?", "when"),
        ("Dimana acaranya?", "where"),
        ("Di manakah acaranya?", "where"),
        ("Apakah acaranya virtual?", "what"),  # "apakah" asks yes or no
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert analyse(question).kind == kind


def test_question_words_are_never_terms() -> None:
    assert analyse("Seberapa sering unit kerja dievaluasi?").terms == ("sering", "unit", "kerja", "evaluasi")
    assert analyse("Dimanakah acaranya?").terms == ("acara",)


def test_how_berapa_asks_is_not_what_it_asks_about() -> None:
    # "berapa banyak", "seberapa lama": an article that never writes "banyak" still answers the question
    assert analyse("Berapa banyak instansi yang memperoleh predikat WBK?").terms == ("instansi", "oleh", "predikat",
                                                                                     "wbk")
    assert analyse("Sudah berapa lama harga beras naik?").terms == ("harga", "beras", "naik")
    # elsewhere the words are the question's own: "banyak warga" is a topic
    assert "banyak" in analyse("Banyak warga mengungsi ke mana?").terms


def test_focus_is_what_the_question_word_asks_about() -> None:
    assert analyse("Berapa rumah yang terendam banjir?").focus == ("rumah",)
    assert analyse("Siapa yang memimpin evakuasi?").focus[0] == "pimpin"


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        # "apa", "mana" and "siapa" follow the noun they ask about
        ("Predikat itu diberikan oleh lembaga apa?", ("lembaga",)),
        ("Kecamatan mana saja yang terdampak banjir?", ("kecamatan",)),
        ("Di stadion mana Indonesia melawan Yordania?", ("stadion",)),
        ("Pemain Yordania siapa yang diusir wasit?", ("pemain", "yordania")),
        ("dia asalnya dari negara mana?", ("negara",)),
        # ... but a question word that opens its phrase asks about what follows it
        ("Menurut Dirjen SDPPI, apa konsekuensi predikat itu?", ("konsekuensi", "predikat")),
        # who is quoted is not what is asked, even right before "siapa"
        ("Menurut Sri Wahyuningsih, siapa yang menggeser anaknya?", ("geser", "anak")),
        ("Apa jabatan Ismail?", ("jabatan", "ismail")),
        ("Which river overflowed?", ("river", "overflowed")),
        # "berapa jumlah", "berapa banyak": what is counted, not the word for a quantity
        ("Berapa jumlah KPM fiktif yang ditemukan penyidik?", ("kpm", "fiktif")),
        ("Berapa banyak dukungan yang terkumpul?", ("dukungan",)),
        ("Berapa nilai ekspor CPO pada Oktober 2023?", ("ekspor", "cpo")),
        ("Berapa lama kurungan pengganti kalau dendanya tidak dibayar?", ("kurungan", "pengganti")),
        ("Apa kata jaksa Dedi soal putusan hakim?", ("jaksa", "dedi")),
        # a question word with -nya is still the question word, not the noun "apa" belongs to
        ("WBK sama WBBM tuh kepanjangannya apa aja?", ()),
    ],
)
def test_focus_is_the_noun_the_question_word_belongs_to(question: str, focus: tuple[str, ...]) -> None:
    assert analyse(question).focus == focus


def test_a_question_word_with_nya_keeps_its_kind() -> None:
    # words() drops the -nya, so the table needs no entry for it
    assert analyse("WBK tuh kepanjangannya apa?").kind == "define"
    assert analyse("Menurutnya, kenapa kasus naik?").kind == "quote"


def test_names_and_numbers_are_kept_as_typed() -> None:
    q = analyse("Berapa kasus DBD di Kecamatan Banyumanik pada 2024?")
    assert "Kecamatan Banyumanik" in q.names and "DBD" in q.names
    assert q.numbers == ("2024",)
    assert analyse("Siapa yang menerima?").names == ()  # a capital that starts the sentence is no name
    # A reduplicated word that starts the sentence is as ordinary as its base.
    assert analyse("Kira-kira berapa unit kerja yang diusulkan?").names == ()
    assert analyse("Masing-masing Kecamatan Banyumanik berapa kasus?").names == ("Kecamatan Banyumanik",)


def test_english_is_recognised_and_keeps_no_indonesian_terms_of_its_own() -> None:
    q = analyse("Who received the WBK award?")
    assert q.english and q.kind == "who"
    assert "wbk" in q.terms  # names and abbreviations still match the article


def test_a_short_english_question_is_english_by_its_wh_word() -> None:
    assert analyse("Which river overflowed?").english  # one function word of three
    assert analyse("How many?").english
    assert not analyse("Sungai mana yang meluap?").english
    assert not analyse("Apa yang dibahas?").english


def test_english_possessive_and_capitalised_chat_words_are_not_part_of_names() -> None:
    assert analyse("Who is Bulog's regional head in West Kalimantan?").names == ("Bulog", "West Kalimantan")
    assert analyse("Gimana caranya meraih WBK?").names == ("WBK",)  # "Gimana" is "bagaimana"


def test_the_embedder_reads_chat_spelling_expanded() -> None:
    assert embedding_text("brp unit yg diusulkan?") == "berapa unit yang diusulkan"
    assert embedding_text("How many units were proposed?") == "How many units were proposed?"


def test_speakers_include_pronoun_references(article) -> None:
    speakers = {n: s.name for n, s in paragraph_speakers(article).items()}
    assert speakers == {2: "Ismail", 4: "Ismail", 5: "Ismail", 7: "Ma'ruf Amin", 8: "Ma'ruf Amin", 9: "Ma'ruf Amin"}


@pytest.mark.parametrize(("mention", "name"), [
    ("Kepala Pelaksana BPBD Kerinci, Darmawan Saputra", "Darmawan Saputra"),
    ("Wakil Presiden K.H. Ma’ruf Amin", "Ma'ruf Amin"),
    ("Sri Wahyuningsih, warga Kelurahan Tlogosari Kulon", "Sri Wahyuningsih"),
    ("Yusnidar (45)", "Yusnidar"),
    ("Majelis hakim", ""),  # no one named
    ("Persatuan Sepak Bola Seluruh Indonesia (PSSI)", ""),  # an organisation
    # a title in lower case after the comma starts the name, and a degree after it is not the name
    ("dokter spesialis anak RSUD K.R.M.T. Wongsonegoro, dr. Anindya Puspitasari, Sp.A", "Anindya Puspitasari"),
    ("Guru Besar Hukum Pidana Universitas Sriwijaya, Prof. Febrian, S.H., M.Hum", "Febrian"),
    # a title's word inside a name, and a place that belongs to the organisation before the name
    ("anggota Komisi I dari Fraksi Partai Keadilan Sejahtera (PKS), Abdul Hakim Lubis", "Abdul Hakim Lubis"),
    ("Ketua Umum AJI Indonesia Taufik Hidayatullah", "Taufik Hidayatullah"),
    ("Hakim Ketua Budi Santoso", "Budi Santoso"),
])
def test_person_names_come_after_titles_and_before_descriptions(mention: str, name: str) -> None:
    assert person_name(mention) == name


def test_a_title_written_in_lower_case_elsewhere_is_not_a_first_name() -> None:
    # "majelis hakim menjatuhkan vonis": "Majelis" is a word, so "Hakim" here is a title, not a name
    assert person_name("Ketua Majelis Hakim Dedi Santoso", frozenset({"majelis"})) == "Dedi Santoso"


@pytest.mark.parametrize(
    ("question", "context", "expected", "more"),
    [
        ("selain itu beliau bilang apa lagi?", Context("Apa kata Ismail?", "Ismail"),
         "selain itu Ismail bilang apa lagi?", True),
        ("kalau WBBM?", Context("Berapa instansi yang dapat WBK?", "", "WBK"), "Berapa instansi yang dapat WBBM?",
         False),
        ("kalau pemerintah kota?", Context("Berapa kementerian yang dapat penghargaan?", "", "kementerian"),
         "Berapa pemerintah kota yang dapat penghargaan?", False),
        ("Siapa yang menerima predikat WBK?", Context("Apa kata Ismail?", "Ismail"),
         "Siapa yang menerima predikat WBK?", False),
        ("according to her, what caused the flood?", Context("Apa kata prakirawan BMKG?", "Novia Ramadhani"),
         "according to Novia Ramadhani, what caused the flood?", False),
        # the preposition the reader repeats is not written twice
        ("kalau di SMK?", Context("Berapa persen kuota jalur prestasi di SMA?", "", "SMA"),
         "Berapa persen kuota jalur prestasi di SMK?", False),
        ("kalau ke Malaysia?", Context("Berapa nilai ekspor ke RRT?", "", "RRT"), "Berapa nilai ekspor ke Malaysia?",
         False),
        # English: "what/how about X?" is elliptic; "What is X?" and "How many ...?" are questions of their own
        ("what about WBBM?", Context("Apa kepanjangan WBK?", "", "WBK"), "Apa kepanjangan WBBM?", False),
        ("What is Ismail's position?", Context("Apa kepanjangan WBK?", "", "WBK"), "What is Ismail's position?",
         False),
        ("How many work units?", Context("Berapa LPNK yang dapat WBK?", "", "LPNK"), "How many work units?", False),
        # "bagaimana" too: elliptic before "dengan", a question of its own before a noun
        ("bagaimana dengan WBBM?", Context("Berapa instansi yang dapat WBK?", "", "WBK"),
         "Berapa instansi yang dapat WBBM?", False),
        ("Bagaimana tanggapan Dewan Pers?", Context("Berapa pasal yang dipersoalkan?", "", "pasal"),
         "Bagaimana tanggapan Dewan Pers?", False),
    ],
)
def test_follow_ups_become_standalone_questions(question: str, context: Context, expected: str, more: bool) -> None:
    resolved = resolve(question, context)
    assert resolved.text == expected
    assert resolved.wants_more is more


def test_a_place_swapped_in_replaces_the_place_not_what_is_counted() -> None:
    # the previous focus is what was counted ("nilai ekspor"); "ke Malaysia" takes the place of "ke India"
    context = Context("Berapa nilai ekspor nonmigas Sumsel ke India?", "", "nilai ekspor")
    assert resolve("terus yang ke Malaysia?", context).text == "Berapa nilai ekspor nonmigas Sumsel ke Malaysia?"
    context = Context("Berapa kasus DBD di Tembalang?", "", "kasus DBD")
    assert resolve("kalau di Ngaliyan?", context).text == "Berapa kasus DBD di Ngaliyan?"


def test_a_modifier_swapped_in_replaces_the_word_it_pairs_with_in_the_article() -> None:
    article = ("harga beras premium naik 6,3 persen dibanding bulan lalu yang masih rp15.800 per kilogram. pada "
               "periode yang sama, beras medium naik 7,5 persen dari rp13.250 per kilogram.")

    def writes(phrase: str) -> bool:
        return re.search(rf"\b{re.escape(phrase)}\b", article) is not None

    context = Context("Berapa harga beras premium bulan lalu?", "", "harga beras")
    assert resolve("kalau yang medium?", context, writes).text == "Berapa harga beras medium bulan lalu?"
    # only the article's own pairs of words decide: one that never writes "beras medium" keeps "premium"
    assert "premium" in resolve("kalau yang medium?", context, lambda phrase: False).text


def test_focus_is_the_abbreviation_or_the_counted_noun() -> None:
    assert focus_of("Apa kepanjangan WBK?") == "WBK"
    assert focus_of("Berapa kementerian yang dapat penghargaan?") == "kementerian"


@pytest.mark.parametrize(("question", "anaphoric"), [
    ("berapa pendaftar di sekolahnya?", True),  # her school: the one the last answer was about
    ("selisihnya sama harga pasar sekarang berapa?", True),
    ("menurutnya apa penyebabnya?", True),
    ("kepanjangannya apa?", False),  # a question word with -nya
    ("selanjutnya bagaimana?", False),  # an adverb, se-...-nya
    ("kalau bulan sebelumnya?", False),
    ("Berapa rumah yang terendam?", False),
])
def test_a_noun_with_nya_points_back_to_what_was_said_before(question: str, anaphoric: bool) -> None:
    assert analyse(question).anaphoric is anaphoric


@pytest.mark.parametrize(("question", "present"), [
    ("Unit kerja Kominfo apa yang tahun ini dapat WBK?", True),
    ("Berapa harga beras medium sekarang?", True),
    ("How many cases were recorded this year?", True),
    ("Unit mana yang dapat WBK tahun lalu?", False),
    ("Berapa rumah yang terendam?", False),
])
def test_a_question_can_say_it_asks_about_now(question: str, present: bool) -> None:
    assert analyse(question).present is present
