"""The vectors of an index as rows on disk: raw embeddings with their ids, articles and languages.

``embeddings.npy`` keeps the model's raw vectors (memory-mapped when loaded), so a rebuild reuses
them instead of encoding again, a re-ranking or filtered search reads exact vectors, and language
means can be recomputed at any time. Rows are sorted by vector id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError
from ..vectors.centring import STRENGTH, centre, language_means
from .arrays import damaged, load_npy, load_npz

_CORPUS = "*"


@dataclass
class LanguageMeans:
    """Per-language mean vectors and how strongly they are removed (0 = off)."""

    means: dict[str, np.ndarray]
    strength: float

    @classmethod
    def fit(cls, raw: np.ndarray, langs: list[str], strength: float) -> LanguageMeans:
        """Means of every language in ``raw`` (shrunk towards the corpus mean)."""
        return cls(language_means(raw, langs), strength)

    def extend(self, raw: np.ndarray, langs: list[str]) -> LanguageMeans:
        """Keep the existing means fixed; fit means only for languages not seen before."""
        new = [i for i, lang in enumerate(langs) if lang not in self.means]
        if not new:
            return self
        fitted = language_means(np.asarray(raw[new], dtype=np.float32), [langs[i] for i in new], self.means[_CORPUS])
        extra = {lang: mean for lang, mean in fitted.items() if lang != _CORPUS}
        return LanguageMeans({**self.means, **extra}, self.strength)

    def apply(self, raw: np.ndarray, langs: list[str] | np.ndarray) -> np.ndarray:
        """Centred, unit-length vectors."""
        return centre(np.asarray(raw, dtype=np.float32), list(langs), self.means, self.strength)

    def save(self, path: Path) -> None:
        """Write to an .npz file."""
        names = list(self.means)
        np.savez(path, langs=np.array(names), means=np.stack([self.means[n] for n in names]), strength=self.strength)

    @classmethod
    def load(cls, path: Path) -> LanguageMeans:
        """Read from an .npz file."""
        data = load_npz(path, ("langs", "means", "strength"))
        langs, means = data["langs"], data["means"]
        if langs.ndim != 1 or means.ndim != 2 or len(langs) != len(means) or data["strength"].shape != ():
            raise damaged(path, f"{len(langs)} languages for means of shape {means.shape}")
        return cls(dict(zip(langs.tolist(), means)), float(data["strength"]))

    @classmethod
    def off(cls, dim: int) -> LanguageMeans:
        """No centring."""
        return cls({_CORPUS: np.zeros(dim, np.float32)}, 0.0)


def default_strength(language_neutral: bool) -> float:
    """The centring strength a build uses."""
    return STRENGTH if language_neutral else 0.0


@dataclass
class VectorRows:
    """Every vector of an index: id, article number, language and raw embedding, sorted by id."""

    ids: np.ndarray
    articles: np.ndarray
    langs: np.ndarray  # language code per row, as a numpy string array
    raw: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids (all must exist)."""
        pos = np.searchsorted(self.ids, ids)
        if len(ids) and (
            pos.max() >= len(self.ids) or not np.array_equal(self.ids[np.minimum(pos, len(self.ids) - 1)], ids)
        ):
            raise IndexMismatchError("The index refers to vectors it does not hold; rebuild it with `semsearch build`.")
        return pos

    def save(self, embeddings: Path, rows: Path) -> None:
        """Write the raw vectors (.npy) and the ids, articles and languages (.npz)."""
        np.save(embeddings, np.ascontiguousarray(self.raw, dtype=np.float32))
        np.savez(rows, ids=self.ids, articles=self.articles, langs=self.langs)

    @classmethod
    def load(cls, embeddings: Path, rows: Path) -> VectorRows:
        """Read the rows written by ``save``; embeddings are memory-mapped, not loaded."""
        data = load_npz(rows, ("ids", "articles", "langs"))
        ids, articles, langs = data["ids"], data["articles"], data["langs"]
        if not (ids.ndim == articles.ndim == langs.ndim == 1 and len(ids) == len(articles) == len(langs)):
            raise damaged(rows, f"arrays of shapes {ids.shape}, {articles.shape}, {langs.shape}")
        if ids.dtype != np.int64 or articles.dtype != np.int64 or (len(ids) > 1 and not (np.diff(ids) > 0).all()):
            raise damaged(rows, "vector ids that are not sorted int64")
        raw = load_npy(embeddings, dtype="float32", ndim=2, mmap=True)
        if len(raw) != len(ids):
            raise IndexMismatchError(
                f"{rows.parent} holds {len(raw)} embeddings for {len(ids)} ids; rebuild the index with `semsearch build`."
            )
        return cls(ids, articles, langs, raw)


def centred_lookup(rows: VectorRows, means: LanguageMeans) -> Callable[[np.ndarray], np.ndarray]:
    """A function: vector ids -> their exact centred vectors, read from the memory-mapped rows."""

    def lookup(ids: np.ndarray) -> np.ndarray:
        pos = rows.positions(np.asarray(ids, dtype=np.int64))
        return means.apply(rows.raw[pos], rows.langs[pos])

    return lookup
