"""semsearch's index side: text in, index on disk, one sub-package per stage: ``ingest`` (files to articles),
``embedding``, ``vectors`` (FAISS, Milvus, centring), ``storage`` (the version folder) and ``build`` (orchestration).
The root holds what several stages or ``search`` share: errors, settings, the data model (``models``), terms,
hashing, chunking.

Public names resolve lazily (PEP 562): ``import index`` costs nothing, and a name loads its module (and
that module's heavy dependencies) on first use, so ``semsearch --help`` and a lexical query never pay
for the build pipeline, FAISS or the model.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_names

if TYPE_CHECKING:  # names for type checkers and editors; at run time __getattr__ resolves them
    from .build.pipeline import BuildProgress, BuildReport, build_index, chunk_articles
    from .build.ray import build_index_on_ray
    from .build.writes import write_articles, write_settings
    from .chunking import split_sentences
    from .embedding import Embedder, QueryEncoder, load_embedder, query_backend
    from .embedding.backends import check_interchangeable
    from .embedding.cache import cache_stats, clear_cache
    from .errors import IndexMismatchError, IndexNotFoundError, InvalidQueryError, NothingToIndexError, SemsearchError
    from .ingest.cleaning import normalise
    from .ingest.language import KNOWN_LANGUAGES
    from .ingest.walk import articles_from_records, iter_articles
    from .models import HEADLINE_ID_BASE, Article, Filter, Passage, Repaired, Republished, Skipped
    from .read_options import FIELDS, ReadOptions
    from .settings import Settings
    from .storage.arrays import damaged
    from .storage.layout import STORE_FILE, LoadedIndex, read_manifest
    from .storage.lexical import LexicalMatch
    from .storage.manifest import Manifest
    from .storage.store import PassageWithArticle
    from .storage.vector_store import ExportReport, export_to_milvus, open_vector_store
    from .storage.versions import check_index, current_version, open_index
    from .terms import term_spans
    from .vectors.backend import VectorBackend
    from .vectors.milvus_store import milvus_index_type

# public name -> the module that defines it
_WHERE = {
    "Article": "index.models",
    "BuildProgress": "index.build.pipeline",
    "BuildReport": "index.build.pipeline",
    "Embedder": "index.embedding",
    "ExportReport": "index.storage.vector_store",
    "FIELDS": "index.read_options",
    "Filter": "index.models",
    "HEADLINE_ID_BASE": "index.models",
    "IndexMismatchError": "index.errors",
    "IndexNotFoundError": "index.errors",
    "InvalidQueryError": "index.errors",
    "KNOWN_LANGUAGES": "index.ingest.language",
    "LexicalMatch": "index.storage.lexical",
    "LoadedIndex": "index.storage.layout",
    "Manifest": "index.storage.manifest",
    "NothingToIndexError": "index.errors",
    "Passage": "index.models",
    "PassageWithArticle": "index.storage.store",
    "QueryEncoder": "index.embedding",
    "ReadOptions": "index.read_options",
    "Repaired": "index.models",
    "Republished": "index.models",
    "STORE_FILE": "index.storage.layout",
    "SemsearchError": "index.errors",
    "Settings": "index.settings",
    "Skipped": "index.models",
    "VectorBackend": "index.vectors.backend",
    "articles_from_records": "index.ingest.walk",
    "build_index": "index.build.pipeline",
    "build_index_on_ray": "index.build.ray",
    "cache_stats": "index.embedding.cache",
    "check_index": "index.storage.versions",
    "check_interchangeable": "index.embedding.backends",
    "chunk_articles": "index.build.pipeline",
    "clear_cache": "index.embedding.cache",
    "current_version": "index.storage.versions",
    "damaged": "index.storage.arrays",
    "export_to_milvus": "index.storage.vector_store",
    "iter_articles": "index.ingest.walk",
    "load_embedder": "index.embedding",
    "milvus_index_type": "index.vectors.milvus_store",
    "normalise": "index.ingest.cleaning",
    "open_index": "index.storage.versions",
    "open_vector_store": "index.storage.vector_store",
    "query_backend": "index.embedding",
    "read_manifest": "index.storage.layout",
    "split_sentences": "index.chunking",
    "term_spans": "index.terms",
    "write_articles": "index.build.writes",
    "write_settings": "index.build.writes",
}

__all__ = [
    "FIELDS",
    "HEADLINE_ID_BASE",
    "KNOWN_LANGUAGES",
    "STORE_FILE",
    "Article",
    "BuildProgress",
    "BuildReport",
    "Embedder",
    "ExportReport",
    "Filter",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InvalidQueryError",
    "LexicalMatch",
    "LoadedIndex",
    "Manifest",
    "NothingToIndexError",
    "Passage",
    "PassageWithArticle",
    "QueryEncoder",
    "ReadOptions",
    "Repaired",
    "Republished",
    "SemsearchError",
    "Settings",
    "Skipped",
    "VectorBackend",
    "articles_from_records",
    "build_index",
    "build_index_on_ray",
    "cache_stats",
    "check_index",
    "check_interchangeable",
    "chunk_articles",
    "clear_cache",
    "current_version",
    "damaged",
    "export_to_milvus",
    "iter_articles",
    "load_embedder",
    "milvus_index_type",
    "normalise",
    "open_index",
    "open_vector_store",
    "query_backend",
    "read_manifest",
    "split_sentences",
    "term_spans",
    "write_articles",
    "write_settings",
]


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
