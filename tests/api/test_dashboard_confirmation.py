"""The confirmation an officer gives in the dashboard before acknowledging a level-5
alert or declaring flooding (and its end), in Debian's Chromium against the real stack
in a storm (tests.api.storm_dashboard)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Request, expect

from tests.api.dashboard_stack import chromium
from tests.api.storm_dashboard import WORST, block_tiles
from tests.api.support import OFFICER_KEY
from tests.api.test_dashboard import Stack, open_dashboard

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


def officer_id(key: str) -> str:
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def test_level5_acknowledgement_and_flooding_need_confirmation(storm_stack: Stack) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        block_tiles(page)
        commands: list[str] = []

        def record(request: Request) -> None:
            if request.method == "POST":
                commands.append(request.url)

        page.on("request", record)
        open_dashboard(page, storm_stack.api.url)
        alert = page.locator(f'li.alert[data-alert-id^="{WORST}/"]').first
        expect(alert).to_have_attribute("data-alert-level", "5")
        dialog = page.locator("#confirm-dialog")

        # Cancel: nothing is sent, the alert stays unacknowledged.
        alert.locator("button.ack").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("須賀川")
        expect(dialog).to_contain_text("警戒レベル5相当")
        expect(page.locator("#confirm-cancel")).to_be_focused()
        page.click("#confirm-cancel")
        expect(dialog).to_be_hidden()
        time.sleep(1.0)
        assert commands == []
        expect(alert).to_have_attribute("data-acknowledged", "false")

        # Confirm: acknowledged by the engine, and the alert says who and when.
        alert.locator("button.ack").click()
        page.click("#confirm-ok")
        expect(alert).to_have_attribute("data-acknowledged", "true")
        assert [url.rsplit("/", 1)[-1] for url in commands] == ["acknowledge"]
        mark = alert.locator(".alert-acked")
        expect(mark).to_have_attribute("data-officer", officer_id(OFFICER_KEY))
        expect(mark.locator(".alert-acked-by")).to_contain_text("あなた")
        assert (mark.get_attribute("data-at") or "").startswith(str(datetime.now(UTC).year))

        # After a reload the live event is gone: who and when come from the alert's history.
        page.reload()
        expect(page.locator("body[data-ready=true]")).to_be_attached()
        expect(alert.locator(".alert-acked")).to_have_attribute(
            "data-officer", officer_id(OFFICER_KEY), timeout=30_000)

        # Below 警戒レベル4 an acknowledgement goes at once.
        caution = page.locator('li.alert[data-alert-id^="akutsu/"]').first
        expect(caution).to_have_attribute("data-alert-level", "2")
        caution.locator("button.ack").click()
        expect(caution).to_have_attribute("data-acknowledged", "true")
        expect(dialog).to_be_hidden()

        # Declaring flooding at fushiguro: cancelled first, then confirmed, then ended.
        commands.clear()
        page.click('#stations [data-station="fushiguro"]')
        actions = page.locator("#station-actions")
        expect(actions).to_have_attribute("data-declared", "false")
        actions.locator("button").click()
        expect(dialog).to_contain_text("伏黒")
        page.click("#confirm-cancel")
        time.sleep(1.0)
        assert commands == []
        actions.locator("button").click()
        page.click("#confirm-ok")
        expect(actions).to_have_attribute("data-declared", "true")
        expect(actions.locator("button")).to_have_text("氾濫発生の宣言を終了")
        expect(page.locator('li.alert[data-alert-id^="fushiguro/"]').first
               ).to_have_attribute("data-alert-level", "5")
        actions.locator("button").click()
        expect(dialog).to_contain_text("終了")
        page.click("#confirm-ok")
        expect(actions).to_have_attribute("data-declared", "false")
        assert [url.rsplit("/", 1)[-1] for url in commands] == ["flooding", "flooding"]
