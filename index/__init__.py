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
    from .embedding import Embedder, load_embedder
    from .errors import (
        IndexMismatchError,
        IndexNotFoundError,
        InvalidQueryError,
        NothingToIndexError,
        SemsearchError,
    )
    from .ingest.formats import ReadOptions
    from .ingest.walk import iter_articles
    from .models import Article, Passage, Repaired, Republished, Skipped
    from .settings import Settings
    from .storage.manifest import Manifest
    from .storage.versions import LoadedIndex, open_index
    from .vectors.stores import ExportReport, export_to_milvus, open_vector_store

# public name -> the module that defines it
_WHERE = {
    "Article": "index.models",
    "BuildProgress": "index.build.pipeline",
    "BuildReport": "index.build.pipeline",
    "Embedder": "index.embedding",
    "ExportReport": "index.vectors.stores",
    "IndexMismatchError": "index.errors",
    "IndexNotFoundError": "index.errors",
    "InvalidQueryError": "index.errors",
    "LoadedIndex": "index.storage.versions",
    "Manifest": "index.storage.manifest",
    "NothingToIndexError": "index.errors",
    "Passage": "index.models",
    "ReadOptions": "index.ingest.formats",
    "Repaired": "index.models",
    "Republished": "index.models",
    "SemsearchError": "index.errors",
    "Settings": "index.settings",
    "Skipped": "index.models",
    "build_index": "index.build.pipeline",
    "build_index_on_ray": "index.build.ray",
    "chunk_articles": "index.build.pipeline",
    "export_to_milvus": "index.vectors.stores",
    "iter_articles": "index.ingest.walk",
    "load_embedder": "index.embedding",
    "open_index": "index.storage.versions",
    "open_vector_store": "index.vectors.stores",
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


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
