"""Benchmark IcdIndex.search over ~200 realistic queries; records icd_search_index_p95_ms.

Run from the repository root: ``python -m bench.bench_icd``. The index holds every WHO code
plus the sample Vietnamese titles; the full Ministry list roughly doubles the title postings.
"""

from __future__ import annotations

import time

from bench.common import median, p95, record
from station.catalog.icd10 import SAMPLE_VI_TITLES, build_index
from station.text import fold

ROUNDS = 5

CODES = [
    "j06", "J06.9", "J069", "j00", "J02.9", "j03", "J18", "j20.9", "J44", "j45.9", "I10", "i1", "I25",
    "e11", "E11.9", "e119", "E78", "k29", "K29.7", "k21.9", "K59", "a09", "A09.9", "A91", "a97", "b01",
    "B08.4", "m54", "M54.5", "m17", "R50", "r50.9", "R51", "r05", "z00", "Z34.9", "n39", "H10", "h66",
    "L30", "d50", "F41", "g43", "e66", "T14", "s0", "S72.0", "o80", "u07", "c34",
]
ENGLISH = [
    "fever", "cough", "headache", "hypertension", "essential hypertension", "diabetes", "type 2 diabetes",
    "diabetes mellitus without complications", "asthma", "pneumonia", "bronchitis", "acute bronchitis",
    "pharyngitis", "tonsillitis", "upper respiratory infection", "common cold", "gastritis", "reflux",
    "constipation", "diarrhoea", "gastroenteritis", "dengue", "varicella", "conjunctivitis", "otitis media",
    "dermatitis", "urinary tract infection", "low back pain", "back pain", "myalgia", "gonarthrosis",
    "anaemia", "iron deficiency", "dental caries", "anxiety", "migraine", "obesity", "pregnancy",
    "supervision of normal pregnancy", "general medical examination", "open wound", "fracture of femur",
    "tuberculosis", "hepatitis b", "covid", "influenza", "scabies", "malaria", "heart failure", "stroke",
]
VIETNAMESE = [
    "viêm họng", "viêm họng cấp", "sốt", "sốt xuất huyết", "ho", "đau đầu", "tăng huyết áp", "đái tháo đường",
    "viêm phế quản", "viêm phổi", "hen phế quản", "viêm dạ dày", "trào ngược", "táo bón", "tiêu chảy",
    "thủy đậu", "tay chân miệng", "viêm kết mạc", "viêm tai giữa", "viêm da", "nhiễm trùng tiết niệu",
    "đau thắt lưng", "đau cơ", "thoái hóa khớp gối", "thiếu máu", "sâu răng", "rối loạn lo âu",
    "đau nửa đầu", "tăng lipid máu", "khám sức khỏe", "theo dõi thai", "nhiễm trùng hô hấp trên",
    "bệnh phổi tắc nghẽn", "viêm amidan", "viêm mũi họng", "béo phì", "đau", "viêm", "nhiễm trùng", "bệnh",
]
MIXED_CASE = ["VIEM HONG", "Sot Xuat Huyet", "TANG HUYET AP", "dai thao duong", "Đau Đầu", "hyper", "diab", "pneu"]


def queries() -> list[str]:
    """Return the query mix: codes, English, Vietnamese with and without diacritics, odd casing."""
    return CODES + ENGLISH + VIETNAMESE + [fold(q) for q in VIETNAMESE] + MIXED_CASE


def main() -> None:
    """Build the index, time every query ROUNDS times after a warm-up, record the p95."""
    started = time.perf_counter()
    index = build_index(SAMPLE_VI_TITLES)
    build_ms = (time.perf_counter() - started) * 1000
    mix = queries()
    for query in mix:  # warm-up
        index.search(query)
    samples: list[float] = []
    for _ in range(ROUNDS):
        for query in mix:
            t0 = time.perf_counter_ns()
            index.search(query, limit=20)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    print(f"{len(index)} codes, index built in {build_ms:.0f} ms; {len(mix)} queries x {ROUNDS} rounds")
    print(f"median {median(samples):.3f} ms, max {max(samples):.3f} ms")
    record({"icd_search_index_p95_ms": p95(samples)})


if __name__ == "__main__":
    main()
