"""The ``semsearch`` command line: a thin adapter over the library."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from index.errors import InvalidQueryError, SemsearchError
from index.settings import DEFAULT_GROUP, DEFAULT_HOST, DEFAULT_K, DEFAULT_MODE, DEFAULT_PORT, Settings


def _plain_flags(params: list[Any]) -> list[Any]:
    """Flags take no value, so --help shows no type for them (typer would print ``<bool>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Group(TyperGroup):
    """Translates SemsearchError into one clear line on stderr and its exit code (the CLI's one handler)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SemsearchError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class _Command(TyperCommand):
    """A command whose --help shows no type for flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
    help="Cross-lingual semantic search for news: build an index, query it, serve it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder [env: SEMSEARCH_INDEX; default: under SEMSEARCH_HOME]")
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="sentence-transformers model name or local folder")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]
EncoderOpt = Annotated[
    str | None,
    typer.Option("--encoder", help="auto (GPU fp16 if any, else CPU fp32), fast, torch-fp32, torch-fp16-cuda or "
                 "onnx-int8, onnx-fp32 [env: SEMSEARCH_ENCODER; querying: the index's own, onnx-fp32 for a torch-fp32 index]"),
]  # fmt: skip
FastOpt = Annotated[
    bool, typer.Option("--fast", help="The int8 ONNX encoder: about 2x faster on a CPU, see README for its cost")
]
GpuOpt = Annotated[
    bool | None,
    typer.Option("--gpu/--no-gpu", show_default=False,
                 help="Encode on a CUDA GPU when there is one [env: SEMSEARCH_NO_GPU=1 turns it off; default: on]"),
]  # fmt: skip
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Search vectors in milvus://HOST:PORT/COLLECTION (or a Milvus Lite "
                 "milvus:///path/file.db/COLLECTION) filled by `semsearch export` [env: SEMSEARCH_STORE]"),
]  # fmt: skip

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Ask the running `semsearch serve` at this URL, e.g. http://127.0.0.1:8000 "
                 "[env: SEMSEARCH_URL; API key: SEMSEARCH_API_KEY]"),
]  # fmt: skip


def _settings(index: Path | None, model: str | None = None, **more: Any) -> Settings:
    return Settings.from_env().with_overrides(index_dir=index, model=model, **more)


def _encoding(encoder: str | None, fast: bool, gpu: bool | None) -> dict[str, Any]:
    """Settings overrides for --encoder/--fast/--gpu/--no-gpu (None where no flag was given, so that
    SEMSEARCH_ENCODER and SEMSEARCH_NO_GPU apply)."""
    if fast and encoder not in (None, "fast"):
        raise InvalidQueryError(f"--fast and --encoder {encoder} contradict each other; give one of them.")
    return {"encoder": "fast" if fast else encoder, "use_gpu": gpu}


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


@app.command(cls=_Command)
def build(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders: .txt .md .html .rss .atom .xml .jsonl .json .csv .tsv, or .gz/.zip of them"
        ),
    ],
    index: IndexOpt = None,
    model: ModelOpt = None,
    passage_tokens: Annotated[
        int | None, typer.Option(help="Max tokens per passage, prompt and title included")
    ] = None,
    index_type: Annotated[
        str | None, typer.Option("--index-type", help="auto, Flat, HNSW32, IVF4096,SQ8, IVF,PQ48 … (auto: by size)")
    ] = None,
    recall: Annotated[
        float | None, typer.Option("--recall", help="Recall@10 target for approximate indexes [default: 0.95]")
    ] = None,
    language_neutral: Annotated[
        bool | None, typer.Option("--language-neutral/--no-language-neutral", help="Centre vectors per language")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="FIELD=COLUMN: where a CSV/JSON export keeps a field, e.g. text=body (repeat)"),
    ] = None,
    follow_links: Annotated[
        bool, typer.Option("--follow-links", help="Also index what links leading outside a source folder point to")
    ] = False,
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    encoder: EncoderOpt = None,
    fast: FastOpt = False,
    gpu: GpuOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Encode processes (0: one per 4 cores) [default: 0]")
    ] = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse and keep passage vectors in the embedding cache")
    ] = True,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Read, chunk and embed on Ray: HOST:PORT or ray://HOST:10001 "
            "of a cluster, auto, or local (a Ray instance on this machine)",
        ),
    ] = None,
) -> None:
    """Chunk, embed and index every article under SOURCES. Example: semsearch build seeds/"""
    from index import build_index
    from search.progress import BuildProgressBar

    settings = _settings(
        index,
        model,
        passage_tokens=passage_tokens,
        language_neutral=language_neutral,
        index_spec=index_type,
        recall_target=recall,
        fields=parse_fields(field or []),
        follow_links=follow_links,
        encode_workers=workers,
        **({} if cache else {"cache_bytes": 0}),
        **_encoding(encoder, fast, gpu),
    )
    with BuildProgressBar(enabled=not quiet and not as_json) as bar:
        if ray is not None:
            from index import build_index_on_ray

            address = None if ray == "local" else ray
            report = build_index_on_ray(sources, settings, address=address, progress=bar.update)
        else:
            report = build_index(sources, settings, progress=bar.update)
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    if report.skipped_total > len(report.skipped):
        typer.echo(f"skipped {report.skipped_total - len(report.skipped)} more inputs (not named)", err=True)
    for repaired in report.repaired:
        typer.echo(f"repaired {repaired.path}: {repaired.what}", err=True)
    if report.repaired_total > len(report.repaired):
        typer.echo(f"repaired {report.repaired_total - len(report.repaired)} more inputs (not named)", err=True)
    for notice in report.notices:
        typer.echo(f"warning: {notice}", err=True)
    m = report.manifest
    if as_json:
        _print_json(
            {
                "index_dir": str(report.index_dir),
                "version": report.version,
                "published": report.published,
                "articles": m.articles,
                "passages": m.passages,
                "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                "repaired": [{"path": r.path, "what": r.what} for r in report.repaired],
                "skipped_total": report.skipped_total,
                "repaired_total": report.repaired_total,
                "republished": [{"id": r.id, "copy_of": r.article_id, "path": r.path} for r in report.republished],
                "seconds": round(report.seconds, 3),
                "encode_seconds": round(report.encode_seconds, 3),
                "passages_per_second": round(report.passages_per_second, 2),
                "model": m.model.name,
                "model_source": m.model.source,
                "encoder": m.model.encoder,
                "notices": list(report.notices),
                "index_spec": m.index_spec,
                "index_params": m.index_params,
                "recall": m.recall,
                "build": m.build,
            }
        )
        return
    if not report.published:
        typer.echo(f"Nothing changed: {m.articles} articles as {m.passages} passages, as in version {report.version}; "
                   f"no new version published ({report.seconds:.1f} s). Index: {report.index_dir}")  # fmt: skip
        return
    typer.echo(
        f"Indexed {plural(m.articles, 'article')} as {plural(m.passages, 'passage')} in {report.seconds:.1f} s "
        f"({rate(report.passages_per_second)} passages/s; {m.build['mode']} build, {m.model.encoder} encoder, "
        f"{vector_counts(m.build)}); "
        f"skipped {report.skipped_total}, repaired {report.repaired_total}, {plural(len(report.republished), 'copy')} "
        "of other articles kept out. "
        f"Index: {report.index_dir} ({report.version})"
    )


@app.command(cls=_Command)
def query(
    text: Annotated[str | None, typer.Argument(help="What to search for, in any language")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many articles to return")] = DEFAULT_K,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many results first (paging)")] = 0,
    lang: Annotated[str | None, typer.Option("--lang", help="Only these languages, e.g. ar,fa")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Articles dated on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Articles dated on or before YYYY-MM-DD")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Outlet name, or a path prefix")] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="dense (the model), lexical (BM25) or hybrid (both, fused)")
    ] = DEFAULT_MODE,
    group: Annotated[
        str, typer.Option("--group", help="stories: one result per story with its versions; articles: none")
    ] = DEFAULT_GROUP,
    snippets: Annotated[bool, typer.Option("--snippets/--no-snippets", help="Best sentence(s) of each hit")] = True,
    batch: Annotated[
        Path | None, typer.Option(help="File with one query per line, or - for stdin; JSON Lines out")
    ] = None,
    index: IndexOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    encoder: EncoderOpt = None,
    fast: FastOpt = False,
    gpu: GpuOpt = None,
    url: UrlOpt = None,
) -> None:
    """Search the index (no query on a terminal: an interactive prompt). Example: semsearch query "Russia Iran treaty" --json"""
    settings = _settings(index, model, store=store, url=url, **_encoding(encoder, fast, gpu))
    if text is None and batch is None and sys.stdin.isatty() and sys.stdout.isatty() and not settings.url:
        _interactive(settings, k, lang, mode, group)
        return
    if (text is None) == (batch is None):
        raise SemsearchError("Give either a query or --batch FILE (one query per line, - for stdin).")
    if settings.url:
        queries = [text.strip()] if text is not None else _read_batch(batch)  # type: ignore[arg-type]
        params = {"k": k, "offset": offset, "mode": mode, "group": group, "snippets": snippets, "lang": lang,
                  "since": since, "until": until, "source": source}  # fmt: skip
        _ask_server(settings, queries, params, named_index=index is not None or "SEMSEARCH_INDEX" in os.environ,
                    as_json=as_json)  # fmt: skip
        return
    from search.engine import SearchEngine
    from search.results import QueryOptions, validate_query

    options = QueryOptions.of(k=k, offset=offset, mode=mode, group=group, snippets=snippets, lang=lang, since=since,
                              until=until, source=source)  # fmt: skip
    # a batch line that is no query (blank, too long) keeps its place in the output, as an error object
    lines = [validate_query(text)] if text is not None else _read_batch(batch)  # type: ignore[arg-type]
    checked = [_checked(line, validate_query) for line in lines]
    engine = SearchEngine.open(settings)
    queries = [q for q in checked if isinstance(q, str)]
    results = engine.answer_many(queries, options) if queries else []
    for warning in engine.warnings:  # the model's, known once it loaded (a lexical query never loads it)
        typer.echo(f"warning: {warning}", err=True)
    _print_results(lines, checked, results, as_json=as_json, batch=batch is not None)


def _print_results(
    lines: list[str], checked: list[str | SemsearchError], results: list[Any], *, as_json: bool, batch: bool
) -> None:
    """One answer per input line, in order: its results, or the error that says why the line is no query."""
    from search.render import format_result

    answers = iter(results)
    terminal = sys.stdout.isatty()
    for number, item in enumerate(checked, start=1):
        result = next(answers) if isinstance(item, str) else item
        if isinstance(result, SemsearchError):
            typer.echo(f"warning: line {number} of the batch: {result}", err=True)
        if as_json:
            _print_json(_batch_error(number, lines[number - 1], result) if isinstance(result, SemsearchError)
                        else result.model_dump())  # fmt: skip
            continue
        if batch:  # successive queries, each under its own header
            typer.echo(("\n" if number > 1 else "") + _batch_header(number, lines[number - 1], terminal))
        typer.echo(f"error: {result}" if isinstance(result, SemsearchError)
                   else format_result(result, color=terminal, bidi=terminal))  # fmt: skip


def _ask_server(
    settings: Settings, queries: list[str], params: dict[str, Any], *, named_index: bool, as_json: bool
) -> None:
    """``query --url``: the server's answers, refused when it serves another index than the one named."""
    from search.remote import query_server

    expect = None
    if named_index:
        from index import current_version

        expect = current_version(settings.index_dir).name
    assert settings.url is not None
    answers = query_server(settings.url, queries, params, api_key=settings.api_key, expect_version=expect)
    for answer in answers:
        if as_json:
            _print_json(answer)
        else:
            from search.render import format_result
            from search.results import QueryResult

            typer.echo(format_result(QueryResult.model_validate(answer), color=sys.stdout.isatty()))


def _interactive(settings: Settings, k: int, lang: str | None, mode: str, group: str) -> None:
    """The prompt loop on a terminal: the engine opens once; readline keeps a history across sessions."""
    import readline

    from search.engine import SearchEngine
    from search.filters import parse_filters
    from search.prompt import HELP, PromptState, run_prompt
    from search.render import format_result

    engine = SearchEngine.open(settings)
    history = settings.home / "query_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    shown: set[str] = set()

    def search(query: str, state: PromptState) -> str:
        filters = parse_filters(state.lang, index_languages=engine.languages())
        result = engine.search(query, state.k, filters=filters, mode=state.mode, group=state.group)  # type: ignore[arg-type]
        for warning in set(engine.warnings) - shown:
            shown.add(warning)
            typer.echo(f"warning: {warning}", err=True)
        return format_result(result, color=True)

    def lines() -> Iterator[str]:
        while True:
            try:
                yield input("semsearch> ")
            except (EOFError, KeyboardInterrupt):
                typer.echo()
                return

    typer.echo(f"{engine.index.manifest.articles} articles ({engine.index.version}). {HELP}")
    try:
        run_prompt(lines(), search, typer.echo, PromptState(k=k, lang=lang, mode=mode, group=group))
    finally:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.set_history_length(1000)
            readline.write_history_file(history)


def parse_fields(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``["text=body", "title=headline"]`` as field/column pairs; an unknown field or a bad pair is refused."""
    from index import FIELDS

    out = []
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column.strip() or name.strip() not in FIELDS:
            raise InvalidQueryError(
                f"--field {pair!r}: write FIELD=COLUMN with FIELD one of {', '.join(FIELDS)} (e.g. text=body)."
            )
        out.append((name.strip(), column.strip()))
    return tuple(out)


def _read_batch(batch: Path) -> list[str]:
    """The batch's lines, stripped; blank ones kept (output line N answers input line N), except at the end."""
    try:
        content = sys.stdin.read() if str(batch) == "-" else batch.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SemsearchError(f"Cannot read the batch file {batch}: {exc}.") from exc
    lines = [line.strip() for line in content.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SemsearchError(f"The batch {batch} has no queries; put one query per line.")
    return lines


def _checked(line: str, validate: Any) -> str | SemsearchError:
    """The query of a batch line, or the error that says why the line is none."""
    try:
        return str(validate(line))
    except SemsearchError as exc:
        return exc


def _batch_error(number: int, line: str, error: SemsearchError) -> dict[str, Any]:
    """The JSON line that stands for a batch line that is no query."""
    return {"query": line, "line": number, "results": [],
            "error": {"type": type(error).__name__, "message": str(error)}}  # fmt: skip


def _batch_header(number: int, line: str, terminal: bool) -> str:
    """The line above each query's results in a text-mode batch."""
    from search.render import isolate

    shown = (isolate(line) if terminal else line) if line else "(blank line)"
    return f"── {number}. {shown}"


@app.command("eval", cls=_Command)
def evaluate_cmd(
    judgements: Annotated[Path, typer.Argument(help="JSON Lines: id, text, relevant (article ids), lang, exclude")],
    mode: Annotated[str, typer.Option("--mode", help="dense, lexical or hybrid")] = DEFAULT_MODE,
    index: IndexOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    encoder: EncoderOpt = None,
    fast: FastOpt = False,
    gpu: GpuOpt = None,
) -> None:
    """Score retrieval on judged queries (Recall@1/10, MRR@10, nDCG@10). Example: semsearch eval benchmarks/dev_eval/seeds.jsonl"""
    from search.engine import SearchEngine
    from search.evaluation import evaluate, load_judgements
    from search.results import QueryOptions

    options = QueryOptions.of(mode=mode)
    loaded = load_judgements(judgements)
    engine = SearchEngine.open(_settings(index, model, store=store, **_encoding(encoder, fast, gpu)))
    report = evaluate(engine, loaded, mode=options.mode)
    for article in report.unknown_articles:
        typer.echo(f"warning: judgements name an article not in the index: {article}", err=True)
    for query in report.skipped_queries:
        typer.echo(f"warning: query {query} has no relevant article in the index; skipped", err=True)
    if as_json:
        _print_json(report.model_dump())
        return
    typer.echo(f"mode {report.mode}")
    typer.echo(f"{'queries':<10}{'n':>8}{'R@1':>8}{'R@10':>8}{'MRR@10':>8}{'nDCG@10':>9}")
    for lang, m in [*report.by_language.items(), ("all", report.overall), *report.by_pair.items()]:
        typer.echo(
            f"{lang:<10}{m.queries:>8}{m.recall_at_1:>8.3f}{m.recall_at_10:>8.3f}{m.mrr_at_10:>8.3f}{m.ndcg_at_10:>9.3f}"
        )
    typer.echo(EVAL_LEGEND)


@app.command(cls=_Command)
def serve(
    index: IndexOpt = None,
    model: ModelOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Key for admin routes (and all routes beyond loopback)")
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow this web origin (repeat)")
    ] = None,
    log_queries: Annotated[bool, typer.Option("--log-queries", help="Put query text in the access log")] = False,
    store: StoreOpt = None,
    encoder: EncoderOpt = None,
    fast: FastOpt = False,
    gpu: GpuOpt = None,
) -> None:
    """Serve the HTTP API. Example: semsearch serve --port 8000, then GET /query?q=Russia+Iran+treaty"""
    import uvicorn

    from search.api import create_app
    from search.engine import SearchEngine
    from search.serving import ServedIndex

    settings = _settings(index, model, api_key=api_key, store=store, **_encoding(encoder, fast, gpu))
    public = host not in ("127.0.0.1", "localhost", "::1")
    if public and not settings.api_key:
        raise SemsearchError(f"Serving on {host} needs an API key: pass --api-key or set SEMSEARCH_API_KEY.")
    # refuses to start without a loadable index; queries arriving together share one model call
    engine = SearchEngine.open(settings, own_encoder=True, batching=True)
    engine.embedder  # noqa: B018 - the model loads before the server answers, and says what it must
    for warning in engine.warnings:
        typer.echo(f"warning: {warning}", err=True)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app_ = create_app(ServedIndex(engine, settings.index_dir, home=settings.home,
                                         write_wait_s=settings.write_wait_s), api_key=settings.api_key, require_key=public,
                      cors_origins=cors_origin or (), log_queries=log_queries)  # fmt: skip
    uvicorn.run(app_, host=host, port=port, log_level="info", access_log=False)


@app.command(cls=_Command)
def export(
    to: Annotated[
        str, typer.Option("--to", help="milvus://HOST:PORT/COLLECTION, or milvus:///path/file.db/COLLECTION")
    ],
    index: IndexOpt = None,
    index_type: Annotated[
        str | None,
        typer.Option(
            "--index-type", help="Milvus index as a semsearch spec: Flat, HNSW32, IVF,SQ8 … [default: the index's own]"
        ),
    ] = None,
    recall: Annotated[float | None, typer.Option("--recall", help="Recall@10 target [default: the index's]")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the index's vectors into Milvus (no re-encoding). Example: semsearch export --to milvus://localhost:19530/news"""
    from dataclasses import asdict

    from index import export_to_milvus

    report = export_to_milvus(_settings(index).index_dir, to, index_type=index_type, recall_target=recall)
    if as_json:
        _print_json(asdict(report))
        return
    tuned = report.tuning
    search = f"{tuned.parameter}={tuned.value}, recall@10 {tuned.recall_heldout}" if tuned.parameter else "exact"
    typer.echo(
        f"Exported {report.vectors} vectors to {report.store} ({report.collection}, {report.index_type} from "
        f"{report.spec}; {search}) in {report.seconds:.1f} s. Query it with --store {report.store}"
    )


@app.command(cls=_Command)
def info(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Show what the index holds and how it was built. Example: semsearch info --json"""
    from search.engine import describe_index

    settings = _settings(index)
    described = describe_index(settings.index_dir)
    if as_json:
        _print_json(described.model_dump())
        return
    m = described.manifest
    typer.echo(f"index      {described.index_dir} ({described.version})")
    typer.echo(f"built      {m['created_at']} by semsearch {m['semsearch_version']} in {m['build_seconds']} s")
    typer.echo(f"articles   {m['articles']}  passages {m['passages']}  skipped {m['skipped']}  stories "
               f"{m['build'].get('stories', 0)} (holding {m['build'].get('articles_in_stories', 0)} articles)")  # fmt: skip
    typer.echo(f"languages  {', '.join(f'{k} {v}' for k, v in m['languages'].items())}")
    model = m["model"]
    typer.echo(f"model      {model['name']} ({model['dimension']} dims, {model['fingerprint']})")
    typer.echo(f"encoder    {model.get('encoder', 'torch-fp32')}")
    typer.echo(f"           {model['source']}")
    typer.echo(f"vectors    {m['passages']} passages + {m['headlines']} headlines, language centring: "
               f"{m['language_centring']}")  # fmt: skip
    tuned = m["recall"]
    params = ", ".join(f"{k}={v}" for k, v in m["index_params"].items())
    recall = f"recall@10 {tuned['recall_heldout']} on held-out queries (target {tuned['target']})"
    typer.echo(f"search     {params}; {recall}" if tuned["parameter"] else "search     exact")
    typer.echo(f"last build {m['build']['mode']}: {vector_counts(m['build'])}, {m['build']['masked']} masked")
    typer.echo(f"index type {m['index_spec']}  passages ≤ {m['chunker']['passage_tokens']} tokens, overlap "
               f"{m['chunker']['overlap_sentences']} sentence")  # fmt: skip
    typer.echo(f"sources    {', '.join(m['sources'])}")


@app.command()
def check(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Verify every file of the index against its build's checksums (exit 4 naming damaged files). Example: semsearch check"""
    from index import check_index

    report = check_index(_settings(index).index_dir)
    if as_json:
        _print_json({"index_dir": str(report.index_dir), "version": report.version, "files": report.files,
                     "bytes": report.bytes, "seconds": round(report.seconds, 3), "ok": True})  # fmt: skip
        return
    typer.echo(f"ok: {report.files} files ({report.bytes / 2**20:.1f} MiB) of {report.index_dir} ({report.version}) "
               f"match their checksums; checked in {report.seconds:.1f} s")  # fmt: skip


def main() -> None:
    """Console-script entry point."""
    app()


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


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"semsearch {version('semsearch')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("semsearch (not installed: pip install -e .)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit"),
    ] = None,
) -> None:
    """Cross-lingual semantic search for news: build an index, query it, serve it over HTTP."""


@app.command("cache", cls=_Command)
def cache_cmd(
    clear: Annotated[bool, typer.Option("--clear", help="Delete every cached vector")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show (or clear) the embedding cache: passage vectors kept across builds. Example: semsearch cache"""
    from index import cache_stats, clear_cache

    settings = Settings.from_env()
    stats = cache_stats(settings.cache_dir, settings.cache_bytes)
    freed = clear_cache(settings.cache_dir) if clear else 0
    if as_json:
        _print_json({"path": str(stats.path), "entries": stats.entries, "bytes": stats.bytes,
                     "max_bytes": stats.max_bytes, "by_model": stats.by_model, "cleared": clear,
                     "freed_bytes": freed})  # fmt: skip
        return
    typer.echo(f"{stats.path}: {stats.entries} passage vectors, {stats.bytes / 2**20:.1f} MiB "
               f"of {stats.max_bytes / 2**20:.0f} MiB")  # fmt: skip
    for model, entries in stats.by_model.items():
        typer.echo(f"  {model}: {entries}")
    if clear:
        typer.echo(f"cleared: {freed / 2**20:.1f} MiB freed")
