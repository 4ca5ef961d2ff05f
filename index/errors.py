"""The one user-facing error type and the few subclasses callers must tell apart."""

from __future__ import annotations

__all__ = [
    "ArticleNotFoundError",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InvalidQueryError",
    "NothingToIndexError",
    "SemsearchError",
    "missing_extra",
]

# How to install the optional `scale` dependencies (Ray, pymilvus, Milvus Lite).
SCALE_INSTALL = "pip install 'semsearch[scale]' (from a clone: pip install -e '.[scale]')"


class SemsearchError(Exception):
    """A problem the user can fix; the message says what to do next."""

    exit_code = 1
    http_status = 400


class InvalidQueryError(SemsearchError):
    """The query or its parameters are out of bounds."""

    exit_code = 2
    http_status = 422


class IndexNotFoundError(SemsearchError):
    """No usable index at the given folder."""

    exit_code = 3
    http_status = 503


class IndexMismatchError(SemsearchError):
    """The index was built with another model, dimension or format, or is corrupt."""

    exit_code = 4
    http_status = 409


class IndexBusyError(SemsearchError):
    """Another build or write held the index for longer than the caller would wait; try again later."""

    http_status = 503

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NothingToIndexError(SemsearchError):
    """The sources held no readable article."""

    exit_code = 5
    http_status = 422


class ArticleNotFoundError(SemsearchError):
    """No article with the given id in the index."""

    exit_code = 6
    http_status = 404


def missing_extra(what: str, exc: ImportError) -> SemsearchError:
    """The error for a feature of the ``scale`` extra whose packages are not installed: the pip command."""
    return SemsearchError(f"{what} needs the scale extra, which is not installed (no module {exc.name!r}): "
                          f"{SCALE_INSTALL}.")  # fmt: skip
