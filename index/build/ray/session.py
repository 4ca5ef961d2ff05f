"""A Ray session for one build: joining a cluster (or starting a local instance), and Ray's failures told as
SemsearchErrors. A worker that dies is restarted and its batch retried (RAY_MAX_RETRIES times); a build that
still fails raises a SemsearchError before anything is written, so the previous index stays as it was."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...errors import SemsearchError, missing_extra
from ...settings import CONNECT_TIMEOUT_S, RAY_OBJECT_STORE_BYTES

_RAY_GCS_PORT, _RAY_CLIENT_PORT = 6379, 10001


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray connected to ``address`` (or a new local instance) for the duration; an existing session is reused.

    An address that does not answer within CONNECT_TIMEOUT_S is a SemsearchError naming it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    if address and address != "auto":
        _check_reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(
                num_cpus=num_cpus, include_dashboard=False, object_store_memory=RAY_OBJECT_STORE_BYTES,
                log_to_driver=False, configure_logging=False,
            )  # fmt: skip
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise SemsearchError(f"Could not start or join {where}: {exc}. Check the address (HOST:PORT of the "
                             "head node, or ray://HOST:10001), or build without --ray.") from exc  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Refuse an address whose port does not accept a connection within CONNECT_TIMEOUT_S."""
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        host, port = rest, str(_RAY_CLIENT_PORT if client else _RAY_GCS_PORT)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise SemsearchError(
            f"The Ray cluster at {address} did not answer within {CONNECT_TIMEOUT_S:g} s ({exc}). Start it "
            "(`ray start --head`), check HOST:PORT, or build without an address to use a local Ray instance."
        ) from exc


def ray_error(exc: Exception, stage: str) -> SemsearchError:
    """A failure of Ray while ``stage`` ("reading", "encoding"), told with what it left unchanged."""
    return SemsearchError(
        f"The Ray build failed while {stage} ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); nothing "
        "was written and the previous index is unchanged. Check the workers' logs, or build without --ray."
    )


def ray_module() -> Any:
    """The ray module with Ray Data loaded and quiet (typed loosely: its UDF signatures defeat mypy); without
    Ray installed, a SemsearchError with the pip command."""
    import warnings

    try:
        import ray
        import ray.data
        from ray.util.annotations import RayDeprecationWarning
    except ImportError as exc:
        raise missing_extra("Building on Ray (--ray)", exc) from exc

    # max_restarts / max_retries have no named parameter in map_batches yet; Ray warns about the keyword form
    warnings.filterwarnings("ignore", category=RayDeprecationWarning)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray
