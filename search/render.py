"""Human-readable terminal output, right-to-left text included."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from search.results import Hit, IndexInfo, QueryResult

if TYPE_CHECKING:
    from index import BuildReport
    from search.evaluation import EvalReport

_RLI, _LRI, _PDI = "\u2067", "\u2066", "\u2069"
PASSAGE_CHARS = 280
TITLE_CHARS = 100
VERSION_TITLE_CHARS = 40
_MARK_ON, _MARK_OFF = "\033[1;33m", "\033[0m"


def is_rtl(text: str) -> bool:
    """True when the first strong character of ``text`` is right-to-left (Arabic, Persian, Hebrew...)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def isolate(text: str) -> str:
    """Wrap text in a Unicode directional isolate so it reads in its own direction inside an LTR line."""
    return f"{_RLI if is_rtl(text) else _LRI}{text}{_PDI}"


def trim(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word boundary when possible."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut).rstrip(" ,.;:،") + "…"


def format_result(result: QueryResult, *, color: bool = False, bidi: bool = False) -> str:
    """The hits of one query as numbered blocks: score, confidence, language, title, source, passage; the
    result's note (e.g. "No good match") first.

    ``bidi``: wrap titles and snippets in directional isolates (for a terminal; piped text stays as stored)."""
    if not result.results:
        return result.note or f"No results for {result.query!r}."
    bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
    dim = (lambda s: f"\033[2m{s}\033[0m") if color else (lambda s: s)
    iso = isolate if bidi else (lambda s: s)
    lines = [result.note, ""] if result.note else []
    for hit in result.results:
        title = hit.title or trim(hit.passage, 60)
        lines.append(
            f"{hit.rank:>2}. {hit.score:.3f}  confidence {hit.confidence:.2f}  [{hit.lang or '?'}]  "
            f"{bold(iso(trim(title, TITLE_CHARS)))}"
        )
        meta = "  ".join(x for x in (hit.source, hit.date, hit.url) if x)
        lines.append(f"    {dim(meta)}")
        lines.append(f"    {iso(_excerpt(hit, color))}")
        if hit.versions:
            shown = "  ".join(f"[{v.lang or '?'}] {iso(trim(v.title, VERSION_TITLE_CHARS))}" for v in hit.versions)
            lines.append(f"    {dim('also in: ' + shown)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _excerpt(hit: Hit, color: bool) -> str:
    """The snippet with the query's words highlighted (when colour is on), else the passage's start."""
    if hit.snippet is None:
        return trim(hit.passage, PASSAGE_CHARS)
    text, base = hit.snippet.text, hit.snippet.start
    if not color:
        return trim(text, PASSAGE_CHARS)
    out, position = [], 0
    for span in hit.snippet.highlights:
        start, end = span.start - base, span.end - base
        out += [text[position:start], _MARK_ON, text[start:end], _MARK_OFF]
        position = end
    out.append(text[position:])
    return " ".join("".join(out).split())


def build_summary(report: BuildReport) -> dict[str, Any]:
    """What ``build --json`` prints."""
    m = report.manifest
    return {
        "index_dir": str(report.index_dir), "version": report.version, "published": report.published,
        "articles": m.articles, "passages": m.passages,
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
        "repaired": [{"path": r.path, "what": r.what} for r in report.repaired],
        "skipped_total": report.skipped_total, "repaired_total": report.repaired_total,
        "republished": [{"id": r.id, "copy_of": r.article_id, "path": r.path} for r in report.republished],
        "seconds": round(report.seconds, 3), "encode_seconds": round(report.encode_seconds, 3),
        "passages_per_second": round(report.passages_per_second, 2),
        "model": m.model.name, "model_source": m.model.source, "encoder": m.model.encoder,
        "notices": list(report.notices), "index_spec": m.index_spec, "index_params": m.index_params,
        "recall": asdict(m.recall), "build": asdict(m.build),
    }  # fmt: skip


def build_notes(report: BuildReport) -> list[str]:
    """The lines a build writes on stderr: what it skipped, repaired, and should be known."""
    lines = [f"skipped {s.path}: {s.reason}" for s in report.skipped]
    if report.skipped_total > len(report.skipped):
        lines.append(f"skipped {report.skipped_total - len(report.skipped)} more inputs (not named)")
    lines += [f"repaired {r.path}: {r.what}" for r in report.repaired]
    if report.repaired_total > len(report.repaired):
        lines.append(f"repaired {report.repaired_total - len(report.repaired)} more inputs (not named)")
    return lines + [f"warning: {notice}" for notice in report.notices]


def format_build(report: BuildReport) -> str:
    """The one line a build prints when done."""
    m = report.manifest
    if not report.published:
        return (f"Nothing changed: {m.articles} articles as {m.passages} passages, as in version {report.version}; "
                f"no new version published ({report.seconds:.1f} s). Index: {report.index_dir}")  # fmt: skip
    return (
        f"Indexed {plural(m.articles, 'article')} as {plural(m.passages, 'passage')} in {report.seconds:.1f} s "
        f"({rate(report.passages_per_second)} passages/s; {m.build.mode} build, {m.model.encoder} encoder, "
        f"{vector_counts(asdict(m.build))}); "
        f"skipped {report.skipped_total}, repaired {report.repaired_total}, {plural(len(report.republished), 'copy')} "
        "of other articles kept out. "
        f"Index: {report.index_dir} ({report.version})"
    )


def format_info(described: IndexInfo) -> str:
    """``semsearch info`` as text: what the index holds and how it was built."""
    m = described.manifest
    model, tuned = m["model"], m["recall"]
    params = ", ".join(f"{k}={v}" for k, v in m["index_params"].items())
    recall = f"recall@10 {tuned['recall_heldout']} on held-out queries (target {tuned['target']})"
    return "\n".join([
        f"index      {described.index_dir} ({described.version})",
        f"built      {m['created_at']} by semsearch {m['semsearch_version']} in {m['build_seconds']} s",
        f"articles   {m['articles']}  passages {m['passages']}  skipped {m['skipped']}  stories "
        f"{m['build'].get('stories', 0)} (holding {m['build'].get('articles_in_stories', 0)} articles)",
        f"languages  {', '.join(f'{k} {v}' for k, v in m['languages'].items())}",
        f"model      {model['name']} ({model['dimension']} dims, {model['fingerprint']})",
        f"encoder    {model.get('encoder', 'torch-fp32')}",
        f"           {model['source']}",
        f"vectors    {m['passages']} passages + {m['headlines']} headlines, {_language_map(m)}",
        f"search     {params}; {recall}" if tuned["parameter"] else "search     exact",
        f"last build {m['build']['mode']}: {vector_counts(m['build'])}, {m['build']['masked']} masked",
        f"index type {m['index_spec']}  passages ≤ {m['chunker']['passage_tokens']} tokens, overlap "
        f"{m['chunker']['overlap_sentences']} sentence",
        f"sources    {', '.join(m['sources'])}",
    ])  # fmt: skip


def _language_map(m: dict[str, Any]) -> str:
    """How the index removes the language from its vectors, as the manifest records it."""
    applied, asked = m.get("language_method", "centring"), m.get("language_asked", "centring")
    if not m["language_centring"]:
        return "language kept (no centring)"
    note = f" ({asked} asked: too few passages in a second language to fit it)" if asked != applied else ""
    return f"language removed by {applied} {m['language_centring']}{note}"


def format_eval(report: EvalReport) -> str:
    """``semsearch eval`` as a table, then its legend."""
    lines = [f"mode {report.mode}", f"{'queries':<10}{'n':>8}{'R@1':>8}{'R@10':>8}{'MRR@10':>8}{'nDCG@10':>9}"]
    for lang, m in [*report.by_language.items(), ("all", report.overall), *report.by_pair.items()]:
        lines.append(
            f"{lang:<10}{m.queries:>8}{m.recall_at_1:>8.3f}{m.recall_at_10:>8.3f}{m.mrr_at_10:>8.3f}{m.ndcg_at_10:>9.3f}"
        )
    return "\n".join([*lines, EVAL_LEGEND])


def plural(n: int, word: str) -> str:
    """``1 article``, ``2 articles``, ``2 copies``."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def vector_counts(build: dict[str, Any]) -> str:
    """Where a build's vectors came from: ``12 vectors encoded (12 on Ray), 40 reused, 3 from the cache``."""
    on_ray = build.get("vectors_precomputed", 0)
    return (f"{plural(build['vectors_encoded'], 'vector')} encoded{f' ({on_ray} on Ray)' if on_ray else ''}, "
            f"{build['vectors_reused']} reused, {build.get('vectors_cached', 0)} from the cache")  # fmt: skip


def rate(per_second: float) -> str:
    """A rate with its significant digits (``41.3``, ``0.017``), never a bare ``0.0``."""
    if per_second == 0:
        return "0"
    return f"{per_second:.1f}" if per_second >= 1 else f"{per_second:.2g}"


EVAL_LEGEND = (
    "rows: queries by language, all, then by pair (query>article language, searched among that language's "
    "articles only); n: queries; R@1, R@10: share of "
    "queries with a relevant article at rank 1 / in the top 10; MRR@10: mean of 1/rank of the first relevant "
    "article (0 beyond 10); nDCG@10: ranking quality over all relevant articles (1 = ideal)"
)
