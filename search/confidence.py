"""How sure a hit is: the probability that the article is relevant, from what the query itself shows.

A logistic regression per retrieval mode over four features of a ranked article, all known at query time:

- ``dense``: cosine of the article's best vector (for an article the dense side did not return, the lowest
  cosine it did return: the article scored no higher);
- ``dense_margin``: that cosine minus the cosine of the FUSION_DEPTH-th dense article (the last one the
  engine fetches): how far the article stands out from the query's background (off-topic queries get a
  flat ranking);
- ``coverage``: the IDF-weighted share of the query's terms held by the article's best row (either lexical
  field);
- ``log_rank``: ln of the article's rank in the mode's ranking.

The coefficients are fitted offline by ``benchmarks/fit_confidence.py`` on judged queries of the dev
evaluation and off-topic queries, with signs constrained (more cosine, margin or coverage never lowers the
confidence; a lower rank never raises it), and shipped in ``confidence.json`` beside this module with the
provenance of the fit and its calibration error on held-out queries.
"""

from __future__ import annotations

import json
import math
from dataclasses import astuple, dataclass, fields
from importlib import resources

from search.results import Mode

MODEL_FILE = "confidence.json"


@dataclass(frozen=True)
class Features:
    """What the ranking says about one article for one query (see the module docstring)."""

    dense: float
    dense_margin: float
    coverage: float
    log_rank: float


FEATURES = tuple(f.name for f in fields(Features))


@dataclass(frozen=True)
class ConfidenceModel:
    """Per mode, an intercept and one weight per feature (in FEATURES order)."""

    intercepts: dict[str, float]
    weights: dict[str, tuple[float, ...]]

    @classmethod
    def from_json(cls, text: str) -> ConfidenceModel:
        """The model as ``benchmarks/fit_confidence.py`` writes it."""
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{MODEL_FILE} is for the features {data['features']}, not {list(FEATURES)}")
        modes = data["modes"]
        return cls(
            intercepts={m: float(v["intercept"]) for m, v in modes.items()},
            weights={m: tuple(float(v["weights"][f]) for f in FEATURES) for m, v in modes.items()},
        )

    @classmethod
    def shipped(cls) -> ConfidenceModel:
        """The fitted model shipped with semsearch."""
        return cls.from_json(resources.files("search").joinpath(MODEL_FILE).read_text(encoding="utf-8"))

    def confidence(self, features: Features, mode: Mode) -> float:
        """The probability that the article is relevant, in [0, 1]."""
        z = self.intercepts[mode] + sum(w * x for w, x in zip(self.weights[mode], astuple(features)))
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def ranked_features(
    dense_scores: list[float | None], coverage: list[float], dense_ranking: list[float], reference_rank: int
) -> list[Features]:
    """Features of a ranking's articles, best first: each one's best cosine (None when the dense side did
    not return it), its coverage, and the dense side's own scores best first (empty without a query vector)."""
    floor = dense_ranking[-1] if dense_ranking else 0.0
    reference = dense_ranking[min(reference_rank, len(dense_ranking)) - 1] if dense_ranking else 0.0
    out = []
    for rank, (score, held) in enumerate(zip(dense_scores, coverage), start=1):
        dense = floor if score is None else score
        out.append(Features(dense, dense - reference if dense_ranking else 0.0, held, math.log(rank)))
    return out
