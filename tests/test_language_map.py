"""The language map a build applies to its vectors (index/storage/rows.py, ``LanguageMeans``): LEACE fitted on
the index's own rows and languages, stored, read back and applied in one place; centring where LEACE cannot be
fitted (and for indexes built before format 7); kept or re-fitted by incremental builds and writes. Plumbing
embedder, real FAISS and SQLite; the retrieval gain itself is measured with the real model (slow test below)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import Settings, build_index, open_index
from index.build.writes import write_articles
from index.embedding import Embedder
from index.hashing import text_hash
from index.models import Article
from index.storage.layout import MANIFEST_FILE, MEANS_FILE
from index.storage.rows import LanguageMeans
from index.storage.versions import CURRENT
from index.vectors.centring import STRENGTH
from index.vectors.erasure import LEACE_STRENGTH, MIN_LANGUAGE_ROWS
from search import SearchEngine
from tests.conftest import ROOT, HashEmbedder, write_corpus

WORDS = "harbour bridge election storm market vaccine railway festival drought summit court river".split()


def _rows(counts: dict[str, int], dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors with a per-language offset (something to erase), ``counts[lang]`` rows of each."""
    rng = np.random.default_rng(seed)
    langs = [lang for lang, n in counts.items() for _ in range(n)]
    offsets = {lang: rng.standard_normal(dim) for lang in counts}
    x = rng.standard_normal((len(langs), dim)) + np.stack([offsets[lang] for lang in langs])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), langs


def _lines(lang: str, n: int, start: int = 0) -> str:
    """``n`` JSONL articles in ``lang``, each a headline and one passage (two rows)."""
    out = []
    for i in range(start, start + n):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(6))
        out.append(json.dumps({"id": f"{lang}-{i}", "title": f"{lang} {WORDS[i % len(WORDS)]} {i}",
                               "text": f"{lang} {words} number {i}.", "lang": lang}))  # fmt: skip
    return "\n".join(out) + "\n"


def _article(lang: str, i: int) -> Article:
    title, text = f"{lang} Brücke {i}", f"{lang} Eine neue Brücke Nummer {i}."
    return Article(f"{lang}-{i}", title, text, lang, None, None, None, f"{lang}-{i}", text_hash(title, text))


def test_fit_leace_with_two_languages_and_save_load_apply(tmp_path: Path) -> None:
    raw, langs = _rows({"en": 60, "ar": 50, "zh": 3})
    fitted = LanguageMeans.fit(raw, langs, "leace")
    assert fitted.method == "leace" and fitted.strength == LEACE_STRENGTH
    assert fitted.erased == ("ar", "en")  # zh (3 rows) is left out of the fit; the map still applies to it
    out = fitted.apply(raw, langs)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5) and np.isfinite(out).all()
    # half of each fitted language's mean difference is gone (LEACE moves the class means onto one another)
    gap = lambda v: np.linalg.norm(v[:60].mean(axis=0) - v[60:110].mean(axis=0))  # noqa: E731
    assert gap(out) < 0.7 * gap(raw)
    fitted.save(tmp_path / "map.npz")
    loaded = LanguageMeans.load(tmp_path / "map.npz")
    assert loaded.method == "leace" and loaded.erased == ("ar", "en")
    assert np.array_equal(loaded.apply(raw, langs), out)


@pytest.mark.parametrize(
    "counts",
    [{"en": 200}, {"en": 200, "ar": 1}, {"en": MIN_LANGUAGE_ROWS - 1, "ar": MIN_LANGUAGE_ROWS - 1}, {"en": 2}],
    ids=["one language", "second language with one row", "tiny index", "two rows"],
)
def test_leace_that_cannot_be_fitted_falls_back_to_centring(counts: dict[str, int]) -> None:
    """Fewer than two languages with MIN_LANGUAGE_ROWS rows: today's centring, exactly."""
    raw, langs = _rows(counts)
    fitted = LanguageMeans.fit(raw, langs, "leace")
    assert fitted.method == "centring" and fitted.eraser is None and fitted.strength == STRENGTH
    assert np.array_equal(fitted.apply(raw, langs), LanguageMeans.fit(raw, langs, "centring").apply(raw, langs))
    assert fitted.serves("leace", langs) and fitted.serves("centring", langs)


def test_a_map_is_kept_until_the_languages_leace_would_fit_change() -> None:
    raw, langs = _rows({"en": 60, "ar": 50})
    fitted = LanguageMeans.fit(raw, langs, "leace")
    assert fitted.serves("leace", [*langs, "ar", "zh"])  # more rows, a rare new language: the eraser is kept
    assert not fitted.serves("leace", langs + ["zh"] * MIN_LANGUAGE_ROWS)  # a third language to erase: re-fit
    assert not fitted.serves("leace", langs[:60] + ["ar"] * (MIN_LANGUAGE_ROWS - 1))  # ar fell below: re-fit
    assert not fitted.serves("centring", langs) and not fitted.serves("off", langs)
    grown = fitted.extend(raw[:2], ["fa", "fa"])  # a new language's mean is recorded; the eraser is unchanged
    assert "fa" in grown.means and grown.eraser is fitted.eraser
    assert np.array_equal(grown.apply(raw, langs), fitted.apply(raw, langs))


def _two_language_corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "c", {"en.jsonl": _lines("en", 20), "fr.jsonl": _lines("fr", 20)})


def test_build_stores_leace_and_faiss_holds_what_apply_makes(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    build_index([_two_language_corpus(tmp_path)], settings, embedder=HashEmbedder())
    loaded = open_index(settings.index_dir)
    m = loaded.manifest
    assert (m.language_method, m.language_asked, m.language_centring) == ("leace", "leace", LEACE_STRENGTH)
    assert loaded.means.erased == ("en", "fr")
    expected = loaded.means.apply(loaded.rows.raw, loaded.rows.langs)
    ids = loaded.rows.ids
    stored = np.stack([loaded.vectors.lookup(ids[i : i + 1])[0] for i in range(len(ids))])
    assert np.allclose(stored, expected, atol=1e-6)
    # the FAISS index holds those vectors: each row is its own nearest neighbour, at cosine 1
    scores, found = loaded.vectors.search(expected[:5], 1)
    assert np.array_equal(found[:, 0], ids[:5]) and np.allclose(scores[:, 0], 1.0, atol=1e-4)
    loaded.close()


def test_writes_keep_the_eraser_and_refit_when_a_language_reaches_the_threshold(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    embedder = HashEmbedder()
    build_index([_two_language_corpus(tmp_path)], settings, embedder=embedder)
    before = open_index(settings.index_dir)
    report = write_articles(settings, [_article("de", 0)], embedder=embedder)
    after = open_index(settings.index_dir)
    assert after.manifest.build.mode == "incremental" and after.means.erased == ("en", "fr")
    assert before.means.eraser is not None and after.means.eraser is not None
    assert np.array_equal(after.means.eraser.left, before.means.eraser.left)
    assert report.version == after.version
    many = [_article("de", i) for i in range(1, MIN_LANGUAGE_ROWS // 2 + 1)]
    write_articles(settings, many, embedder=embedder)
    refit = open_index(settings.index_dir)
    assert refit.manifest.build.mode == "full" and refit.means.erased == ("de", "en", "fr")
    assert refit.manifest.build.vectors_encoded == len(many) * 2  # the rest reused: only the index was rebuilt
    for index in (before, after, refit):
        index.close()


def test_an_index_built_before_format_7_is_read_with_its_centring(tmp_path: Path) -> None:
    """A format-6 index (no language_method in its manifest, means only in language_means.npz) opens and is
    searched exactly as it was built: centred."""
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx", language_method="centring")
    build_index([_two_language_corpus(tmp_path)], settings, embedder=HashEmbedder())
    folder = (settings.index_dir / CURRENT).resolve()
    data = json.loads((folder / MANIFEST_FILE).read_text())
    assert "erase_left" not in np.load(folder / MEANS_FILE).files
    data["format_version"] = 6
    del data["language_method"], data["language_asked"]
    (folder / MANIFEST_FILE).write_text(json.dumps(data))
    old = open_index(settings.index_dir)
    assert old.manifest.format_version == 6 and old.manifest.language_method == "centring"
    assert old.means.method == "centring" and old.means.strength == STRENGTH
    expected = old.means.apply(old.rows.raw, old.rows.langs)
    scores, found = old.vectors.search(expected[:5], 1)
    assert np.array_equal(found[:, 0], old.rows.ids[:5]) and np.allclose(scores[:, 0], 1.0, atol=1e-4)
    old.close()
    # the next build with today's default moves it to LEACE, reusing every vector
    report = build_index([_two_language_corpus(tmp_path)], Settings(home=settings.home, index_dir=settings.index_dir),
                         embedder=HashEmbedder())  # fmt: skip
    new = open_index(settings.index_dir)
    assert new.manifest.language_method == "leace" and new.manifest.build.vectors_encoded == 0
    assert new.manifest.build.mode == "full" and report.version == new.version
    new.close()


@pytest.mark.slow  # ~1 min on 2 cores: encodes 144 passages and 576 queries with the real model
def test_leace_finds_the_answer_in_another_language_more_often(
    tmp_path: Path, ntrex: Path, real_embedder: Embedder
) -> None:
    """The reader's problem, through the product: every story exists in one language only (36 held-out NTREX
    documents in each of en, ar, zh, he, their first paragraph), queried by its headline in the other three
    languages. The same vectors, built with centring and then with LEACE (the second build reuses every
    vector): LEACE ranks the answer higher across languages, and not lower in its own language."""
    import csv

    langs = ("en", "ar", "zh", "he")
    segments = _ntrex_segments(ntrex, langs)
    with (ROOT / "seeds" / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        demo = {row["doc_id"] for row in csv.DictReader(fh, delimiter="\t")}
    docs = [d for d in segments if d not in demo and len(segments[d]["en"]) >= 4][: 36 * len(langs)]
    home = {d: langs[i % len(langs)] for i, d in enumerate(docs)}
    joiner = {"zh": ""}
    lines = [json.dumps({"id": d, "title": "", "lang": home[d],
                         "text": joiner.get(home[d], " ").join(segments[d][home[d]][1:4])}) for d in docs]  # fmt: skip
    corpus = write_corpus(tmp_path / "pool", {"pool.jsonl": "\n".join(lines) + "\n"})
    queries = [(segments[d][q][0], d, q == home[d]) for d in docs for q in langs]
    mrr: dict[str, tuple[float, float]] = {}
    for method in ("centring", "leace"):
        settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx", language_method=method)
        build_index([corpus], settings, embedder=real_embedder)
        loaded = open_index(settings.index_dir)
        assert loaded.means.method == method
        engine = SearchEngine(loaded, real_embedder)
        results = engine.search_many([q for q, _, _ in queries], 10, mode="dense", group="articles", snippets=False)
        ranks = [next((h.rank for h in r.results if h.article_id == d), None) for r, (_, d, _) in zip(results, queries)]
        rr = np.array([1.0 / r if r else 0.0 for r in ranks])
        same = np.array([s for _, _, s in queries])
        mrr[method] = (float(rr[~same].mean()), float(rr[same].mean()))
        loaded.close()
    print("MRR@10 (other languages, own language):", mrr)
    (cross_before, same_before), (cross_after, same_after) = mrr["centring"], mrr["leace"]
    assert cross_after > cross_before + 0.02, mrr
    assert same_after >= same_before - 0.02, mrr


def _ntrex_segments(folder: Path, langs: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ntrex

    return ntrex.segments(folder, langs)
