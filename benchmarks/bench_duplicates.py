"""Near-duplicate detection against a test set of republished NTREX articles.

Every NTREX article (14 languages) is an original; a sample of them is republished by another
"outlet" with the edits wire copies get: a rewritten headline, a byline or dateline added, a
boilerplate footer appended, a paragraph cut, a few words changed. True pairs are (original, copy);
every other pair of articles is a false one — including translations of one article and different
outlets' reports of the same event (NTREX has several), the hard cases. Pairwise precision and
recall of ``index.ingest.duplicates.find_duplicates``; throughput in articles per second. Appends JSON
lines to benchmarks/results/duplicates.jsonl.

    python benchmarks/bench_duplicates.py [--copies 600]
"""

from __future__ import annotations

import argparse
import random
import time
from itertools import combinations

import ntrex
from common import append_results

from index import Article
from index.hashing import text_hash
from index.ingest.duplicates import find_duplicates

BYLINES = ["By Staff Reporter", "Reuters —", "(AP) —", "Agence France-Presse", "From our correspondent in the region"]
FOOTERS = [
    "Copyright 2019 The Associated Press. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Follow us on Twitter and Facebook for the latest news. Sign up for our daily newsletter.",
    "This article was originally published by a partner outlet and is republished with permission.",
]


def republish(article: Article, rng: random.Random, n: int) -> Article:
    """A copy with wire-style edits (two to four of them)."""
    paragraphs = [p for p in article.text.split("\n\n") if p]
    title = article.title
    edits = rng.sample(["headline", "byline", "footer", "cut", "words"], k=rng.randint(2, 4))
    if "headline" in edits:
        title = f"UPDATE: {title}" if rng.random() < 0.5 else " ".join(title.split()[::-1][:8])
    if "cut" in edits and len(paragraphs) > 4:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    if "words" in edits:
        for _ in range(3):
            i = rng.randrange(len(paragraphs))
            words = paragraphs[i].split(" ")
            if len(words) > 3:
                words[rng.randrange(len(words))] = rng.choice(["reportedly", "officials", "on Tuesday", "—"])
                paragraphs[i] = " ".join(words)
    if "byline" in edits:
        paragraphs.insert(0, rng.choice(BYLINES))
    if "footer" in edits:
        paragraphs.append(rng.choice(FOOTERS))
    text = "\n\n".join(paragraphs)
    return Article(f"copy-{n}/{article.id}", title, text, article.lang, "Other Outlet", None, None,
                   f"copy-{n}", text_hash(title, text))  # fmt: skip


def test_set(copies: int, seed: int = 7) -> tuple[list[Article], set[frozenset[str]]]:
    """Originals plus copies, and the true pairs."""
    rng = random.Random(seed)
    originals = [
        Article(r["id"], r["title"], r["text"], r["id"].rsplit("/", 1)[1], "NTREX", None, None, r["id"],
                text_hash(r["title"], r["text"]))
        for r in ntrex.articles(paragraphs=True)
    ]  # fmt: skip
    chosen = rng.sample(originals, copies)
    made = [republish(a, rng, n) for n, a in enumerate(chosen)]
    pairs = {frozenset((a.id, c.id)) for a, c in zip(chosen, made)}
    # two copies of one article would also be a true pair; the sample has each original at most once
    articles = originals + made
    rng.shuffle(articles)
    return articles, pairs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=600)
    args = parser.parse_args(argv)
    articles, truth = test_set(args.copies)
    started = time.perf_counter()
    kept, copies = find_duplicates(articles)
    seconds = time.perf_counter() - started
    group = {a.id: a.id for a in kept}
    for c in copies:
        group[c.id] = c.article_id
    found: set[frozenset[str]] = set()
    members: dict[str, list[str]] = {}
    for article_id, lead in group.items():
        members.setdefault(lead, []).append(article_id)
    for ids in members.values():
        found.update(frozenset(p) for p in combinations(sorted(ids), 2))
    tp = len(found & truth)
    precision, recall = tp / max(1, len(found)), tp / max(1, len(truth))
    row = {"articles": len(articles), "copies": len(truth), "found_pairs": len(found), "precision": precision,
           "recall": recall, "seconds": seconds, "articles_per_second": len(articles) / seconds}  # fmt: skip
    print(f"{len(articles)} articles ({len(truth)} republished copies): precision {precision:.3f}, recall {recall:.3f}, "
          f"{row['articles_per_second']:.0f} articles/s")  # fmt: skip
    for pair in sorted(found - truth, key=sorted)[:5]:
        print("  false pair:", sorted(pair))
    for pair in sorted(truth - found, key=sorted)[:5]:
        print("  missed:", sorted(pair))
    append_results("duplicates", [row], settings={"copies": args.copies})
    return row


if __name__ == "__main__":
    main()
