"""The search page in a real headless Chromium against a live server on 127.0.0.1 (real model, slow).

Needs Debian's ``chromium`` and the ``playwright`` package (no browser download: the system Chromium is
driven directly); skipped where either is missing. The screenshot lands in ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Settings, open_index
from index.embedding import Embedder
from search import SearchEngine
from search.api import create_app
from search.serving import ServedIndex
from tests.conftest import ROOT, SEED_ARTICLE, HashEmbedder, running_server

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(seeds_index: Settings, real_embedder: Embedder) -> Iterator[str]:
    with running_server(create_app(SearchEngine(open_index(seeds_index.index_dir), real_embedder))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_search_page_finds_the_seed_article_first(server: str, browser: object) -> None:
    page = browser.new_page(locale="en-US")  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/")
    page.fill("input[name=q]", "Russia Iran treaty")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results article")
    first = page.locator("#results article").first
    assert first.locator("h2 a").get_attribute("href") == f"/read/{SEED_ARTICLE}"
    snippet = first.locator(".snippet")
    assert snippet.get_attribute("dir") == "auto"
    # the Arabic snippet is laid out right to left
    assert snippet.evaluate("node => getComputedStyle(node).direction") == "rtl"
    assert "Results 1–" in page.inner_text("#status")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "search-russia-iran-treaty.png"), full_page=True)
    # nothing is fetched from anywhere but this server
    assert all(url.startswith(server) for url in requests)
    # paging and the article view
    first.locator("h2 a").click()
    page.wait_for_selector("#text p")
    assert "روسيا" in page.inner_text("#title")
    page.close()


def test_filters_and_highlights_on_the_page(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server + "/?q=Palu+tsunami&lang=en")
    page.wait_for_selector("#results article")
    langs = page.locator("#results article h2 .lang").all_inner_texts()
    assert langs and set(langs) == {"en"}
    marks = [m.lower() for m in page.locator("#results mark").all_inner_texts()]
    assert "palu" in marks or "tsunami" in marks
    versions = page.locator("#results .versions").first.inner_text()
    assert "Also in:" in versions
    page.close()


def test_a_missing_page_asset_is_not_needed(server: str) -> None:
    import httpx

    html = httpx.get(server + "/").text
    assert "<script src" not in html and "<link " not in html and "http://" not in html.replace(server, "")
    assert Path(ROOT / "search" / "web" / "index.html").is_file()


DOT_ID = "a/../../stats"


@pytest.fixture(scope="module")
def plumbing_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny index (plumbing embedder) holding an article whose id has dot segments."""
    import json

    from index import build_index

    base = tmp_path_factory.mktemp("web-plumbing")
    (base / "c").mkdir()
    records = [{"id": DOT_ID, "title": "Dots", "text": "A story whose id climbs up the path with dot segments."},
               {"id": "b", "title": "Other", "text": "Another story about a harbour and its ferries."}]  # fmt: skip
    (base / "c" / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    build_index([base / "c"], Settings(home=base, index_dir=base / "idx"), embedder=HashEmbedder())
    return base / "idx"


def _plumbing_app(index_dir: Path, **options: object) -> object:
    return create_app(ServedIndex(SearchEngine(open_index(index_dir), HashEmbedder()), index_dir), **options)  # type: ignore[arg-type]


def test_an_id_with_dot_segments_stays_one_segment_on_the_pages(plumbing_index: Path, browser: object) -> None:
    """Issue 18.17: the page links an id with `/../` segments as one encoded segment, and the article page
    fetches that article, never another endpoint (`a/../../stats` used to fetch /stats)."""
    from urllib.parse import quote, urlsplit

    with running_server(_plumbing_app(plumbing_index)) as server:
        page = browser.new_page()  # type: ignore[attr-defined]
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server + "/?q=dot+segments+climbs")
        page.wait_for_selector("#results article")
        link = page.locator("#results article h2 a", has_text="Dots")
        assert link.get_attribute("href") == "/read/" + quote(DOT_ID, safe="")
        link.click()
        page.wait_for_selector("#text p")
        assert page.inner_text("#title") == "Dots"
        assert server + "/articles/" + quote(DOT_ID, safe="") in requests
        assert not any(urlsplit(u).path in ("/stats", "/") for u in requests[1:]), requests
        page.close()


def test_the_page_asks_for_the_key_once_and_sends_it(plumbing_index: Path, browser: object) -> None:
    """Issue 18.10: on a server that needs a key the page asks for it once, keeps it in sessionStorage, and
    sends it (X-API-Key) with its searches and from the article page; the page itself needs no key."""
    with running_server(_plumbing_app(plumbing_index, api_key="s3cret", require_key=True)) as server:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(server + "/?q=harbour+ferries")
        page.wait_for_selector("#key:not([hidden])")
        assert "API key" in page.inner_text("#status")
        page.fill("#key input[name=key]", "s3cret")
        page.press("#key input[name=key]", "Enter")
        page.wait_for_selector("#results article")
        assert page.evaluate("sessionStorage.getItem('semsearch-api-key')") == "s3cret"
        assert page.locator("#key").is_hidden()
        page.locator("#results article h2 a", has_text="Other").click()
        page.wait_for_selector("#text p")
        assert page.inner_text("#title") == "Other"
        page.goto(server + "/?q=dot+segments")  # asked once: the next search sends the kept key
        page.wait_for_selector("#results article")
        assert page.locator("#key").is_hidden()
        page.close()


def test_the_api_docs_render_with_the_network_blocked(plumbing_index: Path, browser: object) -> None:
    """Issue 19.5: /docs (Swagger UI) and /redoc render from assets the server itself serves: every request
    that does not go to the server is aborted, and the operations still show."""
    with running_server(_plumbing_app(plumbing_index)) as server:
        page = browser.new_page()  # type: ignore[attr-defined]
        elsewhere: list[str] = []

        def only_the_server(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if url.startswith(server):
                route.continue_()  # type: ignore[attr-defined]
            else:
                elsewhere.append(url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_the_server)
        page.goto(server + "/docs")
        page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=15_000)
        paths = page.locator(".swagger-ui .opblock-summary-path").all_inner_texts()
        assert "/query" in paths and "/articles/{article_id}" in paths
        assert elsewhere == []
        page.goto(server + "/redoc")
        page.wait_for_selector("text=/query", timeout=15_000)
        # ReDoc's bundle links its "powered by" logo from its CDN: a missing image, nothing the docs need
        assert all(url.endswith("logo-mini.svg") for url in elsewhere), elsewhere
        page.close()
