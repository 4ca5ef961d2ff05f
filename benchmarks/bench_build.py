"""Build throughput: the whole semsearch build against bare SentenceTransformer.encode on the same passages.

Runs both side by side in one process, alternating, and reports medians and their ratio (the machine
is shared and noisy, so the ratio is the figure that matters). Appends one JSON line per run to
benchmarks/results/build.jsonl.

    python benchmarks/bench_build.py                          # the shipped seeds/
    python benchmarks/bench_build.py --ntrex --repeat 1       # NTREX-128, 14 languages (../shared)

With --rebuild-fraction F it then changes F of the articles (one sentence appended) and rebuilds the
same index, reporting the rebuild time against the full build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import SEEDS, append_results

from index import Article, Settings, build_index, chunk_articles, iter_articles, load_embedder
from index.embedding import resolve_model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="*", type=Path, default=[SEEDS])
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each (medians are reported)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--ntrex", action="store_true", help="use NTREX-128 from ../shared/corpus-ntrex")
    parser.add_argument("--rebuild-fraction", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file [benchmarks/results/build.jsonl]")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-bench-"))
    sources = ["ntrex"] if args.ntrex else list(args.corpus)
    args.corpus = _materialise(args, workdir)

    settings = Settings.from_env().with_overrides(model=args.model, cache_bytes=0)  # encode, not recall, vectors
    embedder = load_embedder(settings.model, settings.models_dir)
    articles = [a for a in iter_articles(args.corpus) if isinstance(a, Article)]
    passages, texts = chunk_articles(articles, embedder, settings)
    texts += [a.title for a in articles if a.title.strip()]  # headlines are encoded too

    from sentence_transformers import SentenceTransformer

    location = resolve_model(settings.model, settings.models_dir).location
    bare_model = SentenceTransformer(str(location), device="cpu")
    prompt = "passage" if "passage" in (bare_model.prompts or {}) else None

    builds, bares = [], []
    for i in range(args.repeat):
        started = time.perf_counter()
        bare_model.encode(texts, prompt_name=prompt, batch_size=settings.encode_batch, normalize_embeddings=True)
        bares.append(time.perf_counter() - started)
        index_settings = settings.with_overrides(index_dir=workdir / f"idx{i}")
        report = build_index(args.corpus, index_settings, embedder=embedder)
        builds.append(report.seconds)
    changed = _change(args.corpus, args.rebuild_fraction)
    rebuild = build_index(args.corpus, index_settings, embedder=embedder)
    shutil.rmtree(workdir, ignore_errors=True)
    n = len(texts)
    result = {
        "articles": len(articles),
        "passages": len(passages),
        "vectors": n,
        "build_seconds_median": round(statistics.median(builds), 3),
        "bare_encode_seconds_median": round(statistics.median(bares), 3),
        "build_vectors_per_second": round(n / statistics.median(builds), 2),
        "bare_vectors_per_second": round(n / statistics.median(bares), 2),
        "build_over_bare_rate": round(statistics.median(bares) / statistics.median(builds), 3),
        "rebuild_changed_articles": changed,
        "rebuild_seconds": round(rebuild.seconds, 3),
        "rebuild_vectors_encoded": rebuild.manifest.build.vectors_encoded,
        "rebuild_over_full": round(rebuild.seconds / statistics.median(builds), 4),
    }
    setup = {"corpus": [str(c) for c in sources], "passage_tokens": settings.passage_tokens, "repeat": args.repeat,
           "rebuild_fraction": args.rebuild_fraction}  # fmt: skip
    print(
        f"{'corpus':<28}{'articles':>9}{'vectors':>9}{'build s':>10}{'bare s':>9}{'build/s':>10}{'bare/s':>9}{'ratio':>7}"
    )
    print(
        f"{','.join(c.name for c in args.corpus):<28}{len(articles):>9}{n:>9}{result['build_seconds_median']:>10}"
        f"{result['bare_encode_seconds_median']:>9}{result['build_vectors_per_second']:>10}"
        f"{result['bare_vectors_per_second']:>9}{result['build_over_bare_rate']:>7}"
    )
    print(
        f"rebuild after changing {changed} articles: {result['rebuild_seconds']} s "
        f"({result['rebuild_vectors_encoded']} vectors encoded) = {result['rebuild_over_full']:.1%} of the full build"
    )
    append_results("build", [result], model=embedder, settings=setup, out=args.out)
    return result


def _materialise(args: argparse.Namespace, workdir: Path) -> list[Path]:
    """A private copy of the corpus (so the rebuild can change it): files copied, or NTREX as JSONL."""
    corpus = workdir / "corpus"
    corpus.mkdir()
    if args.ntrex:
        import ntrex

        ntrex.write_jsonl(corpus / "ntrex.jsonl")
        return [corpus]
    copies = []
    for n, source in enumerate(args.corpus):
        target = corpus / f"{n}-{source.name}"
        shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
        copies.append(target)
    return copies


def _change(corpus: list[Path], fraction: float) -> int:
    """Append a sentence to a fraction of the articles (every k-th file, or k-th JSON line)."""
    files = sorted(p for root in corpus for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
    jsonl = [p for p in files if p.suffix == ".jsonl"]
    changed = 0
    if jsonl:
        for path in jsonl:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            step = max(1, round(1 / fraction))
            for row in rows[::step]:
                row["text"] += " This article was updated."
                changed += 1
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return changed
    texts = [p for p in files if p.suffix in (".txt", ".md")]
    for path in texts[:: max(1, round(1 / fraction))]:
        path.write_text(path.read_text(encoding="utf-8") + "\nThis article was updated.\n", encoding="utf-8")
        changed += 1
    return changed


if __name__ == "__main__":
    main()
