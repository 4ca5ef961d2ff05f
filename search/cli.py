"""The ``semsearch`` command line: a thin adapter over the library."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from index.errors import SemsearchError
from index.settings import DEFAULT_GROUP, DEFAULT_HOST, DEFAULT_K, DEFAULT_MODE, DEFAULT_PORT, Settings
from search.cli_options import (
    EncoderOpt,
    EngineOptions,
    FastOpt,
    GpuOpt,
    IndexOpt,
    JsonOpt,
    ModelOpt,
    UrlOpt,
    encoding,
    engine_options,
    parse_fields,
    plain_values,
    print_json,
    settings_for,
)


def _plain_flags(params: list[Any]) -> list[Any]:
    """Flags take no value, so --help shows no type for them (typer would print ``<bool>``); plain values are
    coerced without pydantic (``plain_values``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return plain_values(params)


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
    rich_markup_mode=None,  # click's plain help: rendering it with rich imported ~0.12 s of rich and markdown-it
)


# The options of ``build`` alone (those it shares with other commands are in cli_options).
SourcesArg = Annotated[
    list[Path],
    typer.Argument(help="Files or folders: .txt .md .html .rss .atom .xml .jsonl .json .csv .tsv, or .gz/.zip of them"),
]
PassageTokensOpt = Annotated[int | None, typer.Option(help="Max tokens per passage, prompt and title included")]
IndexTypeOpt = Annotated[
    str | None, typer.Option("--index-type", help="auto, Flat, HNSW32, IVF4096,SQ8, IVF,PQ48 … (auto: by size)")
]
RecallOpt = Annotated[
    float | None, typer.Option("--recall", help="Recall@10 target for approximate indexes [default: 0.95]")
]
LanguageNeutralOpt = Annotated[
    bool | None, typer.Option("--language-neutral/--no-language-neutral", help="Centre vectors per language")
]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", help="[FILE:]FIELD=COLUMN: where an export keeps a field, e.g. text=body (repeat)"),
]
FollowLinksOpt = Annotated[
    bool, typer.Option("--follow-links", help="Also index what links leading outside a source folder point to")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Encode processes (0: one per 4 cores) [default: 0]")]
CacheOpt = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Reuse and keep passage vectors in the embedding cache")
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Read, chunk and embed on Ray: HOST:PORT or ray://HOST:10001 "
        "of a cluster, auto, or local (a Ray instance on this machine)",
    ),
]


@app.command(cls=_Command)
def build(
    sources: SourcesArg,
    index: IndexOpt = None,
    model: ModelOpt = None,
    passage_tokens: PassageTokensOpt = None,
    index_type: IndexTypeOpt = None,
    recall: RecallOpt = None,
    language_neutral: LanguageNeutralOpt = None,
    field: FieldOpt = None,
    follow_links: FollowLinksOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    encoder: EncoderOpt = None,
    fast: FastOpt = False,
    gpu: GpuOpt = None,
    workers: WorkersOpt = None,
    cache: CacheOpt = True,
    ray: RayOpt = None,
) -> None:
    """Chunk, embed and index every article under SOURCES. Example: semsearch build seeds/"""
    from index import build_index, build_index_on_ray
    from search.progress import BuildProgressBar
    from search.render import build_notes, build_summary, format_build

    settings = settings_for(
        index, model, passage_tokens=passage_tokens, language_neutral=language_neutral, index_spec=index_type,
        recall_target=recall, fields=parse_fields(field or []), follow_links=follow_links, encode_workers=workers,
        **({} if cache else {"cache_bytes": 0}), **encoding(encoder, fast, gpu),
    )  # fmt: skip
    with BuildProgressBar(enabled=not quiet and not as_json) as bar:
        if ray is not None:
            address = None if ray == "local" else ray
            report = build_index_on_ray(sources, settings, address=address, progress=bar.update)
        else:
            report = build_index(sources, settings, progress=bar.update)
    for line in build_notes(report):
        typer.echo(line, err=True)
    typer.echo(json.dumps(build_summary(report), ensure_ascii=False) if as_json else format_build(report))


@app.command(cls=_Command)
@engine_options()
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
    url: UrlOpt = None,
    *,
    opts: EngineOptions,
) -> None:
    """Search the index (no query on a terminal: an interactive prompt). Example: semsearch query "Russia Iran treaty" --json"""
    from search.cli_query import answer_queries, ask_server, interactive, read_batch

    settings = opts.settings(url=url)
    if text is None and batch is None and sys.stdin.isatty() and sys.stdout.isatty() and not settings.url:
        return interactive(settings, k, lang, mode, group)
    if (text is None) == (batch is None):
        raise SemsearchError("Give either a query or --batch FILE (one query per line, - for stdin).")
    fields = {"k": k, "offset": offset, "mode": mode, "group": group, "snippets": snippets, "lang": lang,
              "since": since, "until": until, "source": source}  # fmt: skip
    if settings.url:
        queries = [text.strip()] if text is not None else read_batch(batch)  # type: ignore[arg-type]
        named = opts.index is not None or "SEMSEARCH_INDEX" in os.environ
        return ask_server(settings, queries, fields, named_index=named, as_json=opts.as_json)
    answer_queries(settings, text, batch, fields, as_json=opts.as_json)


@app.command("eval", cls=_Command)
@engine_options()
def evaluate_cmd(
    judgements: Annotated[Path, typer.Argument(help="JSON Lines: id, text, relevant (article ids), lang, exclude")],
    mode: Annotated[str, typer.Option("--mode", help="dense, lexical or hybrid")] = DEFAULT_MODE,
    *,
    opts: EngineOptions,
) -> None:
    """Score retrieval on judged queries (Recall@1/10, MRR@10, nDCG@10). Example: semsearch eval benchmarks/dev_eval/seeds.jsonl"""
    from search.engine import SearchEngine
    from search.evaluation import evaluate, load_judgements
    from search.progress import ModelSteps
    from search.render import format_eval
    from search.results import QueryOptions

    options = QueryOptions.of(mode=mode)
    steps = ModelSteps()
    with steps:
        report = evaluate(SearchEngine.open(opts.settings(), on_stage=steps), load_judgements(judgements),
                          mode=options.mode)  # fmt: skip
    for article in report.unknown_articles:
        typer.echo(f"warning: judgements name an article not in the index: {article}", err=True)
    for query in report.skipped_queries:
        typer.echo(f"warning: query {query} has no relevant article in the index; skipped", err=True)
    typer.echo(json.dumps(report.model_dump(), ensure_ascii=False) if opts.as_json else format_eval(report))


@app.command(cls=_Command)
@engine_options(json_output=False)
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Key for admin routes (and all routes beyond loopback)")
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow this web origin (repeat)")
    ] = None,
    log_queries: Annotated[bool, typer.Option("--log-queries", help="Put query text in the access log")] = False,
    *,
    opts: EngineOptions,
) -> None:
    """Serve the HTTP API. Example: semsearch serve --port 8000, then GET /query?q=Russia+Iran+treaty"""
    import logging

    import uvicorn

    from search.api import create_app
    from search.engine import SearchEngine
    from search.progress import ModelSteps
    from search.serving import ServedIndex

    settings = opts.settings(api_key=api_key)
    public = host not in ("127.0.0.1", "localhost", "::1")
    if public and not settings.api_key:
        raise SemsearchError(f"Serving on {host} needs an API key: pass --api-key or set SEMSEARCH_API_KEY.")
    # refuses to start without a loadable index; queries arriving together share one model call
    steps = ModelSteps()
    engine = SearchEngine.open(settings, own_encoder=True, batching=True, on_stage=steps)
    with steps:
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

    report = export_to_milvus(settings_for(index).index_dir, to, index_type=index_type, recall_target=recall)
    if as_json:
        print_json(asdict(report))
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
    from search.render import format_info

    described = describe_index(settings_for(index).index_dir)
    typer.echo(json.dumps(described.model_dump(), ensure_ascii=False) if as_json else format_info(described))


@app.command(cls=_Command)
def check(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Verify every file of the index against its build's checksums (exit 4 naming damaged files). Example: semsearch check"""
    from index import check_index

    report = check_index(settings_for(index).index_dir)
    if as_json:
        print_json({"index_dir": str(report.index_dir), "version": report.version, "files": report.files,
                     "bytes": report.bytes, "seconds": round(report.seconds, 3), "ok": True})  # fmt: skip
        return
    typer.echo(f"ok: {report.files} files ({report.bytes / 2**20:.1f} MiB) of {report.index_dir} ({report.version}) "
               f"match their checksums; checked in {report.seconds:.1f} s")  # fmt: skip


def main() -> None:
    """Console-script entry point."""
    app()


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
        print_json({"path": str(stats.path), "entries": stats.entries, "bytes": stats.bytes,
                     "max_bytes": stats.max_bytes, "by_model": stats.by_model, "cleared": clear,
                     "freed_bytes": freed})  # fmt: skip
        return
    typer.echo(f"{stats.path}: {stats.entries} passage vectors, {stats.bytes / 2**20:.1f} MiB "
               f"of {stats.max_bytes / 2**20:.0f} MiB")  # fmt: skip
    for model, entries in stats.by_model.items():
        typer.echo(f"  {model}: {entries}")
    if clear:
        typer.echo(f"cleared: {freed / 2**20:.1f} MiB freed")
