"""The hits' confidence: a probability, monotone in its features, and the shipped fit with its threshold."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from index import Settings
from index.settings import NO_GOOD_MATCH_CONFIDENCE
from search import SearchEngine
from search.confidence import FEATURES, MODEL_FILE, ConfidenceModel, Features, ranked_features
from search.results import MODES

MODEL = ConfidenceModel.shipped()
GRID = [
    Features(dense, margin, coverage, math.log(rank))
    for dense, margin, coverage, rank in itertools.product(
        (0.6, 0.8, 0.95), (-0.05, 0.0, 0.1), (0.0, 0.5, 1.0), (1, 5, 50)
    )
]


@pytest.mark.parametrize("mode", MODES)
def test_confidence_is_a_probability_and_monotone_in_every_feature(mode: str) -> None:
    for features in GRID:
        p = MODEL.confidence(features, mode)  # type: ignore[arg-type]
        assert 0.0 <= p <= 1.0
        for name, step in (("dense", 0.05), ("dense_margin", 0.05), ("coverage", 0.25), ("log_rank", -0.5)):
            better = replace(features, **{name: getattr(features, name) + step})
            assert MODEL.confidence(better, mode) >= p, (mode, name, features)  # type: ignore[arg-type]
    # extreme inputs stay in [0, 1] without overflow
    assert MODEL.confidence(Features(50.0, 50.0, 1.0, 0.0), mode) <= 1.0  # type: ignore[arg-type]
    assert MODEL.confidence(Features(-50.0, -50.0, 0.0, 10.0), mode) >= 0.0  # type: ignore[arg-type]


def test_confidence_separates_a_strong_hit_from_a_weak_one_in_dense_and_hybrid() -> None:
    strong, weak = Features(0.9, 0.1, 1.0, 0.0), Features(0.7, 0.0, 0.0, math.log(10))
    for mode in ("dense", "hybrid"):
        assert MODEL.confidence(strong, mode) > 0.9 > 0.1 > MODEL.confidence(weak, mode)


def test_ranked_features_use_the_dense_floor_for_articles_dense_did_not_return() -> None:
    features = ranked_features([0.9, None, 0.7], [1.0, 0.8, 0.0], [0.9, 0.85, 0.7], reference_rank=2)
    assert [f.dense for f in features] == [0.9, 0.7, 0.7]
    assert [round(f.dense_margin, 6) for f in features] == [0.05, -0.15, -0.15]
    assert [f.log_rank for f in features] == [0.0, math.log(2), math.log(3)]
    lexical_only = ranked_features([None], [0.9], [], reference_rank=10)
    assert lexical_only == [Features(0.0, 0.0, 0.9, 0.0)]


def test_the_shipped_fit_records_its_provenance_and_the_threshold_in_settings() -> None:
    data = json.loads((Path(__file__).resolve().parent.parent / "search" / MODEL_FILE).read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES) and set(data["modes"]) == set(MODES)
    provenance = data["provenance"]
    assert provenance["fitted_by"] == "benchmarks/fit_confidence.py"
    assert provenance["no_good_match_confidence"] == NO_GOOD_MATCH_CONFIDENCE
    assert all("ece_held_out" in provenance["calibration"][m] for m in MODES)


def test_every_hit_carries_a_confidence_and_the_text_shows_it(tiny_index: Settings, hash_embedder: object) -> None:
    from index import open_index
    from search.render import format_result

    engine = SearchEngine(open_index(tiny_index.index_dir), hash_embedder)  # type: ignore[arg-type]
    for mode in MODES:
        result = engine.search("earthquake Sulawesi", k=3, mode=mode)  # type: ignore[arg-type]
        assert result.results and all(0.0 <= h.confidence <= 1.0 for h in result.results)
        if all(h.confidence < NO_GOOD_MATCH_CONFIDENCE for h in result.results):
            assert result.note is not None and "No good match" in result.note
    shown = format_result(engine.search("earthquake Sulawesi", k=3))
    assert "confidence 0." in shown or "confidence 1.00" in shown
