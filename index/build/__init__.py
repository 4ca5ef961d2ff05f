"""Build: orchestration from articles to a published index version — the pipeline (``pipeline.build_index``), the
id plan (``plan``), story grouping, writes through the HTTP edge (``writes``) and the distributed Ray build (``ray``).

Import-light on purpose: import the module you need (``index.build.pipeline.build_index``, or ``index.build_index``).
"""
