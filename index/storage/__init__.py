"""Storage: one index version on disk and the folder of versions — publishing and leasing versions (``versions``),
the manifest, the SQLite article store, the BM25 lexical index, the vector rows and sentence vectors, and which
vector store a version is searched in (``vector_store``: its FAISS file or a Milvus collection it was exported to).

Import-light on purpose: import the module you need (``index.storage.versions.open_index``, or ``index.open_index``).
"""
