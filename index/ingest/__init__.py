"""Ingest: files in, ``Article`` records out — walking sources (``walk``), reading each format (``formats``),
cleaning scraped text, parsing dates, detecting languages and finding republished copies (``duplicates``).

Import-light on purpose: import the module you need (``index.ingest.walk.iter_articles``, or ``index.iter_articles``).
"""
