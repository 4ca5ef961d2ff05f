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
from ..vectors.erasure import LEACE_STRENGTH, Eraser, erasable_languages, fit_leace
from .arrays import damaged, load_npy, load_npz

_CORPUS = "*"
_ERASER = ("erase_left", "erase_right", "erase_mean", "erased")  # the .npz arrays of a LEACE map


@dataclass
class LanguageMeans:
    """How the language is removed from an index's vectors: per-language means removed at ``strength``
    (centring; 0 = off), or, when ``eraser`` is set, LEACE fitted on the ``erased`` languages instead (the
    means are then kept for the record, not applied). ``apply`` is the one place an index's vectors are made.

    A build asks for "off", "centring" or "leace" (``fit``); LEACE that cannot be fitted (fewer than two
    languages with MIN_LANGUAGE_ROWS rows: one language, a tiny index) falls back to centring, as every index
    before format 7 was built."""

    means: dict[str, np.ndarray]
    strength: float
    eraser: Eraser | None = None
    erased: tuple[str, ...] = ()  # the languages the eraser was fitted on, sorted

    @property
    def method(self) -> str:
        """What is applied: "leace", "centring" or "off"."""
        return "leace" if self.eraser is not None else "centring" if self.strength else "off"

    @classmethod
    def fit(cls, raw: np.ndarray, langs: list[str], method: str) -> LanguageMeans:
        """The map a build of ``raw`` with ``langs`` makes when asked for ``method`` (see the class docstring)."""
        if method == "off":
            return cls.off(raw.shape[1])
        means = language_means(raw, langs)
        erased = erasable_languages(langs) if method == "leace" else ()
        if not erased:
            return cls(means, STRENGTH)
        keep = np.flatnonzero(np.isin(np.asarray(langs, dtype=str), erased))
        eraser = fit_leace(np.asarray(raw[keep], dtype=np.float32), [langs[i] for i in keep])
        return cls(means, LEACE_STRENGTH, eraser.at(LEACE_STRENGTH), erased)

    def serves(self, method: str, langs: list[str] | np.ndarray) -> bool:
        """Whether this map is the one ``fit(…, method)`` would make for rows in ``langs``, up to refitting on
        the same languages: then a build keeps it (``extend``) instead of re-making every vector."""
        if method == "off":
            return self.strength == 0
        if method == "centring":
            return self.eraser is None and self.strength == STRENGTH
        erased = erasable_languages([str(lang) for lang in langs])
        return erased == self.erased and (self.eraser is not None or self.strength == STRENGTH)

    def extend(self, raw: np.ndarray, langs: list[str]) -> LanguageMeans:
        """Keep the existing means (and eraser) fixed; fit means only for languages not seen before."""
        new = [i for i, lang in enumerate(langs) if lang not in self.means]
        if not new:
            return self
        fitted = language_means(np.asarray(raw[new], dtype=np.float32), [langs[i] for i in new], self.means[_CORPUS])
        extra = {lang: mean for lang, mean in fitted.items() if lang != _CORPUS}
        return LanguageMeans({**self.means, **extra}, self.strength, self.eraser, self.erased)

    def apply(self, raw: np.ndarray, langs: list[str] | np.ndarray) -> np.ndarray:
        """The vectors the index holds for these raw vectors: erased or centred, unit length."""
        if self.eraser is not None:
            return self.eraser.apply(raw)
        return centre(np.asarray(raw, dtype=np.float32), list(langs), self.means, self.strength)

    def save(self, path: Path) -> None:
        """Write to an .npz file (a LEACE map adds the eraser's arrays; a file without them is centring)."""
        names = list(self.means)
        arrays = {"langs": np.array(names), "means": np.stack([self.means[n] for n in names]),
                  "strength": np.float64(self.strength)}  # fmt: skip
        if self.eraser is not None:
            e = self.eraser
            arrays.update(zip(_ERASER, (e.left, e.right, e.mean, np.array(self.erased, dtype=str))))
        np.savez(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> LanguageMeans:
        """Read from an .npz file."""
        data = load_npz(path, ("langs", "means", "strength"), optional=_ERASER)
        langs, means = data["langs"], data["means"]
        if langs.ndim != 1 or means.ndim != 2 or len(langs) != len(means) or data["strength"].shape != ():
            raise damaged(path, f"{len(langs)} languages for means of shape {means.shape}")
        strength = float(data["strength"])
        if not set(_ERASER) & set(data):
            return cls(dict(zip(langs.tolist(), means)), strength)
        if not set(_ERASER) <= set(data):
            raise damaged(path, f"an eraser without {', '.join(sorted(set(_ERASER) - set(data)))}")
        left, right, mean, erased = (data[name] for name in _ERASER)
        d = means.shape[1]
        if left.ndim != 2 or right.shape != left.shape[::-1] or left.shape[0] != d or mean.shape != (d,):
            raise damaged(path, f"an eraser of shapes {left.shape}, {right.shape}, {mean.shape} for {d} dimensions")
        eraser = Eraser(left, right, mean, strength)
        return cls(dict(zip(langs.tolist(), means)), strength, eraser, tuple(erased.tolist()))

    @classmethod
    def off(cls, dim: int) -> LanguageMeans:
        """No centring."""
        return cls({_CORPUS: np.zeros(dim, np.float32)}, 0.0)


def language_method(language_neutral: bool, method: str) -> str:
    """The method a build asks ``LanguageMeans.fit`` for: "off" unless language-neutral, else ``method``."""
    return method if language_neutral else "off"


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


def centred_rows(rows: VectorRows, means: LanguageMeans, chunk: int = 100_000) -> np.ndarray:
    """Every row's vector as the index holds it (``means`` applied), made ``chunk`` rows at a time so the raw
    vectors are read from their mapping piece by piece."""
    if not len(rows):
        return np.zeros((0, rows.raw.shape[1]), np.float32)
    return np.vstack([means.apply(rows.raw[i : i + chunk], rows.langs[i : i + chunk])
                      for i in range(0, len(rows), chunk)])  # fmt: skip


def centred_lookup(rows: VectorRows, means: LanguageMeans) -> Callable[[np.ndarray], np.ndarray]:
    """A function: vector ids -> their exact centred vectors, read from the memory-mapped rows."""

    def lookup(ids: np.ndarray) -> np.ndarray:
        pos = rows.positions(np.asarray(ids, dtype=np.int64))
        return means.apply(rows.raw[pos], rows.langs[pos])

    return lookup
