"""The FAISS index against a brute-force numpy oracle, and its failure modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexMismatchError, SemsearchError
from index.vectors import create_vector_index, load_vector_index


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_search_matches_numpy_oracle(tmp_path: Path) -> None:
    vectors, queries = unit(500, 32, 1), unit(20, 32, 2)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = create_vector_index("Flat", 32)
    index.add(ids, vectors)
    index.save(tmp_path / "v.faiss")
    loaded = load_vector_index(tmp_path / "v.faiss", "Flat", 32)
    scores, found = loaded.search(queries, 10)
    oracle = queries @ vectors.T
    expected = ids[np.argsort(-oracle, axis=1)[:, :10]]
    assert np.array_equal(found, expected)
    assert np.allclose(scores, np.take_along_axis(oracle, np.argsort(-oracle, axis=1)[:, :10], axis=1), atol=1e-5)


def test_k_larger_than_index_is_capped() -> None:
    index = create_vector_index("Flat", 8)
    index.add(np.array([7, 9]), unit(2, 8, 3))
    _, ids = index.search(unit(1, 8, 4), 50)
    assert sorted(ids[0].tolist()) == [7, 9]


def test_unknown_spec_and_wrong_dimensions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SemsearchError, match="Unknown index spec"):
        create_vector_index("HNSW999", 8)
    index = create_vector_index("Flat", 8)
    with pytest.raises(IndexMismatchError):
        index.add(np.array([1]), unit(1, 16, 0))
    index.add(np.array([1]), unit(1, 8, 0))
    with pytest.raises(IndexMismatchError, match="dimension"):
        index.search(unit(1, 16, 0), 1)
    index.save(tmp_path / "v.faiss")
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        load_vector_index(tmp_path / "v.faiss", "Flat", 16)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    index = create_vector_index("Flat", 8)
    index.add(np.arange(10), unit(10, 8, 0))
    index.save(tmp_path / "v.faiss")
    data = (tmp_path / "v.faiss").read_bytes()
    (tmp_path / "v.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexMismatchError, match="damaged"):
        load_vector_index(tmp_path / "v.faiss", "Flat", 8)
