"""Where a Milvus store is: ``milvus://`` addresses parsed (a server, or a Milvus Lite file), and a client
connected to one, refused with a message that says what to do when pymilvus is missing or the server is silent."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import SemsearchError, missing_extra
from ..settings import CONNECT_TIMEOUT_S, DEFAULT_MILVUS_COLLECTION

__all__ = ["DEFAULT_PORT", "MilvusLocation", "connect", "parse_store", "require_pymilvus"]

DEFAULT_PORT = 19530
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class MilvusLocation:
    """A parsed ``milvus://`` store: the client URI (a server URL or a Milvus Lite file) and the collection."""

    uri: str
    collection: str
    token: str = ""
    text: str = ""  # as the user wrote it, password removed

    @property
    def lite(self) -> bool:
        """True for a Milvus Lite file."""
        return not self.uri.startswith(("http://", "https://"))


def parse_store(text: str) -> MilvusLocation:
    """``milvus://[USER:PASSWORD@]HOST[:PORT][/COLLECTION]`` (``milvus+https://`` for TLS), or
    ``milvus://PATH/FILE.db[/COLLECTION]`` for Milvus Lite (``milvus:///abs/path.db``); refused otherwise."""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("milvus", "milvus+https"):
        raise SemsearchError(
            f"Unknown vector store {text!r}; use milvus://HOST:19530/COLLECTION for a Milvus server or "
            "milvus:///path/to/file.db/COLLECTION for Milvus Lite."
        )
    lite = re.match(r"^(?P<path>[^@]*?\.db)(?:/(?P<collection>[^/]*))?$", rest)
    if lite:
        path = Path(unquote(lite["path"])).expanduser()
        if not lite["path"] or not path.parent.is_dir():
            raise SemsearchError(f"No folder for the Milvus Lite file {path}; create {path.parent} first.")
        collection = _collection_name(lite["collection"] or DEFAULT_MILVUS_COLLECTION, text)
        return MilvusLocation(str(path.resolve()), collection, "", text)
    parts = urlsplit(f"http://{rest}")
    if not parts.hostname:
        raise SemsearchError(f"No host in {text!r}; write milvus://HOST:19530/COLLECTION.")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise SemsearchError(f"Bad port in {text!r}; write milvus://HOST:19530/COLLECTION.") from exc
    token = ""
    if parts.username:
        token = unquote(parts.username) + (":" + unquote(parts.password) if parts.password else "")
    collection = _collection_name(parts.path.strip("/") or DEFAULT_MILVUS_COLLECTION, text)
    web = "https" if scheme == "milvus+https" else "http"
    shown = f"{scheme}://{parts.hostname}:{port}/{collection}"
    return MilvusLocation(f"{web}://{parts.hostname}:{port}", collection, token, shown)


def _collection_name(name: str, text: str) -> str:
    if not _NAME.match(name) or "__" in name:
        raise SemsearchError(
            f"Bad collection name {name!r} in {text!r}: use letters, digits and single underscores, e.g. news_2025."
        )
    return name


def require_pymilvus(lite: bool = False) -> None:
    """Refuse, with the pip command, when pymilvus (or, for a Milvus Lite file, milvus-lite) is not installed."""
    try:
        import pymilvus  # noqa: F401

        if lite:
            import milvus_lite  # noqa: F401
    except ImportError as exc:
        raise missing_extra("A Milvus store (milvus://…)", exc) from exc


def connect(location: MilvusLocation) -> Any:
    """A MilvusClient for the location; a server that does not answer within CONNECT_TIMEOUT_S is an error
    naming it."""
    require_pymilvus(location.lite)
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    if not location.lite:
        parts = urlsplit(location.uri)
        try:
            with socket.create_connection((parts.hostname or "", parts.port or DEFAULT_PORT), CONNECT_TIMEOUT_S):
                pass
        except OSError as exc:
            raise _unreachable(location, exc) from exc
    try:
        return MilvusClient(uri=location.uri, token=location.token, timeout=CONNECT_TIMEOUT_S)
    except MilvusException as exc:
        raise _unreachable(location, exc) from exc


def _unreachable(location: MilvusLocation, exc: Exception) -> SemsearchError:
    return SemsearchError(
        f"Milvus at {location.text or location.uri} did not answer within {CONNECT_TIMEOUT_S:g} s ({exc}). "
        "Check that the server runs and the address is HOST:PORT of its gRPC port (19530 by default)."
    )
