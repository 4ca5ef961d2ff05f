"""Vector indexes: FAISS types chosen by spec or corpus size, recall-targeted tuning, exact filtering; the
backend interface that a Milvus collection implements too (``index.vectors.milvus_store``)."""

from index.vectors.backend import ScalarFilter, VectorBackend
from index.vectors.faiss_index import (
    HEADLINE_ID_BASE,
    FaissIndex,
    create_vector_index,
    load_vector_index,
)
from index.vectors.spec import IndexSpec, choose_spec, parse_spec
from index.vectors.tuning import Tuning, tune, validate_target

__all__ = [
    "HEADLINE_ID_BASE",
    "FaissIndex",
    "IndexSpec",
    "ScalarFilter",
    "Tuning",
    "VectorBackend",
    "choose_spec",
    "create_vector_index",
    "load_vector_index",
    "parse_spec",
    "tune",
    "validate_target",
]
