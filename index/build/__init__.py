"""Build: orchestration from articles to a published index version, one module per stage — ``reading`` (sources
to articles, one assembler for local and Ray reading), ``chunk``, ``plan`` (stable ids, what is reused),
``encode`` (vectors through a chain of sources), ``vector_index`` (update or build, tune), ``stories``,
``version`` (write the version folder) — called in order by ``pipeline``. ``inputs`` is what the three entry
points hand it: ``pipeline.build_index`` (local), ``ray.build_index_on_ray`` (the ``ray`` sub-package: its
``session``, ``reading`` and ``encoding`` on a Ray cluster) and ``writes`` (the HTTP write path).

Import-light on purpose: import the module you need (``index.build.pipeline.build_index``, or ``index.build_index``).
"""
