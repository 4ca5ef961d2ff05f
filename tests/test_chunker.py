"""The chunker: sentence boundaries in every script, token budget, overlap, offsets, determinism."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from itertools import pairwise

import pytest

from index.chunking import Chunker, split_sentences
from tests.conftest import HashEmbedder


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith visited the U.S. last week. He left! Did he?",
            ["Dr. Smith visited the U.S. last week.", "He left!", "Did he?"],
        ),
        ("روسيا وإيران توقعان معاهدة؟ نعم، وقعتا. انتهى", ["روسيا وإيران توقعان معاهدة؟", "نعم، وقعتا.", "انتهى"]),
        ("آیا این درست است؟ بله. پایان", ["آیا این درست است؟", "بله.", "پایان"]),
        ("یہ پہلا جملہ ہے۔ یہ دوسرا ہے۔", ["یہ پہلا جملہ ہے۔", "یہ دوسرا ہے۔"]),
        (
            "Россия и Иран подписали договор. Это важно! Почему?",
            ["Россия и Иран подписали договор.", "Это важно!", "Почему?"],
        ),
        ("俄罗斯和伊朗签署了条约。这是第二句！真的吗？", ["俄罗斯和伊朗签署了条约。", "这是第二句！", "真的吗？"]),
        ("Il a dit « c'est fini. » Puis il est parti.", ["Il a dit « c'est fini. »", "Puis il est parti."]),
        ("Line one without stop\nLine two", ["Line one without stop", "Line two"]),
        ("भारत ने संधि पर हस्ताक्षर किए। यह दूसरा वाक्य है। अंत", ["भारत ने संधि पर हस्ताक्षर किए।", "यह दूसरा वाक्य है।", "अंत"]),
        ("東京で地震があった。被害は小さい。", ["東京で地震があった。", "被害は小さい。"]),
        ("לאחר הרעידה. ההצלה נמשכת!", ["לאחר הרעידה.", "ההצלה נמשכת!"]),
    ],
)
def test_sentence_boundaries_in_every_script(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_offsets_cover_all_text() -> None:
    text = "  First one. Second one!\n\nThird 第三句。Fourth  "
    spans = split_sentences(text)
    assert "".join(text[a:b] for a, b in spans).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def make_chunker(budget: int, overlap: int = 1) -> Chunker:
    emb = HashEmbedder()
    return Chunker(emb.count_tokens, emb.token_spans, budget, overlap)


def test_packing_respects_budget_and_overlaps_one_sentence() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven tokens." for i in range(20))
    chunker = make_chunker(budget=30)
    spans = chunker.chunk(text)
    assert len(spans) > 3
    emb = HashEmbedder()
    for span in spans:
        assert emb.count_tokens([text[span.start : span.end]])[0] <= 30
    for prev, nxt in pairwise(spans):
        shared = text[nxt.start : prev.end]
        assert prev.start < nxt.start < prev.end, "consecutive passages share a sentence"
        assert len(split_sentences(shared)) == 1
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_long_sentence_is_split_never_truncated() -> None:
    long = " ".join(f"word{i}" for i in range(500)) + "."
    text = f"Short intro. {long} Short outro."
    spans = make_chunker(budget=40).chunk(text)
    emb = HashEmbedder()
    assert all(emb.count_tokens([text[s.start : s.end]])[0] <= 40 for s in spans)
    covered = set()
    for s in spans:
        covered.update(text[s.start : s.end].split())
    assert covered == set(text.split()), "every word of the long sentence is in some passage"


def test_long_cjk_sentence_without_spaces_is_split() -> None:
    text = "这是一个非常长的句子" * 80 + "。"
    spans = make_chunker(budget=50).chunk(text)
    assert len(spans) > 1
    assert "".join(text[s.start : s.end] for s in spans) == text


def test_chunking_is_deterministic_and_offsets_point_into_text() -> None:
    text = "Alpha beta. Gamma delta! " * 40
    a, b = make_chunker(25).chunk(text), make_chunker(25).chunk(text)
    assert a == b
    for span in a:
        assert text[span.start : span.end].strip() == text[span.start : span.end]


def test_no_overlap_when_it_would_stall() -> None:
    text = "One two three four five six. Seven eight nine ten eleven twelve."
    spans = make_chunker(budget=8).chunk(text)
    assert [text[s.start : s.end] for s in spans] == [
        "One two three four five six.",
        "Seven eight nine ten eleven twelve.",
    ]


def test_empty_text_has_no_passages() -> None:
    assert make_chunker(20).chunk("   \n ") == []


def _median_seconds(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_chunking_time_is_linear_in_the_text_length() -> None:
    """Issue 18.9: one huge record (a 50 MB JSONL text) must not take quadratic time to chunk. Every full stop
    used to copy the rest of the text to look at the next character, and a long run of stops was rescanned from
    each of its characters: four times the text took about sixteen times as long."""
    unit = "Dr. Smith met the U.S. envoy at 5 p.m. and they talked. Then he left! Why? "

    def text(n: int) -> str:
        return unit * n + "." * n + " The end."

    chunker = make_chunker(budget=64)
    small, large = text(1_500), text(6_000)
    spans = chunker.chunk(large)
    assert spans[0].start == 0 and spans[-1].end == len(large)
    assert (
        sentences(unit * 2) == ["Dr. Smith met the U.S. envoy at 5 p.m. and they talked.", "Then he left!", "Why?"] * 2
    )
    ratio = _median_seconds(lambda: chunker.chunk(large)) / _median_seconds(lambda: chunker.chunk(small))
    assert ratio < 8, f"4x the text took {ratio:.1f}x as long"
