"""The BM25 index (bm25s): scores, the coverage gate, allowed rows, saving and loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.lexical import LexicalIndex

DOCS = [
    "Palu was hit by a 7.5 magnitude quake and a tsunami.",
    "زلزال بقوة 7.5 درجة ضرب مدينة بالو",
    "",
    "印度尼西亚发生7.5级地震",
    "The tsunami warning was lifted; the quake damaged roads.",
    "Markets rallied on Friday.",
]


def test_bm25_ranks_rows_sharing_the_query_terms() -> None:
    index = LexicalIndex.build(DOCS)
    scores, rows = index.search("Palu quake", 10)
    assert rows.tolist()[0] == 0 and set(rows.tolist()) == {0, 4}
    assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
    assert index.search("زلزال بالو", 10)[1].tolist() == [1]  # Arabic, article prefix folded
    assert index.search("地震", 10)[1].tolist() == [3]  # Chinese bigram
    assert index.search("nothing here", 10)[1].tolist() == []


def test_numbers_match_across_scripts_and_allowed_rows_filter() -> None:
    index = LexicalIndex.build(DOCS)
    assert set(index.search("7.5", 10)[1].tolist()) == {0, 1, 3}
    allowed = np.zeros(len(DOCS), bool)
    allowed[[1, 3]] = True
    assert set(index.search("7.5", 10, allowed)[1].tolist()) == {1, 3}


def test_coverage_gate_keeps_rows_holding_most_of_the_query() -> None:
    index = LexicalIndex.build(DOCS)
    # "palu" is rare, "quake" and "tsunami" occur twice: row 4 lacks the rarest term
    assert set(index.search("Palu tsunami quake", 10, min_coverage=0.0)[1].tolist()) == {0, 4}
    assert index.search("Palu tsunami quake", 10, min_coverage=0.9)[1].tolist() == [0]
    # a term the corpus never saw counts against every row
    assert index.search("Palu zzzunknown", 10, min_coverage=0.9)[1].tolist() == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = LexicalIndex.build(DOCS)
    index.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex", mmap=True)
    assert loaded.rows == len(DOCS)
    for query in ("Palu quake", "7.5", "地震"):
        a, b = index.search(query, 5), loaded.search(query, 5)
        assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0])
