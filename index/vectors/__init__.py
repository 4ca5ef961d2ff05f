"""Vector indexes: FAISS types chosen by spec or corpus size, recall-targeted tuning, exact filtering,
language centring; the backend interface that a Milvus collection implements too
(``index.vectors.milvus_store``), and ``stores`` which opens either."""

from .backend import VectorBackend
from .faiss_index import (
    FaissIndex,
    create_vector_index,
    load_vector_index,
    open_vector_index,
)
from .spec import IndexSpec, choose_spec, parse_spec
from .tuning import Tuning, tune, validate_target

__all__ = [
    "FaissIndex",
    "IndexSpec",
    "Tuning",
    "VectorBackend",
    "choose_spec",
    "create_vector_index",
    "load_vector_index",
    "open_vector_index",
    "parse_spec",
    "tune",
    "validate_target",
]
