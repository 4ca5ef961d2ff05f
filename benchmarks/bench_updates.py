"""Keeping up with the news at any size (issue 14): what this script measures today.

Two parts, both without running the model on passages:

- ``--build-only``: a full build of a synthetic corpus at each size, with precomputed vectors (the mixture of
  synthetic.py, drawn by bench_cold_query.py's ``BatchMixtureEmbedder``) under multilingual article texts made
  of NTREX-128 sentences (12 sentences of one language per article, one article in 50 a republished copy),
  so BM25, copies and stories read real text. Each size is built in a fresh process: its peak memory (``ru_maxrss``), its resident memory before the
  build (the tokenizer and the model it counts tokens with), the build's time without the encoding, that time
  per stage, and the encoding time the model would add at this machine's measured rate.
- ``--stories``: the cross-language stories found with candidates from the approximate search (HNSW over
  article vectors) against those of the exact scan, as pairwise precision and recall, on built indexes
  (``--index``, e.g. the demo corpus and NTREX) and on synthetic vectors with planted stories at each size.

Writes (segments), their latency, merges and the oracle after 1,000 writes are not here yet: those parts
come with the segmented index.

    python benchmarks/bench_updates.py --build-only --sizes 10000,100000 --fit-index /tmp/seeds-index
    python benchmarks/bench_updates.py --build-only --sizes 100000 --profile /tmp/build.prof
    python benchmarks/bench_updates.py --stories --index /tmp/seeds-index --index /tmp/ntrex-index \
        --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from common import append_results
from ntrex import DEFAULT_DIR as NTREX_DIR
from ntrex import FILES as NTREX_FILES
from synthetic import BatchMixtureEmbedder, fit_mixture

# Passages per second of the default encoder (sentence-transformers fp32, 2 cores; /work/shared/MODEL.md).
ENCODE_RATE = 12.7
SENTENCES_PER_ARTICLE = 12
COPY_EVERY = 50
# Share of the mixture's mean taken out of planted stories' vectors: with all of it left in, unrelated mixture
# passages align above ALIGN_THRESHOLD (NTREX's do not), and stories become chains of chance pairs.
PLANTED_SHIFT = 0.5
# Passages and headline of such an article (12 NTREX sentences, ~290 tokens, at 128-token passages).
VECTORS_PER_ARTICLE = 7.75


def ntrex_corpus(path: Path, vectors: int, folder: Path = NTREX_DIR, seed: int = 0) -> int:
    """Articles of SENTENCES_PER_ARTICLE NTREX sentences of one language, drawn at random (two articles share
    a sentence rarely), adding up to about ``vectors`` vectors (VECTORS_PER_ARTICLE: passages and a headline);
    one article in COPY_EVERY is an earlier one republished with a byline. Returns how many articles."""
    rng = np.random.default_rng(seed)
    sentences = {}
    for lang, name in NTREX_FILES.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        sentences[lang] = [line.strip() for line in lines if line.strip()]
    langs = sorted(sentences)
    n = int(vectors / VECTORS_PER_ARTICLE)
    records: list[dict[str, str]] = []
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            if i % COPY_EVERY == COPY_EVERY - 1:
                original = records[int(rng.integers(len(records)))]
                record = {**original, "id": f"n{i}", "text": f"By a staff reporter. {original['text']}"}
            else:
                lang = langs[int(rng.integers(len(langs)))]
                pool = sentences[lang]
                body = [pool[j] for j in rng.choice(len(pool), SENTENCES_PER_ARTICLE, replace=False)]
                joiner = "" if lang in ("zh", "ja") else " "
                record = {"id": f"n{i}", "title": f"{body[0][:80]} {i}", "text": joiner.join(body), "lang": lang}
                records.append(record)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n


def build_once(vectors: int, fit_index: Path | None, work: Path, profile: Path | None, ntrex: Path) -> dict:
    """One full build in this process (the child of ``--build-only``): its figures as a dict."""
    from index import BuildProgress, Settings, build_index, load_embedder
    from index.embedding.backends import TORCH_FP32

    articles = ntrex_corpus(work / "corpus.jsonl", vectors, ntrex)
    settings = Settings.from_env().with_overrides(index_dir=work / "index", cache_bytes=0)
    embedder = BatchMixtureEmbedder(load_embedder(None, settings.models_dir, TORCH_FP32), fit_mixture(fit_index))
    embedder.count_tokens(["warm up"])
    rss_before = _rss_now()
    events: list[tuple[float, BuildProgress]] = []
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = build_index([work / "corpus.jsonl"], settings, embedder=embedder,
                         progress=lambda event: events.append((time.perf_counter(), event)))  # fmt: skip
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    seconds = time.perf_counter() - started
    stages = _stages(
        [(started, BuildProgress("start", 0, None)), *events, (time.perf_counter(), BuildProgress("end", 0, None))]
    )
    m = report.manifest
    return {
        "vectors": m.passages + m.headlines, "articles": articles, "indexed": m.articles, "passages": m.passages,
        "index_spec": m.index_spec, "seconds": seconds, "encode_seconds": report.encode_seconds,
        "non_encoding_seconds": seconds - report.encode_seconds,
        "model_encode_seconds": (m.passages + m.headlines) / ENCODE_RATE,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": rss_before,
        "stages": stages, "stories": m.build.stories,
        "republished": m.build.republished,
    }  # fmt: skip


def _stages(events: list[tuple[float, Any]]) -> dict[str, float]:
    """Seconds per stage from the build's progress events: the time from one event to the next goes to the
    first one's stage, except after the last "read" event (copies are found then) and after "stories" is done
    (the version's files are written then)."""
    out: dict[str, float] = {}
    for (at, event), (until, following) in pairwise(events):
        stage = event.stage
        if stage == "read" and following.stage != "read":
            stage = "copies"
        elif stage == "stories" and event.done == event.total:
            stage = "write files"
        elif stage == "write" and event.done == 0:
            stage = "stories"
        out[stage] = round(out.get(stage, 0.0) + until - at, 2)
    return out


def build_part(sizes: list[int], fit_index: Path | None, profile: Path | None, ntrex: Path) -> list[dict]:
    """``build_once`` at each size, each in a fresh process."""
    rows = []
    print(f"{'vectors':>9}{'articles':>9}{'build s':>9}{'encode s':>9}{'non-enc s':>10}{'peak MB':>9}{'before MB':>10}"
          f"{'model enc h':>12}  stages (s)")  # fmt: skip
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="semsearch-updates-") as work:
            cmd = [sys.executable, __file__, "--child", str(size), "--work", work, "--ntrex", str(ntrex)]
            cmd += ["--fit-index", str(fit_index)] if fit_index else []
            cmd += ["--profile", str(profile)] if profile else []
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the build of {size} vectors failed:\n{done.stderr[-3000:]}")
            out = done.stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['vectors']:>9}{row['articles']:>9}{row['seconds']:>9.1f}{row['encode_seconds']:>9.1f}"
              f"{row['non_encoding_seconds']:>10.1f}{row['peak_rss_mb']:>9.0f}{row['rss_before_mb']:>10.0f}"
              f"{row['model_encode_seconds'] / 3600:>12.1f}  {row['stages']}")  # fmt: skip
    if profile:
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(40)
    return rows


def planted_stories(mixture_sample, stories: int, seed: int) -> tuple:  # type: ignore[no-untyped-def]
    """Synthetic passage vectors with planted stories: each story's content is 1–5 mixture vectors, told in
    1–4 of 8 languages (each version its content plus a language offset and noise, renormalised)."""
    rng = np.random.default_rng(seed)
    langs_all = [f"l{i}" for i in range(8)]
    sizes = rng.integers(1, 6, stories)
    content = mixture_sample(int(sizes.sum()), seed)
    dim = content.shape[1]
    offsets = rng.normal(size=(8, dim)).astype(np.float32) * 0.02
    raw, owner, langs, article_langs = [], [], [], {}
    at = 0
    for size in sizes:
        base = content[at : at + size]
        at += size
        for lang in rng.choice(8, size=int(rng.integers(1, 5)), replace=False):
            number = len(article_langs)
            article_langs[number] = langs_all[lang]
            noisy = base + offsets[lang] + rng.normal(size=base.shape).astype(np.float32) * 0.012
            raw.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
            owner += [number] * len(base)
            langs += [langs_all[lang]] * len(base)
    return np.vstack(raw), np.array(owner), langs, article_langs


def _pairs(stories: dict[int, int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = {}
    for article, story in stories.items():
        members.setdefault(story, []).append(article)
    return {(a, b) for group in members.values() for a in sorted(group) for b in group if a < b}


def compare_stories(name: str, raw: np.ndarray, owner: np.ndarray, langs: list, article_langs: dict) -> dict:  # type: ignore[type-arg]
    """The approximate candidates' stories against the exact scan's: pairwise precision, recall, seconds."""
    from index.build.stories import find_stories

    timed = {}
    for exact in (True, False):
        t0 = time.perf_counter()
        timed[exact] = (_pairs(find_stories(raw, owner, langs, article_langs, exact=exact)), time.perf_counter() - t0)
    (exact_pairs, exact_s), (approx_pairs, approx_s) = timed[True], timed[False]
    agreed = len(exact_pairs & approx_pairs)
    row = {
        "corpus": name, "articles": len(article_langs), "passages": len(raw), "exact_pairs": len(exact_pairs),
        "precision": agreed / max(1, len(approx_pairs)), "recall": agreed / max(1, len(exact_pairs)),
        "exact_seconds": exact_s, "approximate_seconds": approx_s,
    }  # fmt: skip
    print(f"{name:<22}{row['articles']:>9}{row['passages']:>10}{row['exact_pairs']:>9}{row['precision']:>10.4f}"
          f"{row['recall']:>8.4f}{exact_s:>9.1f}{approx_s:>9.1f}")  # fmt: skip
    return row


def stories_part(indexes: list[Path], sizes: list[int], fit_index: Path | None) -> list[dict]:
    """``compare_stories`` on each built index and on planted synthetic stories of each size (in passages)."""
    from index import open_index
    from index.models import HEADLINE_ID_BASE

    print(f"{'corpus':<22}{'articles':>9}{'passages':>10}{'pairs':>9}{'precision':>10}{'recall':>8}"
          f"{'exact s':>9}{'approx s':>9}")  # fmt: skip
    rows = []
    for index_dir in indexes:
        loaded = open_index(index_dir)
        body = loaded.rows.ids < HEADLINE_ID_BASE
        langs = {num: lang or "?" for num, lang in loaded.store._con().execute("SELECT num, lang FROM articles")}
        raw, owner = np.asarray(loaded.rows.raw[body]), loaded.rows.articles[body]
        rows.append(compare_stories(index_dir.name, raw, owner, list(loaded.rows.langs[body]), langs))
    mixture = fit_mixture(fit_index)
    shift = PLANTED_SHIFT * mixture.sample(20_000, seed=1).mean(axis=0)

    def sample(n: int, seed: int) -> np.ndarray:
        x = mixture.sample(n, seed) - shift
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    for size in sizes:
        raw, owner, langs, article_langs = planted_stories(sample, int(size / 3 / 2.5), seed=size)
        rows.append(compare_stories(f"planted {size}", raw, owner, langs, article_langs))
    return rows


def _rss_now() -> float:
    """Resident memory now, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-only", action="store_true", help="only the full-build part")
    parser.add_argument("--stories", action="store_true", help="only approximate vs exact stories")
    parser.add_argument("--sizes", default="10000,100000", help="corpus sizes in vectors, comma-separated")
    parser.add_argument("--fit-index", type=Path, help="an index whose vectors the mixture is fitted to")
    parser.add_argument("--index", type=Path, action="append", default=[], help="a built index for --stories")
    parser.add_argument("--profile", type=Path, help="cProfile the build (the last size) into this file")
    parser.add_argument("--ntrex", type=Path, default=NTREX_DIR, help="the NTREX-128 folder (article texts)")
    parser.add_argument("--out", type=Path, help="JSON lines file (default benchmarks/results/updates.jsonl)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(build_once(args.child, args.fit_index, args.work, args.profile, args.ntrex)))
        return []
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = {"sizes": sizes, "fit_index": str(args.fit_index)}
    rows = []
    if not args.stories:
        rows += build_part(sizes, args.fit_index, args.profile, args.ntrex)
        append_results("updates", rows, settings={**settings, "part": "build"}, out=args.out)
    if not args.build_only:
        stories = stories_part(args.index, sizes, args.fit_index)
        append_results("updates", stories, settings={**settings, "part": "stories"}, out=args.out)
        rows += stories
    return rows


if __name__ == "__main__":
    main()
