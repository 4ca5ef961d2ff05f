"""semsearch's index side: text in, index on disk (sources, chunking, embedding, vectors, store)."""

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
