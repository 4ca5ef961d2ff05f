"""Schemathesis against the app's own OpenAPI schema on a live server: no 5xx, responses match the schema.

Runs the ``st`` command line on a tiny index with the plumbing embedder (what is checked is the HTTP
contract, not ranking), with an API key configured, so write routes answer 401 to generated calls.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index import Settings, build_index, open_index
from search import SearchEngine
from search.api import create_app
from search.serving import ServedIndex
from tests.conftest import HashEmbedder, running_server

RECORDS = [
    {"id": "a", "title": "Quake", "text": "A strong quake hit Palu on Friday and a tsunami followed.", "lang": "en",
     "date": "2018-09-28"},
    {"id": "b", "title": "Vote", "text": "Macedonians voted on the name of their country on Sunday.", "lang": "en"},
]  # fmt: skip


@pytest.mark.slow  # ~10 s of generated requests against a live server
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS), encoding="utf-8")
    config = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([tmp_path / "c"], config, embedder=HashEmbedder())
    engine = SearchEngine(open_index(config.index_dir), HashEmbedder())
    app = create_app(ServedIndex(engine, config.index_dir), api_key="not-sent")
    with running_server(app) as url:
        run = subprocess.run(
            # all checks but two: `lang` must name a language the index holds and dates must exist, which a
            # JSON schema string cannot say (positive_data_acceptance); and Starlette's 405 names the
            # methods of one route when a path has one route per method (allow_header_conformance)
            [st, "run", f"{url}/openapi.json", "--checks", "all", "--exclude-checks",
             "positive_data_acceptance,allow_header_conformance", "--max-examples", "25", "--workers", "1"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache lands in tmp, not the repo
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
