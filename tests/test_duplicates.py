"""Near-duplicate articles: copies with wire-style edits found, different reports of one event kept apart."""

from __future__ import annotations

from index.hashing import text_hash
from index.ingest.duplicates import find_duplicates, resemblance, shingles
from index.models import Article

STORY = ("A strong earthquake struck the island of Sulawesi on Friday, triggering a tsunami that swept through "
         "the city of Palu. Officials said hundreds of people were killed and thousands lost their homes. Rescue "
         "teams are searching the rubble of collapsed hotels and a shopping centre, and aid is arriving by sea.")  # fmt: skip
OTHER_REPORT = ("Rescuers in Indonesia dug through collapsed buildings on Saturday after a powerful quake and "
                "tsunami hit central Sulawesi. The disaster agency put the death toll in the hundreds and said "
                "it expected the number to rise as communications were restored to remote areas.")  # fmt: skip


def article(id: str, text: str, date: str | None = None, lang: str = "en") -> Article:
    return Article(id, id, text, lang, f"outlet-{id}", None, date, id, text_hash(id, text))


def test_copies_with_bylines_footers_and_small_edits_are_one_article() -> None:
    copy = "By Staff Reporter\n\n" + STORY.replace("Friday", "Friday evening") + "\n\nAll rights reserved."
    kept, copies = find_duplicates(
        [article("wire", STORY, "2018-09-28"), article("reprint", copy, "2018-09-29"), article("other", OTHER_REPORT)]
    )
    assert [a.id for a in kept] == ["wire", "other"]
    assert [(c.article_id, c.id, c.source) for c in copies] == [("wire", "reprint", "outlet-reprint")]


def test_the_earliest_copy_is_kept_and_exact_copies_are_caught() -> None:
    kept, copies = find_duplicates([article("late", STORY, "2018-10-01"), article("early", STORY, "2018-09-28"),
                                    article("undated", STORY)])  # fmt: skip
    assert [a.id for a in kept] == ["early"] and sorted(c.id for c in copies) == ["late", "undated"]


def test_different_reports_and_translations_are_not_copies() -> None:
    french = ("Un fort séisme a frappé l'île de Sulawesi vendredi, provoquant un tsunami qui a balayé la ville de "
              "Palu. Des centaines de personnes ont été tuées selon les autorités.")  # fmt: skip
    kept, copies = find_duplicates([article("a", STORY), article("b", OTHER_REPORT), article("c", french, lang="fr")])
    assert len(kept) == 3 and copies == []
    assert resemblance(shingles(STORY), shingles(OTHER_REPORT)) < 0.1


def test_shingles_work_without_spaces() -> None:
    chinese = "印度尼西亚苏拉威西岛周五发生强烈地震并引发海啸，数百人遇难，救援人员正在废墟中搜寻幸存者。"
    assert len(shingles(chinese)) > 10
    assert resemblance(shingles(chinese), shingles("记者报道：" + chinese)) == 1.0


def test_lsh_finds_what_comparing_every_pair_finds() -> None:
    """Oracle: on 300 generated articles (40 of them edited copies of others, some copies of copies), the
    copy groups from LSH candidates equal those from checking every pair exactly."""
    import random
    from itertools import combinations

    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(30, 120))) for _ in range(260)]
    for _ in range(40):
        words = rng.choice(texts).split()
        cut = rng.randint(0, len(words) // 3)
        texts.append(" ".join(["By", "Staff", *words[cut:], "All", "rights", "reserved"]))
    articles = [article(f"a{i}", text) for i, text in enumerate(texts)]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        return i if parent[i] == i else root(parent[i])

    sets = [shingles(t) for t in texts]
    for i, j in combinations(range(len(texts)), 2):
        if len(sets[i]) >= 8 and len(sets[j]) >= 8 and resemblance(sets[i], sets[j]) >= 0.6:
            parent[max(root(i), root(j))] = min(root(i), root(j))
    expected = {(f"a{root(i)}", f"a{i}") for i in range(len(texts)) if root(i) != i}
    kept, copies = find_duplicates(articles)
    assert len(expected) >= 40 and {(c.article_id, c.id) for c in copies} == expected
    assert len(kept) == len(texts) - len(expected)
