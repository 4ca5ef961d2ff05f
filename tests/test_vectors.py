"""The vector index types against a brute-force numpy oracle; tuning; removal; filters; failure modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexMismatchError, SemsearchError
from index.vectors import (
    IndexSpec,
    create_vector_index,
    faiss_index,
    load_vector_index,
    parse_spec,
    tune,
    validate_target,
)
from index.vectors.spec import choose_spec, ivf_lists
from index.vectors.tuning import TUNING_MARGIN, TUNING_QUERIES, exact_neighbours, recall_at_k, without_own

DIM = 32


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(rows: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Vectors around 50 centres, shaped like embeddings (clusters, not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    x = centres[rng.integers(0, 50, rows)] + 0.35 * rng.standard_normal((rows, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def oracle(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :k]]


def build(spec_text: str, vectors: np.ndarray, ids: np.ndarray):
    spec = parse_spec(spec_text, len(vectors), vectors.shape[1], 1 << 34)
    index = create_vector_index(spec, vectors.shape[1])
    index.add(ids, vectors)
    lookup_table = dict(zip(ids.tolist(), vectors))
    index.lookup = lambda wanted: np.stack([lookup_table[int(i)] for i in wanted])
    return index


def test_flat_search_matches_numpy_oracle(tmp_path: Path) -> None:
    vectors, queries = unit(500, DIM, 1), unit(20, DIM, 2)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = build("Flat", vectors, ids)
    index.save(tmp_path / "v.faiss")
    loaded = load_vector_index(tmp_path / "v.faiss", IndexSpec("Flat"), DIM)
    scores, found = loaded.search(queries, 10)
    assert np.array_equal(found, oracle(vectors, ids, queries, 10))
    assert np.allclose(scores[:, 0], np.max(queries @ vectors.T, axis=1), atol=1e-5)


# PQ trains its codebooks for ~20 s on two cores: slow (CI runs it)
@pytest.mark.parametrize(
    "spec", ["HNSW16", "IVF32,Flat", "IVF32,SQ8", pytest.param("IVF32,PQ8", marks=pytest.mark.slow)]
)
def test_approximate_types_tuned_to_a_target_reach_it_on_held_out_queries(spec: str, tmp_path: Path) -> None:
    data = clustered(6200)
    vectors, queries = data[:6000], data[6000:]
    ids = np.arange(6000, dtype=np.int64) * 3  # ids need not be positions
    index = build(spec, vectors, ids)
    tuning = tune(index, vectors, ids, 0.9)
    assert tuning.parameter in ("nprobe", "efSearch") and tuning.value
    assert tuning.recall_tuning >= 0.9
    assert abs(tuning.recall_heldout - 0.9) <= 0.05 or tuning.recall_heldout >= 0.9
    # fresh queries from the same distribution, not in the corpus: recall against the oracle holds
    _, found = index.search(queries, 10)
    assert recall_at_k(found, oracle(vectors, ids, queries, 10)) >= 0.75, spec
    index.save(tmp_path / "v.faiss")
    again = load_vector_index(tmp_path / "v.faiss", index.spec, DIM)
    assert again.params == index.params


def test_tuning_picks_the_smallest_value_reaching_the_target() -> None:
    vectors = clustered(4000, seed=3)
    ids = np.arange(4000, dtype=np.int64)
    index = build("IVF64,Flat", vectors, ids)
    tuning = tune(index, vectors, ids, 0.9)
    assert tuning.value is not None and tuning.value > 1
    # the same tuning half as tune(): one value less misses the aim (target + margin)
    rows = np.sort(np.random.default_rng(7).choice(4000, size=TUNING_QUERIES, replace=False))[: TUNING_QUERIES // 2]
    truth = exact_neighbours(vectors, ids, vectors[rows], ids[rows], 10)
    index.params["nprobe"] = tuning.value - 1
    assert recall_at_k(without_own(index.search(vectors[rows], 11)[1], ids[rows], 10), truth) < 0.9 + TUNING_MARGIN
    index.params["nprobe"] = tuning.value
    assert recall_at_k(without_own(index.search(vectors[rows], 11)[1], ids[rows], 10), truth) >= 0.9 + TUNING_MARGIN


def test_flat_needs_no_tuning() -> None:
    vectors = unit(100, DIM, 0)
    tuning = tune(build("Flat", vectors, np.arange(100)), vectors, np.arange(100), 0.95)
    assert tuning.parameter is None and tuning.recall_heldout == 1.0


@pytest.mark.parametrize("spec", ["Flat", "IVF16,Flat", "HNSW16"])
@pytest.mark.parametrize("exact_max", [0, 10**9])
def test_filtered_search_returns_the_true_top_k_among_allowed(
    spec: str, exact_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faiss_index, "EXACT_FILTER_MAX", exact_max)  # both the exact scan and the IDSelector path
    data = clustered(3030, seed=5)
    vectors, queries = data[:3000], data[3000:]
    ids = np.arange(3000, dtype=np.int64)
    index = build(spec, vectors, ids)
    index.params.update(nprobe=16, efSearch=256)
    allowed = ids[ids % 7 == 0]
    _, found = index.search(queries, 10, allowed=allowed)
    assert np.isin(found, allowed).all(), "only allowed ids, and never fewer than k"
    truth = oracle(vectors[allowed], allowed, queries, 10)
    minimum = 1.0 if spec == "Flat" or exact_max else 0.9
    if spec == "HNSW16":
        minimum = 1.0  # HNSW filters always scan the allowed vectors exactly
    assert recall_at_k(found, truth) >= minimum


def test_filter_with_fewer_allowed_than_k_pads_with_minus_one() -> None:
    vectors = unit(50, DIM, 0)
    index = build("Flat", vectors, np.arange(50))
    _, found = index.search(unit(1, DIM, 1), 5, allowed=np.array([3, 7]))
    assert sorted(found[0][:2].tolist()) == [3, 7] and found[0][2:].tolist() == [-1, -1, -1]


def test_remove_and_mask() -> None:
    vectors = unit(200, DIM, 0)
    ids = np.arange(200)
    flat = build("Flat", vectors, ids)
    assert flat.remove(np.arange(0, 200, 2)) == 100 and len(flat) == 100
    _, found = flat.search(vectors[:10], 5)
    assert (found % 2 == 1).all()
    hnsw = build("HNSW16", vectors, ids)
    with pytest.raises(SemsearchError, match="masked"):
        hnsw.remove(np.array([1]))
    hnsw.masked = np.arange(0, 200, 2)
    _, found = hnsw.search(vectors[:10], 5)
    assert (found % 2 == 1).all()


def test_spec_rules() -> None:
    assert str(choose_spec(10_000, 384, 1 << 34)) == "Flat"
    assert str(choose_spec(200_000, 384, 1 << 34)) == "HNSW32"
    assert str(choose_spec(200_000, 384, 1 << 20)).startswith("IVF")  # HNSW would not fit the budget
    assert str(choose_spec(2_000_000, 384, 1 << 34)) == f"IVF{ivf_lists(2_000_000)},SQ8"
    assert ivf_lists(1_000_000) == 4096 and ivf_lists(100) == 64
    assert str(parse_spec("ivf,pq", 1_000_000, 384, 0)) == "IVF4096,PQ96"
    assert str(parse_spec("IVF1024,SQ8", 10, 384, 0)) == "IVF1024,SQ8"
    assert str(parse_spec("HNSW", 10, 384, 0)) == "HNSW32"
    assert IndexSpec("IVF", lists=4096, coding="SQ8").bytes_per_vector(384) <= 400


@pytest.mark.parametrize("bad", ["HNSW999x", "IVF,PQ7", "LSH", ""])
def test_unknown_specs_are_refused(bad: str) -> None:
    with pytest.raises(SemsearchError):
        parse_spec(bad, 1000, 384, 1 << 30)


@pytest.mark.parametrize("target", [0, -0.1, 1.01, 2])
def test_recall_target_outside_zero_one_is_refused(target: float) -> None:
    with pytest.raises(SemsearchError, match="recall"):
        validate_target(target)


def test_ivf_with_too_few_vectors_to_train_is_refused() -> None:
    with pytest.raises(SemsearchError, match="needs at least"):
        build("IVF256,Flat", unit(100, DIM, 0), np.arange(100))


def test_wrong_dimensions_and_damaged_files_are_refused(tmp_path: Path) -> None:
    index = build("Flat", unit(10, DIM, 0), np.arange(10))
    with pytest.raises(IndexMismatchError):
        index.add(np.array([1]), unit(1, 16, 0))
    with pytest.raises(IndexMismatchError, match="dimension"):
        index.search(unit(1, 16, 0), 1)
    index.save(tmp_path / "v.faiss")
    with pytest.raises(IndexMismatchError, match="dimension 32"):
        load_vector_index(tmp_path / "v.faiss", IndexSpec("Flat"), 16)
    data = (tmp_path / "v.faiss").read_bytes()
    (tmp_path / "v.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexMismatchError, match="damaged"):
        load_vector_index(tmp_path / "v.faiss", IndexSpec("Flat"), DIM)


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF32,Flat", "IVF32,SQ8", "IVF32,PQ8"])
def test_a_mapped_index_answers_as_one_read_into_memory_and_as_brute_force(tmp_path: Path, spec: str) -> None:
    """Issue 16: every type semsearch builds is searched from a read-only mapping of its file; the answers
    equal those of the same file read into memory, bit for bit, and brute force's (searched exhaustively)."""
    data = clustered(3020, seed=8)
    vectors, queries = data[:3000], data[3000:]
    ids = np.arange(5000, 8000, dtype=np.int64)
    index = build(spec, vectors, ids)
    index.params.update(nprobe=32, efSearch=600)  # every list, a deep graph walk: brute force's answer
    index.save(tmp_path / "v.faiss")
    mapped = faiss_index.open_vector_index(tmp_path / "v.faiss", index.spec, DIM, len(vectors))
    in_memory = faiss_index.open_vector_index(tmp_path / "v.faiss", index.spec, DIM, len(vectors), mmap=False)
    assert mapped.mapped and not in_memory.mapped
    mapped.lookup = in_memory.lookup = index.lookup  # PQ re-ranks from the exact vectors
    scores, found = mapped.search(queries, 10)
    assert len(mapped) == len(vectors)
    expected_scores, expected = in_memory.search(queries, 10)
    assert np.array_equal(found, expected) and np.array_equal(scores, expected_scores)
    truth = oracle(vectors, ids, queries, 10)
    if spec in ("Flat", "IVF32,Flat", "IVF32,PQ8"):  # exact scores (PQ: re-ranked exactly)
        assert np.array_equal(found, truth)
    else:  # HNSW's graph may miss a near tie, SQ8's 8-bit codes swap a few (measured: 1.0 and 0.97)
        assert recall_at_k(found, truth) >= (0.99 if spec == "HNSW16" else 0.95)


def test_an_opened_index_is_read_at_its_first_search_and_refused_there_if_damaged(tmp_path: Path) -> None:
    """Issue 16: opening reads only the parameters; a file FAISS cannot read is refused at the first search
    with the error ``load_vector_index`` gives at once."""
    index = build("IVF16,Flat", clustered(1000), np.arange(1000))
    index.save(tmp_path / "v.faiss")
    data = (tmp_path / "v.faiss").read_bytes()
    (tmp_path / "v.faiss").write_bytes(data[: len(data) // 2])
    opened = faiss_index.open_vector_index(tmp_path / "v.faiss", index.spec, DIM, 1000)
    assert len(opened) == 1000 and opened.dimension == DIM
    with pytest.raises(IndexMismatchError, match=r"v\.faiss is damaged"):
        opened.search(clustered(1, seed=3), 5)
    with pytest.raises(IndexMismatchError, match=r"v\.faiss is damaged"):
        load_vector_index(tmp_path / "v.faiss", index.spec, DIM, mmap=True)
