"""The dashboard's page, files and two JSON documents as the API serves them (the
browser test, test_dashboard.py, drives the page itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from floodwatch.api import dashboard
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings, SettingsError, load_settings
from tests.api.support import api_client


def test_page_libraries_and_security_headers(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers={}) as client:
            page = await client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert 'src="dashboard/app/main.js"' in page.text
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "https://cyberjapandata.gsi.go.jp" in policy  # the default tiles
            assert "frame-ancestors 'none'" in policy
            for path in ("/dashboard/vendor/leaflet/leaflet-src.esm.js",
                         "/dashboard/vendor/leaflet/leaflet.css",
                         "/dashboard/vendor/uplot/uPlot.esm.js",
                         "/dashboard/app/main.js"):
                served = await client.get(path)
                assert served.status_code == 200, path
                assert served.content, path
                assert served.headers["cache-control"] == "no-cache", path
            # Only the folders the page needs: not the npm metadata, not by traversal.
            for path in ("/dashboard/package.json", "/dashboard/node_modules/leaflet/package.json",
                         "/dashboard/vendor/leaflet/../package.json",
                         "/dashboard/app/%2e%2e/package.json"):
                assert (await client.get(path)).status_code == 404, path
            schema = (await client.get("/openapi.json")).json()
            assert not {"/", "/dashboard/config.json", "/dashboard/stations.json"} & set(
                schema["paths"])

    asyncio.run(scenario())


def test_config_needs_no_key_but_the_registry_does(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    async def scenario() -> None:
        settings = make_settings(dashboard_tiles_url="", api_heartbeat_s=7)
        async with api_client(settings, sample_registry, headers={}) as anonymous:
            config = (await anonymous.get("/dashboard/config.json")).json()
            assert config["tiles_url"] == ""
            assert config["heartbeat_s"] == 7
            assert config["public_read"] is False
            assert "cyberjapandata" not in (await anonymous.get("/")).headers[
                "content-security-policy"]
            refused = await anonymous.get("/dashboard/stations.json")
            assert refused.status_code == 401
            assert refused.json()["type"].endswith("/unauthorized")
        async with api_client(settings, sample_registry) as viewer:
            stations = (await viewer.get("/dashboard/stations.json")).json()["stations"]
        assert [s["id"] for s in stations] == [s.id for s in sample_registry]
        sukagawa = next(s for s in stations if s["id"] == "sukagawa")
        assert sukagawa["location"] == {"lat": 37.2867, "lon": 140.38}
        assert sukagawa["levels_m"]["danger"] == 5.2
        assert sukagawa["name"] == {"ja": "須賀川", "en": "Sukagawa"}

    asyncio.run(scenario())


def test_public_read_opens_the_registry(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    async def scenario() -> None:
        settings = make_settings(api_public_read=True)
        async with api_client(settings, sample_registry, headers={}) as anonymous:
            assert (await anonymous.get("/dashboard/config.json")).json()["public_read"]
            answer = await anonymous.get("/dashboard/stations.json")
            assert answer.status_code == 200
            assert len(answer.json()["stations"]) == len(sample_registry)

    asyncio.run(scenario())


def test_missing_files_explained_and_api_still_serves(
    tmp_path: Path, make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")

    async def scenario() -> None:
        settings = make_settings(dashboard_dir=tmp_path)
        async with api_client(settings, sample_registry) as client:
            page = await client.get("/")
            assert page.status_code == 503
            problem = page.json()
            assert problem["type"].endswith("/dashboard-not-installed")
            assert "node_modules/leaflet/dist" in problem["detail"]
            assert "npm ci" in problem["detail"]
            assert (await client.get("/api/v1/alerts/open")).status_code == 200

    asyncio.run(scenario())


@pytest.mark.parametrize("url", ["ftp://tiles.example/{z}/{x}/{y}.png",
                                 "javascript:alert(1)", "https://a.example/{z} /x"])
def test_bad_tiles_url_named_in_one_line(url: str) -> None:
    with pytest.raises(SettingsError, match=r"^FLOODWATCH_DASHBOARD_TILES_URL: "):
        load_settings({"FLOODWATCH_DASHBOARD_TILES_URL": url})


def test_dashboard_found_in_an_image_workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings],
) -> None:
    # pip install . (not editable) leaves no checkout beside the code: ./dashboard is used.
    monkeypatch.setattr(dashboard, "REPOSITORY_DASHBOARD", tmp_path / "site-packages-dash")
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "index.html").write_text("<!doctype html>")
    monkeypatch.chdir(tmp_path)
    assert dashboard.dashboard_dir(make_settings()) == tmp_path / "dashboard"
    assert dashboard.dashboard_dir(make_settings(dashboard_dir="/srv/d")) == Path("/srv/d")
