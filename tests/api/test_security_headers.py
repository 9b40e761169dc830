"""Security headers on every kind of answer, and the API docs served from this process
(issue 21, item 5)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Browser

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.dashboard_stack import chromium
from tests.api.support import api_client, api_server

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
ASSET = re.compile(r'(?:src|href)="([^"]+)"|url: *\'([^\']+)\'|spec-url="([^"]+)"')


def _assert_protected(response: httpx.Response, what: str) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what


def test_every_answer_carries_the_security_headers(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            answers = {
                "REST": await client.get("/api/v1/stations"),
                "problem 404": await client.get("/api/v1/stations/nowhere"),
                "problem 422": await client.get("/api/v1/stations/sukagawa/readings",
                                                params={"start": "yesterday"}),
                "problem 401": await client.get("/api/v1/stations",
                                                headers={"Authorization": "Bearer wrong"}),
                "health": await client.get("/healthz"),
                "dashboard": await client.get("/"),
                "dashboard module": await client.get("/dashboard/app/main.js"),
                "residents' page": await client.get("/public/stations"),
                "docs": await client.get("/docs"),
            }
            for what, response in answers.items():
                assert response.status_code < 500, (what, response.status_code)
                _assert_protected(response, what)
            # JSON and problem documents may run no script at all.
            assert "default-src 'none'" in answers["REST"].headers["content-security-policy"]
            assert "default-src 'none'" in answers["problem 404"].headers[
                "content-security-policy"]
            # The dashboard keeps its own policy (its tiles, its WebSocket).
            assert "cyberjapandata" in answers["dashboard"].headers["content-security-policy"]

    asyncio.run(scenario())


def test_docs_pages_load_only_local_assets(make_settings: Callable[..., Settings],
                                           sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers={}) as client:
            for page in ("/docs", "/redoc"):
                html = await client.get(page)
                assert html.status_code == 200, page
                urls = [next(g for g in match if g) for match in ASSET.findall(html.text)]
                assert urls, page
                for url in urls:
                    assert url.startswith("/"), (page, url)
                    assert not url.startswith("//"), (page, url)
                    asset = await client.get(url)
                    assert asset.status_code == 200, (page, url)
                    assert asset.content, (page, url)
                assert "cdn" not in html.text.lower()
                assert "googleapis" not in html.text
                assert "script-src 'self'" in html.headers["content-security-policy"]

    asyncio.run(scenario())


def test_docs_pages_render_under_their_policy_in_a_browser(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    """The CSP must not blank the pages: Chromium renders the API's title in both, with
    no request leaving the server and no policy violation."""
    async def scenario() -> None:
        async with api_server(make_settings(), sample_registry) as base_url:
            await asyncio.to_thread(_render, base_url)

    asyncio.run(scenario())


def _render(base_url: str) -> None:
    with chromium() as browser:
        for path, title in (("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")):
            foreign, violations = _render_page(browser, base_url + path, title)
            assert not foreign, (path, foreign)
            assert not violations, (path, violations)


def _render_page(browser: Browser, url: str, title: str) -> tuple[list[str], list[str]]:
    """(requests that left the server, CSP violations) while ``url`` renders ``title``."""
    page = browser.new_page()
    base_url = url.rsplit("/", 1)[0]
    foreign: list[str] = []
    violations: list[str] = []
    # ReDoc's sidebar always asks for Redocly's logo from its CDN: the policy blocks it
    # and ReDoc hides the image. Anything else that leaves is a failure.
    page.on("requestfinished", lambda request: None if request.url.startswith(
        (base_url, "data:", "blob:")) else foreign.append(request.url))
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text
            and REDOCLY_LOGO not in message.text else None)
    page.goto(url)
    page.wait_for_selector(title, timeout=20_000)
    assert "floodwatch API" in page.inner_text(title), url
    page.close()
    return foreign, violations


def test_docs_without_their_npm_packages_say_what_to_run(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry,
        tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = make_settings(dashboard_dir=tmp_path)  # an empty folder: no npm ci
        async with api_client(settings, sample_registry) as client:
            for page in ("/docs", "/redoc"):
                answer = await client.get(page)
                assert answer.status_code == 503, page
                assert answer.json()["type"].endswith("/docs-not-installed")
                assert "npm ci" in answer.json()["detail"]
            # The API itself still answers.
            assert (await client.get("/api/v1/stations")).status_code == 200

    asyncio.run(scenario())
