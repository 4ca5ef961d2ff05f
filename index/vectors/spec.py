"""Index specs: what the user names (or ``auto``), parsed, and the default chosen by corpus size.

Rules, after FAISS's "Guidelines to choose an index" (github.com/facebookresearch/faiss/wiki):

- ``Flat`` (exact) up to FLAT_MAX_VECTORS: a query costs N·d multiply-adds, a few ms at 50k × 384,
  and nothing beats exact results.
- ``HNSW32`` up to HNSW_MAX_VECTORS when its memory (4·d + 2·M·4 bytes per vector, ~1.8 KB at d=384)
  fits the memory budget: fastest and most accurate approximate search, but no removal and slow to
  build on few cores.
- ``IVFk,SQ8`` above that (or when HNSW would not fit): k = 4·√N rounded to a power of two, clamped to
  [64, 65536] (FAISS: 4·√N to 16·√N lists), trained on min(N, 40·k) vectors (FAISS warns below 39·k),
  8-bit scalar codes (d + 8 bytes per vector with its id: 392 B at d=384).
- ``IVFk,PQm``: product quantisation with m = d/4 one-byte codes (96 B at d=384), re-ranked exactly
  from the stored vectors; the smallest footprint, for archives that do not fit otherwise. (d/8 codes
  lost too much on embedding-shaped data: recall@10 ≤ 0.82 at 100k even probing every list.)
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from ..errors import SemsearchError

FLAT_MAX_VECTORS = 50_000
HNSW_MAX_VECTORS = 1_000_000
HNSW_M = 32
IVF_MIN_LISTS, IVF_MAX_LISTS = 64, 65_536
TRAIN_PER_LIST = 40
_SPEC = re.compile(r"^(?:(?P<flat>Flat)|HNSW(?P<m>\d+)?|IVF(?P<k>\d+)?,(?P<code>Flat|SQ8|PQ(?P<pqm>\d+)?))$", re.I)


@dataclass(frozen=True)
class IndexSpec:
    """A parsed index spec with every parameter resolved."""

    kind: str  # "Flat", "HNSW" or "IVF"
    hnsw_m: int = 0
    lists: int = 0
    coding: str = ""  # IVF only: "Flat", "SQ8" or "PQ"
    pq_m: int = 0

    def __str__(self) -> str:
        if self.kind == "Flat":
            return "Flat"
        if self.kind == "HNSW":
            return f"HNSW{self.hnsw_m}"
        code = f"PQ{self.pq_m}" if self.coding == "PQ" else self.coding
        return f"IVF{self.lists},{code}"

    @property
    def factory(self) -> str:
        """The faiss.index_factory string for the inner index."""
        if self.coding == "PQ":
            return f"IVF{self.lists},PQ{self.pq_m}"
        return str(self)

    @property
    def exact(self) -> bool:
        """True for exact search (nothing to tune)."""
        return self.kind == "Flat"

    @property
    def reranked(self) -> bool:
        """True when candidates are re-scored exactly from the stored vectors."""
        return self.coding == "PQ"

    def bytes_per_vector(self, dim: int) -> float:
        """Approximate resident bytes per vector, id included (FAISS's own accounting)."""
        if self.kind == "Flat":
            return 4 * dim + 8
        if self.kind == "HNSW":
            return 4 * dim + 2 * self.hnsw_m * 4 + 8
        code = {"Flat": 4 * dim, "SQ8": dim, "PQ": self.pq_m}[self.coding]
        return code + 8 + 8  # code, id in the inverted list, id map entry


def ivf_lists(n: int) -> int:
    """Number of IVF lists for n vectors: 4·√n rounded to a power of two, clamped, and small enough
    that every list gets the 39 training vectors FAISS asks for."""
    target = 4 * math.sqrt(max(n, 1))
    lists = int(min(IVF_MAX_LISTS, max(IVF_MIN_LISTS, 2 ** round(math.log2(target)))))
    while lists > IVF_MIN_LISTS and lists * 39 > n:
        lists //= 2
    return lists


def training_size(spec: IndexSpec, n: int) -> int:
    """How many vectors to train an IVF index on."""
    return min(n, TRAIN_PER_LIST * spec.lists) if spec.kind == "IVF" else 0


def choose_spec(n: int, dim: int, memory_budget: int) -> IndexSpec:
    """The default index for n vectors of dimension dim under a memory budget in bytes."""
    if n <= FLAT_MAX_VECTORS:
        return IndexSpec("Flat")
    hnsw = IndexSpec("HNSW", hnsw_m=HNSW_M)
    if n <= HNSW_MAX_VECTORS and n * hnsw.bytes_per_vector(dim) <= memory_budget:
        return hnsw
    return IndexSpec("IVF", lists=ivf_lists(n), coding="SQ8")


def parse_spec(text: str, n: int, dim: int, memory_budget: int) -> IndexSpec:
    """Resolve a user's spec ("auto", "Flat", "HNSW32", "IVF", "IVF4096,SQ8", "IVF,PQ48"...) for n vectors."""
    if text.strip().lower() == "auto":
        return choose_spec(n, dim, memory_budget)
    match = _SPEC.match(text.strip())
    if not match:
        raise SemsearchError(
            f"Unknown index spec {text!r}; use auto, Flat, HNSW<M>, IVF<k>,Flat, IVF<k>,SQ8 or IVF<k>,PQ<m> "
            "(k and m may be left out, e.g. IVF,SQ8)."
        )
    if match["flat"]:
        return IndexSpec("Flat")
    if match["code"] is None:
        return IndexSpec("HNSW", hnsw_m=int(match["m"] or HNSW_M))
    lists = int(match["k"]) if match["k"] else ivf_lists(n)
    code = match["code"].upper()
    if code.startswith("PQ"):
        pq_m = int(match["pqm"]) if match["pqm"] else dim // 4
        if dim % pq_m:
            raise SemsearchError(f"PQ{pq_m} needs m to divide the dimension {dim}; try PQ{dim // 4}.")
        return IndexSpec("IVF", lists=lists, coding="PQ", pq_m=pq_m)
    return IndexSpec("IVF", lists=lists, coding="Flat" if code == "FLAT" else code)


def memory_budget() -> int:
    """Bytes an index may use by default: half of this machine's memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 << 30
