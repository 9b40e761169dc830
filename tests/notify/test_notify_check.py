"""A delivery configuration that cannot be half-right: notify --check (and the start)
refuse a basin or river without names, an alert type without all-clear advice, an act
level without advice, a template placeholder that does not exist, and social channels
without the public page their summaries link to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from floodwatch.core.advice import Advice, AdviceError
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.config import ConfigError, NotifyConfig, name_problems
from floodwatch.notify.templates import Templates
from tests.cap_support import ADVICE_FILE, SHIPPED_ADVICE
from tests.notify.conftest import write_config
from tests.notify.notices import PUBLIC_PAGE, sample_registry, shipped_config
from tests.support import REPO_ROOT

SOCIAL = f"x: {{enabled: true}}\npublic_page_url: {PUBLIC_PAGE}\n"
NAMED = "basins: {abukuma: {ja: 阿武隈川, en: Abukuma River}}\n"


def problem(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        NotifyConfig.from_yaml_text(text, "notify.yaml", advice=SHIPPED_ADVICE)
    return str(caught.value)


def test_the_shipped_templates_are_the_defaults() -> None:
    assert shipped_config().templates == Templates(advice=SHIPPED_ADVICE)


def test_social_channels_need_the_public_page() -> None:
    assert problem("mastodon: {enabled: true}\n") == (
        "notify.yaml: public_page_url is required when x or mastodon is enabled (the page "
        "summarising posts link to)")
    assert NotifyConfig.from_yaml_text(SOCIAL, advice=SHIPPED_ADVICE).public_page_url == PUBLIC_PAGE


def test_an_act_level_without_advice_is_refused() -> None:
    text = """
policy: {act_levels: {river_level: 2}}
"""
    assert problem(text) == ("notify.yaml: the advice file (FLOODWATCH_ADVICE): "
                             "alerts.river_level.advice: no advice for act level 2 "
                             "(policy.act_levels)")


def test_an_alert_type_without_all_clear_advice_is_refused() -> None:
    without_icing = Advice(alerts={name: given for name, given in SHIPPED_ADVICE.alerts.items()
                                   if name != "road_icing"})
    with pytest.raises(ConfigError, match=r"alerts\.road_icing: missing \(no all_clear"):
        NotifyConfig.from_yaml_text("", "notify.yaml", advice=without_icing)
    empty = ADVICE_FILE.read_text(encoding="utf-8").replace(
        'en: "Keep driving safely."', 'en: ""')
    with pytest.raises(AdviceError, match=r"advice.yaml: alerts\.road_icing\.all_clear\.en"):
        Advice.from_yaml_text(empty, "advice.yaml")


def test_advice_left_in_the_notify_file_is_refused_with_where_it_went() -> None:
    text = "templates: {alerts: {river_level: {advice: {3: {ja: 逃げて, en: Go}}}}}\n"
    assert problem(text) == (
        "notify.yaml: templates.alerts.river_level.advice: advice is no longer here but in "
        "the advice file (FLOODWATCH_ADVICE, config/advice.yaml)")


def test_an_alert_type_without_wording_is_refused() -> None:
    text = "policy: {act_levels: {rate_of_rise: 1}}\n"
    assert problem(text) == ("notify.yaml: templates.alerts has no wording for rate_of_rise "
                             "(policy.act_levels posts it)")


def test_an_unknown_placeholder_is_refused() -> None:
    text = 'templates: {more: {ja: "ほか{count}地点", en: "{counted} more"}}\n'
    assert problem(text) == ("notify.yaml: templates: more.en: unknown placeholder {counted} "
                             "(allowed: count)")


def test_names_residents_read_are_checked_against_the_registry() -> None:
    social = NotifyConfig.from_yaml_text(SOCIAL + NAMED, advice=SHIPPED_ADVICE)
    assert name_problems(social, sample_registry()) == []
    unnamed = NotifyConfig.from_yaml_text(SOCIAL, advice=SHIPPED_ADVICE)
    assert name_problems(unnamed, sample_registry())[0].startswith(
        "basins: no names for basin 'abukuma' (station ")
    rivers = StationRegistry(list(sample_registry()),
                             municipalities=sample_registry().municipalities)
    assert "station akutsu: river 'abukuma' has no names in the registry's rivers " \
        "(FLOODWATCH_STATIONS)" in name_problems(social, rivers)
    # Without X or Mastodon no resident reads them.
    assert name_problems(NotifyConfig.from_yaml_text("", advice=SHIPPED_ADVICE), rivers) == []


def test_notify_check_fails_on_a_basin_without_names(
        tmp_path: Path, settings_env: Callable[..., dict[str, str]]) -> None:
    path = write_config(tmp_path, SOCIAL)
    result = subprocess.run([sys.executable, "-m", "floodwatch", "notify", "--check"],
                            env={**os.environ, **settings_env(notify_config=path)},
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"floodwatch: FLOODWATCH_NOTIFY_CONFIG: {path}: basins: no names for basin "
        "'abukuma' (station akutsu): add abukuma: {ja: ..., en: ...}"]


def test_notify_check_refuses_posting_forecast_warnings(
        tmp_path: Path, settings_env: Callable[..., dict[str, str]]) -> None:
    """No residents' wording for a forecast exists yet: an act level for forecast
    warnings is refused, with what to do instead."""
    path = write_config(tmp_path, NAMED + "policy: {act_levels: {river_level: 3, forecast: 4}}\n")
    result = subprocess.run([sys.executable, "-m", "floodwatch", "notify", "--check"],
                            env={**os.environ, **settings_env(notify_config=path)},
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"floodwatch: FLOODWATCH_NOTIFY_CONFIG: {path}: policy.act_levels.forecast: "
        "forecast warnings are not posted to residents (social media, social webhooks): "
        "there is no residents' wording for a forecast yet. Remove it; the alert rules' "
        "forecast.public: true makes them Public CAP (the disaster network, public EDXL "
        "webhooks)"]
