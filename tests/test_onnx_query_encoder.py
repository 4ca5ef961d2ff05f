"""The fp32 ONNX query encoder (slow: the real model): the same vectors as torch without importing it, the
default for a torch-fp32 index, and a damaged export made again with a notice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Settings, load_embedder
from index.embedding import Embedder, resolve_model
from index.embedding.backends import ONNX_FP32, TORCH_FP32, check_interchangeable
from index.embedding.onnx_export import (
    EMBEDDINGS_FILE,
    EMBEDDINGS_INPUT,
    META_FILE,
    MODEL_FILE,
    OPTIMISED_FILE,
    QUERY_READY,
    SPLIT_FILE,
    TOKENIZER_FILE,
    export_folder,
    read_meta,
)
from index.embedding.onnx_query_tokens import PIECES_FILE, QueryTokenizer
from search.engine import SearchEngine
from search.evaluation import evaluate, load_judgements
from tests.conftest import ROOT, SEED_ARTICLE

pytestmark = pytest.mark.slow

QUERIES = [
    "Russia Iran treaty",
    "روسيا وإيران توقعان معاهدة شراكة",
    "землетрясение на Сулавеси",
    "暴雨袭击南方城市",
    "grève des transports à Paris",
    "افزایش قیمت نفت",
    "Erdbeben in Indonesien fordert Hunderte Tote",
    "terremoto en Indonesia",
    "x",
    "A much longer query about the consequences of the strategic partnership treaty between Russia and Iran "
    "for energy, transport and the sanctions both countries face, signed days before the inauguration.",
]


@pytest.fixture(scope="session")
def onnx_fp32() -> Embedder:
    """The default model's fp32 ONNX export (made once into the user's SEMSEARCH_HOME)."""
    return load_embedder(None, Settings.from_env().models_dir, ONNX_FP32)


def test_onnx_fp32_query_vectors_match_torch(onnx_fp32: Embedder, real_embedder: Embedder) -> None:
    assert onnx_fp32.backend == ONNX_FP32 and real_embedder.backend == TORCH_FP32
    assert onnx_fp32.fingerprint == real_embedder.fingerprint
    check_interchangeable(TORCH_FP32, ONNX_FP32)  # recorded as a measured pair
    a, b = onnx_fp32.encode_queries(QUERIES), real_embedder.encode_queries(QUERIES)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_the_seeds_dev_evaluation_ranks_the_same_top_10(seeds_index: Settings, real_embedder: Embedder) -> None:
    """A torch-fp32 index is queried with onnx-fp32 by default; every judged query gets torch's top 10."""
    onnx = SearchEngine.open(seeds_index)
    torch = SearchEngine(onnx.index, real_embedder)
    judged = load_judgements(ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl")
    for query in judged:
        got = onnx.search(query.text, 10, mode="dense", group="articles").results
        want = torch.search(query.text, 10, mode="dense", group="articles").results
        assert [h.article_id for h in got] == [h.article_id for h in want], query.text
    assert onnx.embedder.backend == ONNX_FP32
    assert evaluate(onnx, judged, mode="dense").overall == evaluate(torch, judged, mode="dense").overall


def test_a_dense_query_imports_neither_torch_nor_transformers(seeds_index: Settings) -> None:
    code = (
        "import sys\nfrom pathlib import Path\nfrom index import Settings\nfrom search import SearchEngine\n"
        "engine = SearchEngine.open(Settings(home=Path(sys.argv[1]), index_dir=Path(sys.argv[2])))\n"
        "hits = engine.search('Russia Iran treaty', 3, group='articles').results\n"
        "print(hits[0].article_id, engine.embedder.backend, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(seeds_index.home), str(seeds_index.index_dir)],
                          cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.split() == [SEED_ARTICLE, ONNX_FP32, "False", "False"]


def test_a_query_starts_without_the_whole_graph_or_the_full_tokenizer(onnx_fp32: Embedder) -> None:
    """Issue 16 (c): the session holds the graph without its word-embedding table (memory-mapped beside it)
    and queries are tokenised without building the 250k-piece tokenizer."""
    folder = export_folder(Settings.from_env().models_dir, onnx_fp32.fingerprint, "fp32")
    meta = read_meta(folder)
    assert (
        meta is not None and meta[QUERY_READY] and {SPLIT_FILE, EMBEDDINGS_FILE, PIECES_FILE} <= set(meta["file_bytes"])
    )
    assert (folder / SPLIT_FILE).stat().st_size < (folder / EMBEDDINGS_FILE).stat().st_size / 3
    fresh = load_embedder(None, Settings.from_env().models_dir, ONNX_FP32)
    assert EMBEDDINGS_INPUT in {i.name for i in fresh._session.get_inputs()}  # type: ignore[attr-defined]
    vectors = fresh.encode_queries(QUERIES)
    assert fresh._full is None  # type: ignore[attr-defined]
    assert np.allclose(vectors, onnx_fp32.encode_queries(QUERIES), atol=1e-6)


def test_the_query_tokenizer_gives_the_full_tokenizers_ids(onnx_fp32: Embedder) -> None:
    """Issue 16 (c): the same ids as tokenizers' own Unigram on every judged query and seed title, and on
    unknown characters, emoji, width and ligature folding, long texts (truncated) and special tokens' text."""
    from tokenizers import Tokenizer

    folder = export_folder(Settings.from_env().models_dir, onnx_fp32.fingerprint, "fp32")
    quick, full = QueryTokenizer(folder, 512), Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    full.no_padding()
    full.enable_truncation(512)
    judged = [j.text for j in load_judgements(ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl")]
    odd = ["", "x", "  spaces   inside  ", "emoji 😀🙂 ok", "ＦＵＬＬ width ﬁ", "tab\tand\nnewline", "\u200bzero",
           "ꙮ𓀀 rare scripts ᚠᛇᚻ", "مرحبا 世界 мир", "word " * 700]  # fmt: skip
    texts = [*QUERIES, *judged, *odd]
    for text in texts:
        assert quick.encode("query: " + text) == full.encode("query: " + text).ids, text
    assert len(quick.encode("word " * 700) or []) == 512
    assert quick.encode("a <mask> b") is None  # a special token's text: the full tokenizer splits it out
    assert quick.encode("a\0b") is None or quick.encode("a\0b") == full.encode("a\0b").ids


@pytest.mark.parametrize(
    ("damaged", "how"),
    [(SPLIT_FILE, "garble"), (TOKENIZER_FILE, "garble"), (MODEL_FILE, "truncate"), (PIECES_FILE, "garble")],
)
def test_a_damaged_export_is_made_again_with_a_notice(
    onnx_fp32: Embedder, tmp_path: Path, damaged: str, how: str
) -> None:
    models = tmp_path / "models"
    folder = resolve_model(None, Settings.from_env().models_dir).location
    source = export_folder(Settings.from_env().models_dir, onnx_fp32.fingerprint, "fp32")
    target = export_folder(models, onnx_fp32.fingerprint, "fp32")
    target.mkdir(parents=True)
    for path in source.iterdir():  # the good export (linked, it is large), one file copied and damaged
        (shutil.copyfile if path.name == damaged else os.link)(path, target / path.name)
    with (target / damaged).open("r+b") as fh:
        if how == "truncate":
            fh.truncate(fh.seek(0, os.SEEK_END) // 2)
        else:
            fh.write(b"\xff" * 64)  # the header: the file no longer parses
    embedder = load_embedder(str(folder), models, ONNX_FP32)
    assert embedder.backend == ONNX_FP32
    assert any("exported it again" in n for n in embedder.notices), embedder.notices  # type: ignore[attr-defined]
    query = ["Russia Iran treaty"]
    assert (embedder.encode_queries(query) * onnx_fp32.encode_queries(query)).sum() > 0.9999


def test_an_export_made_before_the_split_is_converted_in_place_on_first_use(
    onnx_fp32: Embedder, tmp_path: Path
) -> None:
    """Issue 16 (c): an fp32 export from before the split graph (an optimised graph, no query vocabulary) is
    given its split graph and query vocabulary by the first query, once, and encodes exactly as before."""
    import onnx
    from onnx import numpy_helper

    models = tmp_path / "models"
    folder = resolve_model(None, Settings.from_env().models_dir).location
    source = export_folder(Settings.from_env().models_dir, onnx_fp32.fingerprint, "fp32")
    old = export_folder(models, onnx_fp32.fingerprint, "fp32")
    old.mkdir(parents=True)
    for name in (MODEL_FILE, TOKENIZER_FILE):
        os.link(source / name, old / name)
    graph = onnx.load(str(source / SPLIT_FILE))  # the optimised graph, its word-embedding table put back
    table = np.load(source / EMBEDDINGS_FILE)
    graph.graph.initializer.append(numpy_helper.from_array(table, name=EMBEDDINGS_INPUT))
    inputs = [i for i in graph.graph.input if i.name != EMBEDDINGS_INPUT]
    del graph.graph.input[:]
    graph.graph.input.extend(inputs)
    onnx.save(graph, str(old / OPTIMISED_FILE))
    meta = read_meta(source)
    assert meta is not None
    files = {n: (old / n).stat().st_size for n in (MODEL_FILE, TOKENIZER_FILE, OPTIMISED_FILE)}
    meta = {k: v for k, v in meta.items() if k != QUERY_READY} | {"file_bytes": files}
    (old / META_FILE).write_text(json.dumps(meta), encoding="utf-8")

    embedder = load_embedder(str(folder), models, ONNX_FP32)
    converted = read_meta(old)
    assert converted is not None and converted[QUERY_READY]
    assert {SPLIT_FILE, EMBEDDINGS_FILE, PIECES_FILE} <= set(converted["file_bytes"]) and not (
        old / OPTIMISED_FILE
    ).exists()
    assert not [p for p in old.iterdir() if p.name.startswith(".prepare")]  # no work folder left behind
    assert np.allclose(embedder.encode_queries(QUERIES), onnx_fp32.encode_queries(QUERIES), atol=1e-6)
    again = load_embedder(str(folder), models, ONNX_FP32)  # converted once: the second open finds it ready
    assert read_meta(old) == converted and not getattr(again, "notices", [])
