"""Stories across languages: passage alignment, at most one version per language, near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from index.build import stories as stories_module
from index.build.stories import alignment, find_stories


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _corpus(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str], dict[int, str]]:
    """Story A in en/fr/ar (each passage a noisy copy of the same content), story B in en only, and an
    English sibling of A that shares its topic direction but not its passages."""
    rng = np.random.default_rng(seed)
    dim = 48
    topic = rng.normal(size=dim)
    content_a = _unit(topic + rng.normal(size=(4, dim)))
    content_sibling = _unit(topic + rng.normal(size=(4, dim)))
    content_b = _unit(rng.normal(size=(3, dim)))
    language = {lang: rng.normal(size=dim) * 0.03 for lang in ("en", "fr", "ar")}
    articles = {1: ("en", content_a), 2: ("fr", content_a), 3: ("ar", content_a), 4: ("en", content_b),
                5: ("en", content_sibling)}  # fmt: skip
    raw, owner, langs = [], [], []
    for number, (lang, content) in articles.items():
        for passage in content:
            raw.append(_unit(passage + language[lang] + rng.normal(size=dim) * 0.05))
            owner.append(number)
            langs.append(lang)
    return np.array(raw, np.float32), np.array(owner), langs, {n: lang for n, (lang, _) in articles.items()}


def test_translations_form_one_story_and_others_stay_alone() -> None:
    raw, owner, langs, article_langs = _corpus()
    stories = find_stories(raw, owner, langs, article_langs)
    assert stories[1] == stories[2] == stories[3] == 1
    assert 4 not in stories and 5 not in stories


def test_a_story_holds_one_article_per_language() -> None:
    raw, owner, langs, article_langs = _corpus()
    # make the English sibling a near-translation too: still only one English version per story
    copy = owner == 1
    raw = np.vstack([raw, raw[copy] * 0.99 + 0.01])
    owner = np.concatenate([owner, np.full(copy.sum(), 6)])
    langs = langs + ["fr"] * int(copy.sum())
    article_langs = {**article_langs, 6: "fr"}
    stories = find_stories(raw, owner, langs, article_langs)
    french = [n for n in (2, 6) if stories.get(n) == stories[1]]
    assert len(french) == 1


def test_same_language_near_duplicates_join() -> None:
    raw, owner, langs, article_langs = _corpus()
    copy = owner == 4
    raw = np.vstack([raw, raw[copy]])
    owner = np.concatenate([owner, np.full(copy.sum(), 7)])
    langs = langs + ["en"] * int(copy.sum())
    stories = find_stories(raw, owner, langs, {**article_langs, 7: "en"})
    assert stories[4] == stories[7] == 4


def test_alignment_is_symmetric_and_one_for_identical_articles() -> None:
    raw, owner, _, _ = _corpus()
    a, b = raw[owner == 1], raw[owner == 4]
    assert alignment(a, b) == alignment(b, a)
    assert abs(alignment(a, a) - 1.0) < 1e-5


def test_empty_corpus() -> None:
    assert find_stories(np.zeros((0, 8), np.float32), np.zeros(0, int), [], {}) == {}


def _planted(stories: int, seed: int, dim: int = 32) -> tuple[np.ndarray, np.ndarray, list[str], dict[int, str]]:
    """``stories`` stories of 1–4 versions in distinct languages (noisy copies of one content, 1–4 passages),
    their contents drawn around a few shared topics so that unrelated articles are near one another too."""
    rng = np.random.default_rng(seed)
    languages = ["en", "fr", "ar", "zh", "de"]
    topics = rng.normal(size=(max(1, stories // 50), dim))
    offset = {lang: rng.normal(size=dim) * 0.1 for lang in languages}
    raw, owner, langs, article_langs = [], [], [], {}
    for _ in range(stories):
        content = topics[rng.integers(len(topics))] + rng.normal(size=(int(rng.integers(1, 5)), dim))
        for lang in rng.choice(languages, size=int(rng.integers(1, 5)), replace=False):
            number = len(article_langs)
            article_langs[number] = str(lang)
            for passage in content:
                raw.append(_unit(passage + offset[lang] + rng.normal(size=dim) * 0.35))
                owner.append(number)
                langs.append(str(lang))
    return np.array(raw, np.float32), np.array(owner), langs, article_langs


def _pairs(stories: dict[int, int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = {}
    for article, story in stories.items():
        members.setdefault(story, []).append(article)
    return {(a, b) for group in members.values() for a in group for b in group if a < b}


def test_stories_equal_an_all_pairs_oracle_on_a_small_corpus() -> None:
    from index.build.stories import NEAR_DUPLICATE_THRESHOLD, STORY_CENTRING, _grow
    from index.vectors.centring import centre, language_means

    raw, owner, langs, article_langs = _planted(80, seed=1)
    assert len(article_langs) < stories_module.APPROXIMATE_FROM  # the default takes the exact scan
    centred = centre(raw, langs, language_means(raw, langs), STORY_CENTRING)
    numbers = sorted(article_langs)
    edges = []
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            score = alignment(centred[owner == a], centred[owner == b])
            same = article_langs[a] == article_langs[b]
            if score >= (NEAR_DUPLICATE_THRESHOLD if same else stories_module.ALIGN_THRESHOLD):
                edges.append((score, a, b))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    expected = _grow(edges, article_langs)
    assert len(_pairs(expected)) > 50  # the planted stories are found, not an empty agreement
    assert find_stories(raw, owner, langs, article_langs) == expected
    assert find_stories(raw, owner, langs, article_langs, exact=False) == expected


def test_approximate_candidates_agree_with_the_exact_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    raw, owner, langs, article_langs = _planted(1200, seed=2)
    exact = _pairs(find_stories(raw, owner, langs, article_langs, exact=True))
    monkeypatch.setattr(stories_module, "APPROXIMATE_FROM", len(article_langs))  # the default turns approximate
    approximate = _pairs(find_stories(raw, owner, langs, article_langs))
    agreed = len(exact & approximate)
    assert len(exact) > 1000
    assert agreed / len(approximate) >= 0.99 and agreed / len(exact) >= 0.99
