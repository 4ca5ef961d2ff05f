"""The BM25 index (built by bm25s, scored with numpy): scores against bm25s's own, the coverage gate, allowed rows, saving and loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import iter_articles
from index.errors import IndexMismatchError
from index.settings import NAME_FIELD_WEIGHT
from index.storage.lexical import LexicalIndex
from index.terms import terms
from index.transliteration import query_keys

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

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


def _bm25s_scores(folder: Path, query: str) -> np.ndarray:
    """The scorer this module used before it read bm25s's arrays itself: bm25s's ``get_scores`` on each field."""
    import bm25s

    fields = bm25s.BM25.load(str(folder), mmap=True), bm25s.BM25.load(str(folder / "names"), mmap=True)
    weights = dict.fromkeys(terms(query))
    keys = {t: k for t, k in query_keys(list(weights)).items() if k in fields[1].vocab_dict}
    scores = np.zeros(fields[0].scores["num_docs"], dtype=np.float32)
    if found := [t for t in weights if t in fields[0].vocab_dict]:
        scores += np.asarray(fields[0].get_scores(found), dtype=np.float32)
    if keys:
        scores += NAME_FIELD_WEIGHT * np.asarray(fields[1].get_scores(list(dict.fromkeys(keys.values()))), np.float32)
    return scores


def _assert_scores_match_bm25s(texts: list[str], queries: list[str], folder: Path) -> None:
    LexicalIndex.build(texts).save(folder)
    loaded = LexicalIndex.load(folder, mmap=True)
    scored = 0
    for query in queries:
        ours, theirs = loaded.match(query).scores, _bm25s_scores(folder, query)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape == (len(texts),)
        assert np.allclose(ours, theirs, rtol=0, atol=1e-6), query
        scored += bool(theirs.any())
    assert scored >= len(queries) // 2  # the comparison is not vacuous: most queries match some rows


def test_numpy_scores_equal_bm25s_on_the_seeds(tmp_path: Path) -> None:
    """Issue 16 (b): a query scores with numpy alone, the same scores as bm25s, on every seed paragraph."""
    articles = list(iter_articles([SEEDS]))
    texts = [p for a in articles for p in [a.title, *a.text.split("\n\n")] if p.strip()]
    queries = [a.title for a in articles] + ["Russia Iran treaty", "Putin Pezeshkian Moscow", "زلزال", "地震 7.5"]
    _assert_scores_match_bm25s(texts, queries, tmp_path / "lex")


def test_numpy_scores_equal_bm25s_on_a_synthetic_corpus(tmp_path: Path) -> None:
    """Issue 16 (b): the same on 3,000 rows of Zipf-distributed words from four scripts, empty rows included."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(400)] + [f"ب{i}ت" for i in range(200)] + ["北京", "上海"] + ["Путин", "Москва"]
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    texts = [" ".join(rng.choice(words, size=int(n), p=weights)) for n in rng.integers(0, 40, 3000)]
    queries = [" ".join(rng.choice(words, size=int(n), replace=False)) for n in rng.integers(1, 6, 60)]
    _assert_scores_match_bm25s(texts, [*queries, "Putin Moskva", "zzz unknown"], tmp_path / "lex")


def test_a_query_imports_neither_bm25s_nor_scipy(tmp_path: Path) -> None:
    """Issue 16 (b): loading the lexical index and scoring a query imports neither (scipy alone is ~0.3 s)."""
    LexicalIndex.build(DOCS).save(tmp_path / "lex")
    code = (
        "import sys; from pathlib import Path; from index.storage.lexical import LexicalIndex; "
        f"lex = LexicalIndex.load(Path({str(tmp_path / 'lex')!r}), mmap=True); "
        "assert lex.search('Palu quake', 3)[1].tolist()[0] == 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bm25s', 'scipy')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
