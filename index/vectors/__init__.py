"""Vector indexes: FAISS types chosen by spec or corpus size, recall-targeted tuning, exact filtering,
language centring; the backend interface that a Milvus collection implements too
(``index.vectors.milvus_store``). Which of the two an index is searched in is ``index.storage.vector_store``'s
choice.

Names resolve lazily (PEP 562), as ``index``'s do: opening an index for a lexical query loads the FAISS
wrapper and the spec parser, not the tuner or the Milvus modules.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:  # names for type checkers and editors; at run time __getattr__ resolves them
    from .backend import VectorBackend
    from .faiss_index import FaissIndex, create_vector_index, load_vector_index, open_vector_index
    from .spec import IndexSpec, choose_spec, parse_spec
    from .tuning import Tuning, tune, validate_target

# public name -> the module that defines it
_WHERE = {
    "FaissIndex": "index.vectors.faiss_index",
    "IndexSpec": "index.vectors.spec",
    "Tuning": "index.vectors.tuning",
    "VectorBackend": "index.vectors.backend",
    "choose_spec": "index.vectors.spec",
    "create_vector_index": "index.vectors.faiss_index",
    "load_vector_index": "index.vectors.faiss_index",
    "open_vector_index": "index.vectors.faiss_index",
    "parse_spec": "index.vectors.spec",
    "tune": "index.vectors.tuning",
    "validate_target": "index.vectors.tuning",
}

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

__getattr__, __dir__ = lazy_names(__name__, _WHERE)
