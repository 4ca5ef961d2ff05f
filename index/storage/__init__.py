"""Storage: one index version on disk and the folder of versions — publishing and leasing versions (``versions``),
the manifest, the SQLite article store, the BM25 lexical index, the vector rows and sentence vectors.

Import-light on purpose: import the module you need (``index.storage.versions.open_index``, or ``index.open_index``).
"""
