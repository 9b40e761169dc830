"""The rules file's ``forecast`` section and labels, the forecast reader against the
contract's model, and the CAP of a forecast warning (valid against the OASIS schema)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from lxml import etree

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.forecast_input import ForecastError, decode_forecast
from floodwatch.alerts.model import AlertType
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.core import bus
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, at, rules_with
from tests.alerts.forecasts import forecast_message, run, told
from tests.cap_support import CAP, cap_of, profile
from tests.xsd import assert_valid_cap


def test_the_shipped_defaults(rules: AlertRules) -> None:
    rule = rules.river("g1").forecast
    assert (rule.bound, rule.public, rule.hold_s, rule.trend_horizon_s) == (
        "median", False, 1800, 3600)
    assert rule.horizon_s == {3: 10800, 4: 10800}
    assert rules.cap.expires.of(AlertType.FORECAST) == timedelta(hours=3)


@pytest.mark.parametrize(("override", "error"), [
    ("{bound: upper}", r"stations\.g1: \(river\) forecast\.bound"),
    ("{horizon_s: {6: 3600}}", r"\(river\) forecast: horizon_s\.6: a reference level is 1 to 5"),
    ("{horizon_s: {4: 0}}", r"horizon_s\.4: must be more than 0"),
    ("{horizon_s: {2: 3600}}", r"stations\.g1\.forecast\.horizon_s\.2: no label for it"),
    ("{trend_horizon_s: 0}", r"forecast\.trend_horizon_s: Input should be greater than 0"),
    ("{public: maybe}", r"forecast\.public"),
    ("{confirm_forecasts: 0}", r"forecast\.confirm_forecasts"),
    ("{update_shift_s: -5}", r"forecast\.update_shift_s"),
    ("{horizons: {4: 3600}}", r"forecast\.horizons: Extra inputs"),
])
def test_every_bad_value_is_named(registry: StationRegistry, override: str,
                                  error: str) -> None:
    with pytest.raises(RulesError, match=error):
        rules_with(registry, f"stations: {{g1: {{forecast: {override}}}}}")


def test_a_level_without_words_in_the_defaults_is_named(registry: StationRegistry) -> None:
    text = RULES_FILE.read_text(encoding="utf-8").replace(
        "horizon_s: {3: 10800, 4: 10800}", "horizon_s: {3: 10800, 4: 10800, 5: 3600}")
    with pytest.raises(RulesError, match=r"defaults\.river\.forecast\.horizon_s\.5: no label"):
        AlertRules.from_yaml_text(text, registry, "test-rules.yaml")


def test_a_rules_file_from_before_forecast_warnings_still_loads(
        registry: StationRegistry) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    start = text.index("    forecast:\n      # The level")
    end = text.index("  transitions:")
    old = text[:start] + text[end:]
    old = old.replace("    updated: {ja: 更新, en: updated}\n", "").replace(
        "    # A forecast warning's expected time moved (forecast.update_shift_s).\n", "")
    ended = old.index("  # The {transition} word of a forecast warning's ordinary end")
    old = old[:ended] + old[old.index("  no_data:", ended):]
    old = old[:old.index("    # A forecast warning ({time}")]
    assert "forecast" not in old.split("labels:")[1]
    rules = AlertRules.from_yaml_text(old, registry, "old-rules.yaml")
    assert rules.labels.level(AlertType.FORECAST, 4).name == "danger"
    assert rules.labels.forecast_cleared.ja == "見込み解消"
    assert told(run(Engine(registry, rules), [(0, 2.5, 0.6)])[0]) == [("raised", 4, 150.0)]


def test_the_reader_takes_what_the_forecast_stage_builds() -> None:
    message = forecast_message("g1", at(0), 2.5, 0.6, band_m_per_h=0.1)
    topic = bus.FORECASTS.name(station="g1")
    forecast = decode_forecast(topic, bus.encode(message))
    assert (forecast.station, forecast.issued_at, forecast.level_m) == ("g1", at(0), 2.5)
    assert [p.lead_min for p in forecast.points] == list(range(10, 190, 10))
    assert forecast.points[-1].low_m == message.points[-1].low_m
    # A key the stage adds later is ignored, not refused.
    extended = bus.encode(message)[:-1] + b', "ensemble": 50}'
    assert decode_forecast(topic, extended).points == forecast.points


def _broken(**changes: object) -> bytes:
    document = forecast_message("g1", at(0), 2.5, 0.6).model_dump(mode="json")
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{", "not a forecast"),
    (_broken(method="ensemble"), "method"),
    (_broken(schema_version=2), "schema_version"),
    (_broken(points=[]), "points"),
    (_broken(level_m="NaN"), "level_m"),
    (_broken(issued_at="2026-10-12T00:00:00"), "issued_at"),
])
def test_a_forecast_we_cannot_use_is_refused_with_the_reason(payload: bytes,
                                                             reason: str) -> None:
    with pytest.raises(ForecastError, match=reason):
        decode_forecast(bus.FORECASTS.name(station="g1"), payload)


def test_points_out_of_order_a_band_above_its_median_and_a_misrouted_forecast() -> None:
    message = forecast_message("g1", at(0), 2.5, 0.6)
    points = [p.model_dump() for p in message.points]
    topic = bus.FORECASTS.name(station="g1")
    with pytest.raises(ForecastError, match="lead_min must increase"):
        decode_forecast(topic, _broken(points=points[::-1]))
    points[3]["low_m"] = points[3]["level_m"] + 0.5
    with pytest.raises(ForecastError, match="lead_min 40: low_m above level_m"):
        decode_forecast(topic, _broken(points=points))
    with pytest.raises(ForecastError, match="station 'g1' on topic"):
        decode_forecast(bus.FORECASTS.name(station="g2"), bus.encode(message))


def test_the_cap_of_a_forecast_warning(registry: StationRegistry, engine: Engine) -> None:
    events, _ = run(engine, [(0, 2.5, 0.6), (10, 2.6, 0.6), (20, 3.1, 0.6), (30, 3.5, 0.6),
                             (40, 4.05, 0.6)])
    assert told(events)[0] == ("raised", 4, 150.0)
    assert told(events)[-1] == ("cleared", 0, None)
    raised, handed = events[0], events[-1]
    document = assert_valid_cap(cap_of(raised, registry, engine.rules))
    info = document.find(f"{CAP}info")
    assert info is not None
    assert document.findtext(f"{CAP}scope") == "Restricted"
    assert document.findtext(f"{CAP}restriction") == engine.rules.cap_restriction
    assert [info.findtext(f"{CAP}{tag}") for tag in (
        "event", "responseType", "urgency", "severity", "certainty", "effective", "onset")] \
        == ["水位予測", "Prepare", "Expected", "Severe", "Possible",
            "2026-10-12T09:00:00+09:00", "2026-10-12T11:30:00+09:00"]
    assert info.findtext(f"{CAP}description") == \
        "第一: 11:30頃に氾濫危険水位に到達する見込み（約150分後、発表）"
    # The hand-over: the level observed reached, the warned level's response; no all-clear.
    document = assert_valid_cap(cap_of(handed, registry, engine.rules))
    infos = {i.findtext(f"{CAP}language"): i for i in document.iter(f"{CAP}info")}
    english = infos["en-US"]
    assert [english.findtext(f"{CAP}{tag}") for tag in (
        "responseType", "urgency", "certainty", "onset")] == [
        "Prepare", "Immediate", "Observed", "2026-10-12T09:40:00+09:00"]
    assert english.findtext(f"{CAP}description") == \
        "Gauge one: Flood danger level reached: the river level alert takes over"
    assert document.findtext(f"{CAP}msgType") == "Update"
    assert isinstance(document, etree._Element)


def test_certainty_is_possible_from_the_median_likely_from_the_lower_bound(
        registry: StationRegistry) -> None:
    """The median crossing is a coin toss (CAP Possible); the band's lower bound, the
    10 % quantile, crossing makes the level Likely. The end: Unlikely either way."""
    steps = [(0, 2.5, 0.6), (10, 2.6, 0.6), (20, 2.6, 0.0), (30, 2.6, 0.0), (40, 2.6, 0.0),
             (50, 2.6, 0.0)]
    for bound, certainty in (("median", "Possible"), ("low", "Likely")):
        rules = rules_with(registry, f"stations: {{g1: {{forecast: {{bound: {bound}}}}}}}")
        events, _ = run(Engine(registry, rules), steps)
        assert [(e.transition.value, e.detail.get("bound")) for e in events] == [
            ("raised", bound), ("confirmed", bound), ("cleared", bound)]
        assert [profile(rules).fields(e).certainty for e in events] == [
            certainty, certainty, "Unlikely"]
