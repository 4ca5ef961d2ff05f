"""Every default in one place, and the one function that reads ``SEMSEARCH_*`` variables (called by the edges)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from .read_options import ReadOptions

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
DEFAULT_INDEX_SPEC = "auto"  # chosen by corpus size, see index/vectors/spec.py
DEFAULT_RECALL_TARGET = 0.95
# Total tokens fed to the model per passage: prompt + title context + body + specials.
# Well under the model's 512: focused passages rank better and make better snippets (measured on the
# demo corpus: 128 beat 192 and 256 on cross-lingual headline queries, at the same encode cost).
DEFAULT_PASSAGE_TOKENS = 128
# Title context may use at most this share of a passage's tokens.
TITLE_CONTEXT_SHARE = 0.25
DEFAULT_OVERLAP_SENTENCES = 1
# Remove the language from passage vectors before indexing, and how: "leace" (linear concept erasure fitted on the
# index's own passages and languages, index/vectors/erasure.py) or "centring" (a share of each language's mean,
# index/vectors/centring.py; what indexes built before format 7 hold). LEACE won on held-out NTREX through the
# product (benchmarks/README.md, "Cross-lingual quality").
DEFAULT_LANGUAGE_NEUTRAL = True
DEFAULT_LANGUAGE_METHOD: Final = "leace"
LANGUAGE_METHODS: Final = ("leace", "centring")
DEFAULT_ENCODE_BATCH = 32
# Encoder backend: "auto" (CUDA fp16 when a GPU is usable, else CPU fp32), "fast" (ONNX int8 on the CPU),
# or a backend by name; see index/embedding/backends.py.
DEFAULT_ENCODER = "auto"
# Padded tokens per forward pass (count × longest text): 16 passages of 128 tokens, 100 headlines of 20.
# Small batches stay in the CPU's caches: on NTREX passages 2,048 beat 8,192 and 32,768 by 15 % (fp32)
# and 30 % (int8), measured side by side (benchmarks/README.md, "Encoding throughput").
ENCODE_TOKEN_BUDGET = 2_048
# The int8 encoder's budget: smaller still (512–1,024 measured 10 % faster than 2,048 for int8, while
# fp32 at 1,024 was 4 % slower than at 2,048; same run, same texts).
ONNX_ENCODE_TOKEN_BUDGET = 1_024
# Encode worker processes: 0 = one per ENCODE_THREADS_PER_WORKER cores (one on a machine with fewer),
# each with its share of the cores: intra-op threading of a 384-wide model stops scaling after a few
# threads, separate processes do not share that limit. (Not measurable on our 2-core machines.)
DEFAULT_ENCODE_WORKERS = 0
ENCODE_THREADS_PER_WORKER = 4
# The embedding cache (vectors by model, backend and text) and its size bound.
DEFAULT_CACHE_BYTES = 2 << 30
# Query vectors kept by a running engine (an LRU), so a repeated query costs no model call.
QUERY_CACHE_ENTRIES = 4_096
DEFAULT_K = 10
# Retrieval mode and result grouping of queries (see search/engine.py).
DEFAULT_MODE: Final = "hybrid"
DEFAULT_GROUP: Final = "stories"
# Reciprocal rank fusion constant (Cormack et al., 2009): a hit at rank r adds 1 / (RRF_K + r).
RRF_K = 60
# Candidates taken from each ranking before fusion and grouping (at least k, more when grouping stories).
FUSION_DEPTH = 50
# A lexical hit counts only when it holds this share of the query's IDF-weighted terms.
# Measured on both dev evaluations (benchmarks/README.md): at 0.7 hybrid is never below dense on any
# language pair and clearly above it on same-language keyword queries; at 0.3 lexical noise from common
# words pushes cross-language answers down (en>ru on the seeds).
LEXICAL_MIN_COVERAGE = 0.7
# Weight of the lexical index's names field (non-Latin words romanised to consonant keys, matched by a query's
# Latin words; index/transliteration.py) against the ordinary field, whose matches are exact.
NAME_FIELD_WEIGHT = 1.0
# A query whose results all have a confidence (search/confidence.py) under this gets the note "No good match":
# none is more likely relevant than not. Measured (benchmarks/fit_confidence.py, benchmarks/README.md
# "Confidence"): it flags most off-topic queries and almost no answerable ones; a stricter threshold flags more
# off-topic queries but also short answerable ones ("Russia Iran treaty": 0.83).
NO_GOOD_MATCH_CONFIDENCE = 0.5
# Grouping by stories takes this many candidates per requested result (a story has up to one per language).
STORY_FANOUT = 4
MAX_K = 100
# Paging goes this deep at most (offset + k).
MAX_DEPTH = 1_000
MAX_QUERY_CHARS = 2_000
MAX_BATCH_QUERIES = 10_000
# Seconds a write (POST /articles, DELETE /articles/{id}) waits for a running build or write to finish
# before it is refused (HTTP 503 with Retry-After); `semsearch build` never waits for another build.
DEFAULT_WRITE_WAIT_S = 30.0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Characters of an article fed to language detection: no error on NTREX-128's 1,722 articles in 14
# languages at 600 (3 errors at 300), at under half the cost of 1,500.
LANGUAGE_SAMPLE_CHARS = 600
# How many passages are fetched per requested article before widening the search.
PASSAGES_PER_ARTICLE_FETCH = 4
# Scaling out (index/build/ray.py, index/vectors/milvus_store.py): seconds a Ray or Milvus address may take
# to answer before it is reported unreachable; a local Ray instance's object store (`build --ray` without an
# address); files read per Ray task and texts encoded per actor call (only texts that neither the index nor
# the embedding cache holds are sent); restarts of a dead worker (and retries of its batch) before a build
# fails; the Milvus collection when a URI names none.
CONNECT_TIMEOUT_S = 10.0
RAY_OBJECT_STORE_BYTES = 256 << 20
RAY_FILES_PER_TASK = 32
RAY_TEXTS_PER_BATCH = 256
RAY_MAX_RETRIES = 3
DEFAULT_MILVUS_COLLECTION = "semsearch"
# Attempts of an export before a Milvus failure is reported (each into a fresh collection).
MILVUS_EXPORT_ATTEMPTS = 3


# Values of a yes/no variable (SEMSEARCH_NO_GPU) that mean yes; anything else (unset, 0, no) means no.
_TRUE = frozenset({"1", "true", "yes", "on"})


def _default_home() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("semsearch", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Where things live and how an index is built; explicit flags override these."""

    home: Path
    index_dir: Path
    model: str | None = None  # None: the index's own model when querying, DEFAULT_MODEL when building
    index_spec: str = DEFAULT_INDEX_SPEC
    recall_target: float = DEFAULT_RECALL_TARGET
    passage_tokens: int = DEFAULT_PASSAGE_TOKENS
    overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES
    encode_batch: int = DEFAULT_ENCODE_BATCH
    language_neutral: bool = DEFAULT_LANGUAGE_NEUTRAL
    # how a language-neutral build removes the language (one of LANGUAGE_METHODS)
    language_method: str = DEFAULT_LANGUAGE_METHOD
    # None: the index's own encoder when querying, DEFAULT_ENCODER when building
    encoder: str | None = None
    use_gpu: bool = True
    encode_workers: int = DEFAULT_ENCODE_WORKERS
    # passage vectors reused across builds; 0 turns the cache off
    cache_bytes: int = DEFAULT_CACHE_BYTES
    # input column/key for our fields (``--field text=body``; ``export.csv:text`` for one file); empty: own names
    fields: tuple[tuple[str, str], ...] = ()
    # read what links leading outside a source folder point to (``--follow-links``); off: such links are skipped
    follow_links: bool = False
    # the server's API key (``--api-key`` or SEMSEARCH_API_KEY); never logged
    api_key: str | None = field(default=None, repr=False)
    # where queries search the vectors: None for the index's own FAISS file, or ``milvus://…`` (SEMSEARCH_STORE)
    store: str | None = None
    # how long a write queues behind a build or another write before it is refused (SEMSEARCH_WRITE_WAIT_S)
    write_wait_s: float = DEFAULT_WRITE_WAIT_S
    # a running `semsearch serve` that `semsearch query` asks instead of opening the index (SEMSEARCH_URL)
    url: str | None = None

    @property
    def read_options(self) -> ReadOptions:
        """How sources are read."""
        return ReadOptions(fields=dict(self.fields))

    @property
    def models_dir(self) -> Path:
        """Folder that holds materialised models."""
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        """Folder of the embedding cache."""
        return self.home / "cache"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given non-None fields replaced (flags beat environment beat defaults)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``SEMSEARCH_HOME``, ``SEMSEARCH_INDEX``, ``SEMSEARCH_MODEL``, ``SEMSEARCH_API_KEY``,
        ``SEMSEARCH_STORE``, ``SEMSEARCH_WRITE_WAIT_S``, ``SEMSEARCH_URL``, ``SEMSEARCH_ENCODER``,
        ``SEMSEARCH_LANGUAGE_METHOD`` (leace or centring) and ``SEMSEARCH_NO_GPU`` (1/true/yes/on: no GPU)."""
        env = os.environ if environ is None else environ
        home = Path(env["SEMSEARCH_HOME"]).expanduser() if env.get("SEMSEARCH_HOME") else _default_home()
        index_dir = Path(env["SEMSEARCH_INDEX"]).expanduser() if env.get("SEMSEARCH_INDEX") else home / "index"
        wait = env.get("SEMSEARCH_WRITE_WAIT_S") or str(DEFAULT_WRITE_WAIT_S)
        try:
            write_wait_s = float(wait)
        except ValueError:
            write_wait_s = -1.0
        if not 0 <= write_wait_s < float("inf"):
            from .errors import SemsearchError

            raise SemsearchError(f"SEMSEARCH_WRITE_WAIT_S={wait!r}: give a number of seconds, 0 or more.")
        method = env.get("SEMSEARCH_LANGUAGE_METHOD", "").strip().lower() or DEFAULT_LANGUAGE_METHOD
        if method not in LANGUAGE_METHODS:
            from .errors import SemsearchError

            raise SemsearchError(f"SEMSEARCH_LANGUAGE_METHOD={method!r}: give one of {', '.join(LANGUAGE_METHODS)}.")
        return cls(
            home=home, index_dir=index_dir, model=env.get("SEMSEARCH_MODEL") or None,
            api_key=env.get("SEMSEARCH_API_KEY") or None, store=env.get("SEMSEARCH_STORE") or None,
            write_wait_s=write_wait_s,
            encoder=env.get("SEMSEARCH_ENCODER", "").strip() or None,
            use_gpu=env.get("SEMSEARCH_NO_GPU", "").strip().lower() not in _TRUE,
            url=env.get("SEMSEARCH_URL") or None, language_method=method,
        )  # fmt: skip
