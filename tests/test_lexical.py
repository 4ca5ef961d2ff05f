"""The BM25 index (bm25s): scores, the coverage gate, allowed rows, saving and loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexMismatchError
from index.storage.lexical import LexicalIndex

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
    assert rows.tolist()[0] == 0 and set(rows.tolist()) == {0, 4}  # بالو keys as "bl": too short to match
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


NAMES = [
    "بوتين وبيزشكيان يوقعان معاهدة في موسكو",  # Arabic: Putin and Pezeshkian sign a treaty in Moscow
    "Путин встретился с Пезешкианом в Москве",  # Russian, inflected
    "پوتین و پزشکیان در مسکو",  # Persian
    "Putin spoke on Friday about the economy.",
    "北京宣布新的经济计划",  # Chinese: Beijing announces a new economic plan
    "Markets rallied on Friday.",
]


def test_latin_names_match_their_spelling_in_other_scripts() -> None:
    index = LexicalIndex.build(NAMES)
    rows = index.search("Putin Pezeshkian Moscow", 10, min_coverage=0.7)[1].tolist()
    # Arabic and Persian hold all three names; the Russian row holds two (Москве keys as "mskf", not "msk")
    assert set(rows) == {0, 2}
    assert set(index.search("Putin Pezeshkian", 10, min_coverage=0.7)[1].tolist()) == {0, 1, 2}
    assert index.search("Beijing", 10)[1].tolist() == [4]  # Han bigram 北京 keys as "bjng"
    # the names field is searched with Latin query words only: an Arabic query matches only Arabic words
    assert index.search("بوتين", 10)[1].tolist() == [0]
    # Latin rows are not keyed: "Putin" finds the English row through the ordinary field, and coverage counts it
    match = index.match("Putin")
    assert match.coverage[[0, 1, 2, 3]].tolist() == [1.0, 1.0, 1.0, 1.0] and match.coverage[5] == 0.0


def test_an_index_without_the_names_field_is_refused(tmp_path: Path) -> None:
    LexicalIndex.build(NAMES).save(tmp_path / "lex")
    (tmp_path / "lex" / "rows.json").write_text('{"rows": 6}', encoding="utf-8")  # as written before the field
    with pytest.raises(IndexMismatchError, match="rebuild it with `semsearch build`"):
        LexicalIndex.load(tmp_path / "lex")
