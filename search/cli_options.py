"""The options the CLI's commands share, each declared once, and what they become (settings).

``query``, ``eval`` and ``serve`` open an engine and share seven options (--index --model --json --store
--encoder --fast --gpu): ``engine_options`` adds them to a command, which receives them as one ``EngineOptions``.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from index.errors import InvalidQueryError
from index.settings import Settings

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


def settings_for(index: Path | None, model: str | None = None, **more: Any) -> Settings:
    """Settings from the environment, overridden by the flags given."""
    return Settings.from_env().with_overrides(index_dir=index, model=model, **more)


def encoding(encoder: str | None, fast: bool, gpu: bool | None) -> dict[str, Any]:
    """Settings overrides for --encoder/--fast/--gpu/--no-gpu (None where no flag was given, so that
    SEMSEARCH_ENCODER and SEMSEARCH_NO_GPU apply)."""
    if fast and encoder not in (None, "fast"):
        raise InvalidQueryError(f"--fast and --encoder {encoder} contradict each other; give one of them.")
    return {"encoder": "fast" if fast else encoder, "use_gpu": gpu}


def print_json(data: Any) -> None:
    """One JSON document on stdout, non-ASCII as is."""
    typer.echo(json.dumps(data, ensure_ascii=False))


def parse_fields(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``["text=body", "title=headline"]`` as field/column pairs; an unknown field or a bad pair is refused."""
    from index import FIELDS

    out = []
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column.strip() or name.strip().rpartition(":")[2] not in FIELDS:
            raise InvalidQueryError(
                f"--field {pair!r}: write [FILE:]FIELD=COLUMN with FIELD one of {', '.join(FIELDS)} (e.g. text=body)."
            )
        out.append((name.strip(), column.strip()))
    return tuple(out)


@dataclass(frozen=True)
class EngineOptions:
    """The options of a command that opens an engine, as given on the command line."""

    index: Path | None = None
    model: str | None = None
    as_json: bool = False
    store: str | None = None
    encoder: str | None = None
    fast: bool = False
    gpu: bool | None = None

    def settings(self, **more: Any) -> Settings:
        """Settings from the environment, overridden by these flags and ``more``."""
        return settings_for(self.index, self.model, store=self.store, **encoding(self.encoder, self.fast, self.gpu),
                            **more)  # fmt: skip


_ENGINE_OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)
    for name, option, default in (
        ("index", IndexOpt, None), ("model", ModelOpt, None), ("as_json", JsonOpt, False), ("store", StoreOpt, None),
        ("encoder", EncoderOpt, None), ("fast", FastOpt, False), ("gpu", GpuOpt, None),
    )
]  # fmt: skip


class PlainValues:
    """A parameter's value as typer would give it, for the values that need no conversion or only ``int()`` or
    ``Path()``: typer 0.29 builds a pydantic ``TypeAdapter`` per parameter to coerce even a default of None,
    which imports pydantic (~0.1 s of a cold query's 0.5 s). Anything else (choices, files, bounds, lists, a
    value that is not plain digits) goes to typer's own coercion, built only then, so its errors are typer's."""

    def __init__(self, param: Any) -> None:
        descriptor = param.type_descriptor
        info = descriptor.parameter_info
        plain = not (param.multiple or param.nargs != 1 or info.parser is not None or descriptor.is_choice
                     or descriptor.is_file or info.min is not None or info.max is not None)  # fmt: skip
        self.kind = descriptor.annotation if plain else None
        self.path = plain and descriptor.annotation is Path and info.path_type is None
        self.descriptor = descriptor
        self.typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """The value (a default, or the text of the command line) as the parameter's type."""
        if self.kind is not None:
            if value is None or (self.kind in (str, bool) and type(value) is self.kind):
                return value
            if self.kind is int and type(value) is int:
                return value
            if self.kind is int and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
                return int(value)
            if self.path and isinstance(value, str) and value:
                from typer._param_types import coerce_cli_path  # typer's checks (exists, dir_okay …) after Path()

                return coerce_cli_path(
                    Path(value), self.descriptor.parameter_info, path_type=Path, param=param, ctx=ctx
                )
        if self.typer is None:
            from typer._coercion import build_runtime_param

            self.typer = build_runtime_param(self.descriptor)
        return self.typer.coerce(value, param=param, ctx=ctx)


def plain_values(params: list[Any]) -> list[Any]:
    """Give each parameter ``PlainValues`` before typer builds its coercion (where typer has one to replace)."""
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = PlainValues(param)
    return params


def engine_options(*, json_output: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the shared engine options (--json only with ``json_output``); it receives them as
    ``opts: EngineOptions``."""
    shared = [p for p in _ENGINE_OPTIONS if json_output or p.name != "as_json"]
    names = [p.name for p in shared]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]

        @functools.wraps(command)
        def with_options(**given: Any) -> None:
            command(**{k: v for k, v in given.items() if k not in names},
                    opts=EngineOptions(**{k: given[k] for k in names}))  # fmt: skip

        with_options.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        return with_options

    return decorate
