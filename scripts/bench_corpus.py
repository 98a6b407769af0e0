"""Synthetic Indonesian news passages and questions for the knowledge-base scale benchmark.

Nothing is downloaded: passages are built from templates and word lists in the
style of the ANTARA article (ministries, provinces, officials, counts, quotes),
one or two sentences each, like the product's sentence and paragraph passages.
The same seed always gives the same texts, so their embeddings can be cached.
"""

from __future__ import annotations

import random

GENERATOR_VERSION = 1

PROVINCES = [
    "Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Jambi", "Sumatera Selatan", "Bengkulu", "Lampung",
    "Bangka Belitung", "Kepulauan Riau", "DKI Jakarta", "Jawa Barat", "Jawa Tengah", "DI Yogyakarta",
    "Jawa Timur", "Banten", "Bali", "Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Barat",
    "Kalimantan Tengah", "Kalimantan Selatan", "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara",
    "Sulawesi Tengah", "Sulawesi Selatan", "Sulawesi Tenggara", "Gorontalo", "Sulawesi Barat", "Maluku",
    "Maluku Utara", "Papua", "Papua Barat",
]
CITIES = [
    "Bandung", "Surabaya", "Medan", "Makassar", "Semarang", "Palembang", "Denpasar", "Padang", "Pontianak",
    "Manado", "Balikpapan", "Pekanbaru", "Malang", "Yogyakarta", "Mataram", "Kupang", "Ambon", "Jayapura",
    "Banjarmasin", "Samarinda", "Jambi", "Bengkulu", "Serang", "Bogor", "Cirebon", "Solo", "Tegal", "Kendari",
    "Palu", "Ternate",
]
ORGS = [
    "Kementerian Komunikasi dan Informatika", "Kementerian Keuangan", "Kementerian Kesehatan",
    "Kementerian Pendidikan dan Kebudayaan", "Kementerian Perhubungan", "Kementerian Pertanian",
    "Kementerian Dalam Negeri", "Kementerian Sosial", "Kementerian Pariwisata", "Badan Pusat Statistik",
    "Badan Siber dan Sandi Negara", "Badan Pemeriksa Keuangan", "Komisi Pemberantasan Korupsi",
    "Ombudsman Republik Indonesia", "Badan Nasional Penanggulangan Bencana", "Bank Indonesia",
    "Otoritas Jasa Keuangan", "Lembaga Kebijakan Pengadaan Barang/Jasa Pemerintah",
    "Kementerian PANRB", "Badan Aksesibilitas Telekomunikasi dan Informasi", "Dinas Komunikasi dan Informatika",
    "Pemerintah Kota", "Pemerintah Kabupaten", "Pemerintah Provinsi", "Badan Riset dan Inovasi Nasional",
]
TITLES = [
    "Menteri", "Direktur Jenderal", "Sekretaris Jenderal", "Kepala Dinas", "Kepala Badan", "Inspektur Jenderal",
    "Direktur Utama", "Gubernur", "Wali Kota", "Bupati", "Kepala Biro Humas", "Deputi Bidang Pelayanan Publik",
    "Kepala Balai", "Asisten Deputi", "Staf Ahli Menteri",
]
FIRST = [
    "Ahmad", "Budi", "Siti", "Dewi", "Rudi", "Agus", "Sri", "Indra", "Rina", "Hendra", "Yusuf", "Ratna", "Joko",
    "Fitri", "Bambang", "Lestari", "Andi", "Nurul", "Eko", "Wahyu", "Putri", "Teguh", "Dian", "Arif", "Maya",
    "Hasan", "Intan", "Rizal", "Sari", "Fajar", "Ismail", "Yanti", "Gilang", "Nadia", "Taufik", "Melati",
    "Bayu", "Kartika", "Dedi", "Anisa",
]
LAST = [
    "Santoso", "Wijaya", "Hidayat", "Saputra", "Pratama", "Nugroho", "Siregar", "Nasution", "Harahap",
    "Simanjuntak", "Rahman", "Kurniawan", "Setiawan", "Susanto", "Gunawan", "Hakim", "Lubis", "Sitompul",
    "Putra", "Permana", "Wibowo", "Hartono", "Sembiring", "Tanjung", "Firmansyah", "Mahendra", "Utomo",
    "Suryadi", "Halim", "Purnomo", "Daulay", "Syahputra", "Wahid", "Effendi", "Kusuma", "Ramadhan", "Anwar",
    "Batubara", "Sinaga", "Marpaung",
]
OBJECTS = [
    "program digitalisasi desa", "jaringan internet 4G", "layanan administrasi kependudukan daring",
    "pusat data nasional", "aplikasi pengaduan masyarakat", "pelatihan literasi digital",
    "pembangunan menara telekomunikasi", "sistem pengadaan elektronik", "program beasiswa vokasi",
    "layanan kesehatan jarak jauh", "penyaluran bantuan sosial tunai", "zona integritas unit pelayanan",
    "pembangunan jalan tol", "revitalisasi pasar tradisional", "sertifikasi perangkat telekomunikasi",
    "program vaksinasi lanjutan", "sistem perizinan terpadu", "penataan spektrum frekuensi radio",
    "gerakan nasional antikorupsi", "pembangunan bendungan", "program kartu prakerja", "layanan paspor elektronik",
    "satelit multifungsi", "kawasan ekonomi khusus", "program ketahanan pangan", "penanganan banjir",
    "pemulihan ekonomi daerah", "akreditasi rumah sakit", "perpustakaan digital", "transportasi massal",
    "pengelolaan sampah plastik", "penerangan jalan tenaga surya", "sekolah penggerak", "pelabuhan perikanan",
    "wisata desa", "kredit usaha rakyat", "pos pelayanan terpadu", "jaringan serat optik Palapa Ring",
    "reformasi birokrasi", "pengawasan dana desa",
]
VERBS_PAST = [
    "meresmikan", "meluncurkan", "menyerahkan", "menilai", "mengumumkan", "meninjau", "mengevaluasi",
    "memperluas", "menyelesaikan", "memulai", "mendukung", "mengawasi", "mempercepat", "menandatangani",
    "menganggarkan",
]
UNITS = ["unit kerja", "desa", "sekolah", "puskesmas", "kantor layanan", "pelaku UMKM", "peserta", "kelurahan"]
REGIONS = ["kabupaten", "kota", "provinsi", "kecamatan", "kementerian", "lembaga"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
    "November", "Desember",
]
QUOTES = [
    "Kami berharap capaian ini menjadi motivasi bagi seluruh pegawai",
    "Pelayanan publik harus semakin cepat, mudah dan bebas pungutan liar",
    "Program ini kami lanjutkan sampai seluruh desa terjangkau",
    "Anggaran harus dipakai secara transparan dan akuntabel",
    "Masyarakat bisa melapor langsung jika menemukan penyimpangan",
    "Target kami tahun depan adalah memperluas jangkauan layanan",
    "Kolaborasi dengan pemerintah daerah menjadi kunci keberhasilan",
    "Kami terus memperbaiki tata kelola agar kepercayaan publik meningkat",
    "Inovasi harus terasa manfaatnya bagi warga di daerah terpencil",
    "Evaluasi dilakukan setiap tiga bulan sekali",
    "Kami tidak akan menoleransi praktik korupsi dalam bentuk apa pun",
    "Data yang akurat membuat bantuan tepat sasaran",
]
TOPICS = [
    "indeks kepuasan masyarakat", "jumlah pengguna internet", "realisasi anggaran", "jumlah pengaduan",
    "angka partisipasi sekolah", "produksi beras", "jumlah wisatawan", "indeks persepsi korupsi",
    "pendapatan asli daerah", "cakupan imunisasi", "jumlah pelaku UMKM digital", "kecepatan internet rata-rata",
]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _date(rng: random.Random) -> str:
    return f"{rng.choice(DAYS)} ({rng.randint(1, 28)}/{rng.randint(1, 12)})"


def _sentence(rng: random.Random) -> str:
    """One news sentence from one of several templates."""
    kind = rng.randrange(6)
    org, obj, place = rng.choice(ORGS), rng.choice(OBJECTS), rng.choice(PROVINCES + CITIES)
    if kind == 0:
        return (f"{org} {rng.choice(VERBS_PAST)} {obj} di {place} pada {_date(rng)}, "
                f"dengan anggaran Rp{rng.randint(2, 950)} miliar.")
    if kind == 1:
        return (f"\"{rng.choice(QUOTES)},\" kata {rng.choice(TITLES)} {_person(rng)} di {rng.choice(CITIES)}, "
                f"{_date(rng)}.")
    if kind == 2:
        return (f"Sebanyak {rng.randint(3, 4000)} {rng.choice(UNITS)} di {rng.randint(2, 300)} "
                f"{rng.choice(REGIONS)} telah mengikuti {obj} sejak {rng.randint(2010, 2022)}.")
    if kind == 3:
        return (f"{_person(rng)}, {rng.choice(TITLES)} di {org}, menyebutkan bahwa {obj} di {place} akan "
                f"selesai pada {rng.choice(MONTHS)} {rng.randint(2021, 2026)}.")
    if kind == 4:
        return (f"Menurut {org}, {rng.choice(TOPICS)} di {place} naik {rng.randint(1, 60)},{rng.randint(0, 9)} "
                f"persen dibandingkan tahun lalu.")
    return (f"Pemerintah Provinsi {rng.choice(PROVINCES)} dan {org} menandatangani nota kesepahaman tentang {obj} "
            f"yang melibatkan {rng.randint(2, 90)} {rng.choice(REGIONS)}.")


def passages(n: int, seed: int = 2020) -> list[str]:
    """n distinct passages, most of one sentence, some of two; a smaller n is a prefix of a larger one."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        text = _sentence(rng) if rng.random() < 0.7 else f"{_sentence(rng)} {_sentence(rng)}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def questions(n: int, seed: int = 7) -> list[str]:
    """n reader questions in the same vocabulary (who, how many, when, what did X say)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        obj, place = rng.choice(OBJECTS), rng.choice(PROVINCES + CITIES)
        kind = rng.randrange(5)
        if kind == 0:
            out.append(f"Siapa yang {rng.choice(VERBS_PAST)} {obj} di {place}?")
        elif kind == 1:
            out.append(f"Berapa anggaran {obj} di {place}?")
        elif kind == 2:
            out.append(f"Apa kata {rng.choice(TITLES)} {_person(rng)} tentang {obj}?")
        elif kind == 3:
            out.append(f"Kapan {obj} di {place} selesai?")
        else:
            out.append(f"Berapa persen kenaikan {rng.choice(TOPICS)} di {place}?")
    return out
