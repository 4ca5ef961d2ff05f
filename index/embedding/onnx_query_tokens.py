"""A query's token ids without building the tokenizer's 250k-piece Unigram model, which ``tokenizers`` takes
~0.8 s to load (it inserts every piece into a trie) — most of a cold query's time once the graph loads fast.

A query is a few dozen characters: its best segmentation (the Viterbi path over the pieces' log
probabilities, exactly as ``tokenizers``' Unigram ``encode_optimized`` computes it, ties and unknown-character
fusion included) needs only the pieces that occur in it. The pieces are kept sorted in memory-mapped arrays
(``write_query_vocab``, once per export) and every substring of the query is looked up at once with
``searchsorted``. The normaliser and pre-tokeniser (sentencepiece's precompiled character map, the
metaspace) are the real ones, from a copy of ``tokenizer.json`` whose vocabulary is cut to the special
pieces, which loads in milliseconds. A text holding a special token's text (``<s>``, ``<mask>``) is left to
the full tokenizer (``encode`` returns None), which splits those out first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

PIECES_FILE = "query_pieces.npy"
PIECE_IDS_FILE = "query_piece_ids.npy"
PIECE_SCORES_FILE = "query_piece_scores.npy"
SHELL_FILE = "query_tokenizer.json"
QUERY_FILES = (PIECES_FILE, PIECE_IDS_FILE, PIECE_SCORES_FILE, SHELL_FILE)
# tokenizers' Unigram: an unknown character costs the lowest piece score minus this
_UNK_PENALTY = 10.0


def write_query_vocab(tokenizer_json: str, out: Path) -> bool:
    """Write QUERY_FILES for the tokenizer serialised in ``tokenizer_json`` into ``out``; False (nothing
    written) for a tokenizer this module cannot reproduce (not a Unigram, byte fallback, another template)."""
    spec = json.loads(tokenizer_json)
    model = spec.get("model") or {}
    vocab = model.get("vocab") or []
    unk = model.get("unk_id")
    if model.get("type") != "Unigram" or model.get("byte_fallback") or unk is None or not vocab:
        return False
    if _template(spec) is None or any("\0" in piece or not piece for piece, _ in vocab):
        return False  # numpy's fixed-width strings cannot hold a NUL or tell the empty piece apart
    pieces = np.array([piece for piece, _ in vocab])
    order = np.argsort(pieces, kind="stable")
    np.save(out / PIECES_FILE, pieces[order])
    np.save(out / PIECE_IDS_FILE, order.astype(np.int32))
    np.save(out / PIECE_SCORES_FILE, np.array([score for _, score in vocab], dtype=np.float64)[order])
    shell = {**spec, "model": {**model, "vocab": vocab[: unk + 1]}, "truncation": None, "padding": None}
    (out / SHELL_FILE).write_text(json.dumps(shell, ensure_ascii=False), encoding="utf-8")
    return True


class QueryTokenizer:
    """Token ids of short texts, the same as the full tokenizer's (with its specials, truncated to ``max_tokens``)."""

    def __init__(self, folder: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._pieces = np.load(folder / PIECES_FILE, mmap_mode="r", allow_pickle=False)
        self._ids = np.load(folder / PIECE_IDS_FILE, mmap_mode="r", allow_pickle=False)
        self._scores = np.load(folder / PIECE_SCORES_FILE, mmap_mode="r", allow_pickle=False)
        if self._pieces.dtype.kind != "U" or not len(self._pieces) == len(self._ids) == len(self._scores):
            raise ValueError(f"the query vocabulary in {folder} is inconsistent")
        text = (folder / SHELL_FILE).read_text(encoding="utf-8")
        spec = json.loads(text)
        self.shell = Tokenizer.from_str(text)
        template = _template(spec)
        if template is None:
            raise ValueError(f"{folder / SHELL_FILE} has no template this module reads")
        self._before, self._after = template
        self._unk = int(spec["model"]["unk_id"])
        self._longest = self._pieces.dtype.itemsize // 4  # characters in the longest piece
        self._unk_score = float(np.min(self._scores)) - _UNK_PENALTY
        self._specials = [t["content"] for t in spec.get("added_tokens") or []]
        self._room = max_tokens - len(self._before) - len(self._after)

    def encode(self, text: str) -> list[int] | None:
        """The token ids of ``text``; None when it holds a special token's text or a NUL (for the full tokenizer)."""
        if any(s in text for s in self._specials):
            return None
        normalised = self.shell.normalizer.normalize_str(text) if self.shell.normalizer else text
        if "\0" in normalised:  # fixed-width strings would drop it: a NUL matches nothing in the full tokenizer
            return None
        pretokenizer = self.shell.pre_tokenizer
        words = [w for w, _ in pretokenizer.pre_tokenize_str(normalised)] if pretokenizer else [normalised]
        ids = [i for word in words for i in self._viterbi(word)]
        return [*self._before, *ids[: self._room], *self._after]

    def content_ids(self, text: str) -> list[int] | None:
        """The token ids of ``text`` without the specials (None as for ``encode``)."""
        ids = self.encode(text)
        return None if ids is None else ids[len(self._before) : len(ids) - len(self._after)]

    def _viterbi(self, word: str) -> list[int]:
        """The best segmentation of ``word`` into pieces (tokenizers' ``encode_optimized``, fused unknowns)."""
        n = len(word)
        spans = [(s, e) for s in range(n) for e in range(s + 1, min(n, s + self._longest) + 1)]
        found = self._lookup([word[s:e] for s, e in spans])
        hits: dict[int, list[tuple[int, int, float]]] = {}
        for (start, end), (piece, score) in zip(spans, found):
            if piece >= 0:
                hits.setdefault(start, []).append((end, piece, score))
        best: list[tuple[float, int, int] | None] = [None] * (n + 1)  # (path score, start, piece) per end
        best[0] = (0.0, 0, -1)
        for start in range(n):
            here = best[start]
            base = here[0] if here is not None else 0.0
            single = False
            for end, piece, score in hits.get(start, ()):  # shortest first: a tie keeps the shorter piece
                node = best[end]
                if node is None or base + score > node[0]:
                    best[end] = (base + score, start, piece)
                single = single or end == start + 1
            if not single:
                node = best[start + 1]
                if node is None or base + self._unk_score > node[0]:
                    best[start + 1] = (base + self._unk_score, start, self._unk)
        out: list[int] = []
        end = n
        while end > 0:
            node = best[end]
            assert node is not None  # every character is reached (as an unknown one at worst)
            _, start, piece = node
            if not (piece == self._unk and out and out[-1] == self._unk):  # a run of unknowns is one token
                out.append(piece)
            end = start
        return out[::-1]

    def _lookup(self, texts: list[str]) -> list[tuple[int, float]]:
        """(piece id, score) of each text; id -1 for a text that is not a piece."""
        if not texts:
            return []
        wanted = np.array(texts, dtype=self._pieces.dtype)
        at = np.minimum(np.searchsorted(self._pieces, wanted), len(self._pieces) - 1)
        hit = self._pieces[at] == wanted
        ids = np.where(hit, self._ids[at], -1)
        return list(zip(ids.tolist(), self._scores[at].tolist()))


def _template(spec: dict[str, Any]) -> tuple[list[int], list[int]] | None:
    """The special ids a single sequence gets before and after it (TemplateProcessing); None for another kind."""
    post = spec.get("post_processor") or {}
    if post.get("type") != "TemplateProcessing":
        return None
    sides: tuple[list[int], list[int]] = ([], [])
    side = 0
    for item in post.get("single") or []:
        if "Sequence" in item:
            if side:
                return None
            side = 1
        elif "SpecialToken" in item:
            sides[side].extend(post["special_tokens"][item["SpecialToken"]["id"]]["ids"])
        else:
            return None
    return sides if side else None
