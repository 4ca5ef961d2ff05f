"""semsearch's index side: text in, index on disk (sources, chunking, embedding, vectors, store).

Public names resolve lazily (PEP 562): ``import index`` costs nothing, and a name loads its module (and
that module's heavy dependencies) on first use, so ``semsearch --help`` and a lexical query never pay
for the build pipeline, FAISS or the model.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # names for type checkers and editors; at run time __getattr__ resolves them
    from index.builder import BuildProgress, BuildReport, build_index, chunk_articles
    from index.distributed import build_index_on_ray
    from index.embedding import Embedder, load_embedder
    from index.errors import (
        IndexMismatchError,
        IndexNotFoundError,
        InvalidQueryError,
        NothingToIndexError,
        SemsearchError,
    )
    from index.formats import ReadOptions
    from index.index_dir import LoadedIndex, open_index
    from index.manifest import Manifest
    from index.records import Article, Passage, Repaired, Republished, Skipped
    from index.settings import Settings
    from index.sources import iter_articles
    from index.vector_store import ExportReport, export_to_milvus, open_vector_store

# public name -> the module that defines it
_WHERE = {
    "Article": "index.records",
    "BuildProgress": "index.builder",
    "BuildReport": "index.builder",
    "Embedder": "index.embedding",
    "ExportReport": "index.vector_store",
    "IndexMismatchError": "index.errors",
    "IndexNotFoundError": "index.errors",
    "InvalidQueryError": "index.errors",
    "LoadedIndex": "index.index_dir",
    "Manifest": "index.manifest",
    "NothingToIndexError": "index.errors",
    "Passage": "index.records",
    "ReadOptions": "index.formats",
    "Repaired": "index.records",
    "Republished": "index.records",
    "SemsearchError": "index.errors",
    "Settings": "index.settings",
    "Skipped": "index.records",
    "build_index": "index.builder",
    "build_index_on_ray": "index.distributed",
    "chunk_articles": "index.builder",
    "export_to_milvus": "index.vector_store",
    "iter_articles": "index.sources",
    "load_embedder": "index.embedding",
    "open_index": "index.index_dir",
    "open_vector_store": "index.vector_store",
}

__all__ = [
    "Article",
    "BuildProgress",
    "BuildReport",
    "Embedder",
    "ExportReport",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InvalidQueryError",
    "LoadedIndex",
    "Manifest",
    "NothingToIndexError",
    "Passage",
    "ReadOptions",
    "Repaired",
    "Republished",
    "SemsearchError",
    "Settings",
    "Skipped",
    "build_index",
    "build_index_on_ray",
    "chunk_articles",
    "export_to_milvus",
    "iter_articles",
    "load_embedder",
    "open_index",
    "open_vector_store",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})
