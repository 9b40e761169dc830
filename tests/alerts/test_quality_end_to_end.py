"""Data quality through the real alert engine process, a real Mosquitto and InfluxDB:
glitches on rising and falling limbs at three gauges, and gauges that drop out to 0.00 m
or to a constant at danger level. Each gauge has a twin fed the same river without the
bad values, so "changed nothing" is measured, not assumed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floodwatch.core.readings import format_ts
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import RULES_FILE, at, river
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.support import Collected, InfluxQuery, collect, wait_for

pytestmark = pytest.mark.slow

Levels = tuple[float, float, float, float]
LEVEL_TYPES = ("river_level", "rate_of_rise")


def registry_yaml(gauges: dict[str, Levels]) -> str:
    """10-minute river gauges, and a sentinel whose one reading, sent last, marks the end
    (reading once a day, so it is never offline meanwhile)."""
    lines = ["stations:"]
    for index, (gauge, (standby, caution, evacuation, danger)) in enumerate(
            [*gauges.items(), ("sentinel", (1.0, 2.0, 3.0, 4.0))]):
        interval = 86400 if gauge == "sentinel" else 600
        lines.append(
            f"  - {{id: {gauge}, kind: river, name: {{ja: {gauge}, en: {gauge}}}, "
            f"river: abukuma, basin: abukuma, location: {{lat: 37.{index}, lon: 140.4}}, "
            f"interval_s: {interval}, levels_m: {{standby: {standby}, caution: {caution}, "
            f"evacuation: {evacuation}, danger: {danger}}}}}")
    return "\n".join(lines) + "\n"


def hydrograph(base: float, rise: float, rising: int, fall: float, falling: int) -> list[float]:
    peak = base + rise * rising
    return [round(base + rise * i, 2) for i in range(rising + 1)] + [
        round(peak - fall * i, 2) for i in range(1, falling + 1)]


@pytest.fixture
def run_engine(tmp_path: Path, mosquitto: MosquittoServer,
               influx: InfluxQuery) -> Iterator[Callable[[str, dict[str, list[float]]],
                                                          Collected]]:
    started: list[AlertsProcess] = []

    def run(registry: str, series: dict[str, list[float]]) -> Collected:
        """Every gauge's levels every 10 minutes, all through one engine; returns the
        events and statuses it published, once the sentinel's raise says it is done."""
        path = tmp_path / "stations.yaml"
        path.write_text(registry, encoding="utf-8")
        engine = AlertsProcess({
            "FLOODWATCH_MQTT_URL": mosquitto.url, "FLOODWATCH_INFLUX_URL": influx.url,
            "FLOODWATCH_INFLUX_DB": influx.database, "FLOODWATCH_STATIONS": str(path),
            "FLOODWATCH_ALERTS_RULES": str(RULES_FILE),
            "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
            "FLOODWATCH_ALERTS_CLIENT_ID": f"alerts-{uuid.uuid4().hex[:8]}",
            "FLOODWATCH_ALERTS_TICK_S": "0", "FLOODWATCH_LOG_LEVEL": "info",
        }, tmp_path / "alerts.log").start()
        started.append(engine)
        length = max(len(levels) for levels in series.values())
        readings = [river(gauge, 10 * i, levels[i]) for i in range(length)
                    for gauge, levels in series.items() if i < len(levels)]
        readings.append(river("sentinel", 10 * length, 1.5))
        with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/status/#") as got:
            publish_all(mosquitto.port, bus(readings))
            wait_for(lambda: any(p["station"] == "sentinel"
                                 for p in got.payloads("floodwatch/alerts/")), 60,
                     "the engine to reach the last reading")
            # History lines are written after the events are published: once InfluxDB
            # holds them all, every event (and flag) has been collected and stored.
            wait_for(lambda: influx.count("alert_event", "seq")
                     == got.count("floodwatch/alerts/"), 30, "the alert history")
        return got

    yield run
    for engine in started:
        assert engine.stop() == 0


def events_of(got: Collected, gauge: str, *types: str) -> list[dict[str, Any]]:
    """The gauge's events of ``types``, renewals left out (alerts.renewal: the same
    level said again before its CAP message expires, test_renewal.py's subject)."""
    return [p for p in got.payloads("floodwatch/alerts/")
            if p["station"] == gauge and p["alert_type"] in types
            and p["transition"] != "renewed"]


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["alert_type"], e["transition"], e["level"]) for e in events]


def stored_flags(influx: InfluxQuery, gauge: str) -> list[tuple[int, float, str]]:
    rows = influx.rows(f'SELECT "value", "reason" FROM "reading_flag" '
                       f"WHERE \"station\" = '{gauge}'")
    return [(row["time"], row["value"], row["reason"]) for row in rows]


def ns(minutes: int) -> int:
    return int(at(minutes).timestamp()) * 1_000_000_000


# Three gauges, each with its own reference levels and hydrograph; a +1.5 m glitch on
# the rising limb and one on the falling limb (the last one the replay's: 0.97 m).
GAUGES: dict[str, tuple[Levels, list[float], int, int]] = {
    "kawa": ((1.0, 2.0, 3.0, 4.0), hydrograph(0.77, 0.15, 16, 0.1, 26), 8, 38),
    "yama": ((2.0, 3.0, 4.0, 5.0), hydrograph(1.5, 0.2, 14, 0.08, 30), 12, 30),
    "numa": ((0.8, 1.5, 2.5, 3.5), hydrograph(0.5, 0.1, 20, 0.05, 30), 9, 35),
}


def test_one_glitch_per_limb_at_three_gauges(
        run_engine: Callable[[str, dict[str, list[float]]], Collected],
        influx: InfluxQuery) -> None:
    series: dict[str, list[float]] = {}
    glitched: dict[str, dict[int, float]] = {}
    for gauge, (_, levels, rising_at, falling_at) in GAUGES.items():
        glitched[gauge] = {i: round(levels[i] + 1.5, 2) for i in (rising_at, falling_at)}
        series[gauge] = [glitched[gauge].get(i, level) for i, level in enumerate(levels)]
        series[f"{gauge}-twin"] = levels
    assert series["kawa"][38] == 2.47  # the replay's glitch, 0.97 m + 1.5 m
    registry = registry_yaml({name: GAUGES[name.removesuffix("-twin")][0] for name in series})
    got = run_engine(registry, series)

    for gauge, glitches in glitched.items():
        times = {format_ts(at(10 * i)) for i in glitches}
        alerts = events_of(got, gauge, *LEVEL_TYPES)
        assert alerts, gauge  # each river does rise through its levels
        assert not [e for e in alerts if e["cause"]["reading_ts"] in times], gauge
        twin = events_of(got, f"{gauge}-twin", *LEVEL_TYPES)
        # The same raises and escalations at the same moments as the clean river; the
        # way down only later, if at all (the hold stood still over each glitch).
        assert [(*b, e["at"]) for b, e in zip(brief(alerts), alerts, strict=True)
                if b[1] in ("raised", "escalated")] == [
            (*b, e["at"]) for b, e in zip(brief(twin), twin, strict=True)
            if b[1] in ("raised", "escalated")], gauge
        assert brief(alerts) == brief(twin), gauge
        quality = events_of(got, gauge, "data_quality")
        assert brief(quality) == [("data_quality", "raised", 1), ("data_quality", "cleared", 0)
                                  ] * 2, gauge
        assert [(q["at"], q["rule"], q["detail"]["value"]) for q in quality[::2]] == [
            (format_ts(at(10 * i)), "data_quality.max_step", value)
            for i, value in sorted(glitches.items())], gauge
        assert stored_flags(influx, gauge) == [
            (ns(10 * i), value, "max_step") for i, value in sorted(glitches.items())], gauge
        assert not events_of(got, f"{gauge}-twin", "data_quality")
        assert stored_flags(influx, f"{gauge}-twin") == []


@pytest.mark.parametrize("stuck", [0.0, 2.5], ids=["zero", "constant"])
def test_a_dropout_at_danger_level_for_an_hour(
        run_engine: Callable[[str, dict[str, list[float]]], Collected],
        influx: InfluxQuery, stuck: float) -> None:
    before = [4.2, 4.22, 4.21, 4.23, 4.22, 4.2, 4.21, 4.23]  # over danger (4.0)
    after = [4.25, 4.24, 4.26, 4.25, 4.27, 4.26]
    levels = before + [stuck] * 7 + after  # 0:80 to 2:20: an hour on one value
    got = run_engine(registry_yaml({"seki": (1.0, 2.0, 3.0, 4.0)}), {"seki": levels})

    river_events = events_of(got, "seki", "river_level")
    # Confirmed by the second reading; then no clear, no lowering.
    assert brief(river_events) == [("river_level", "raised", 4), ("river_level", "confirmed", 4)]
    assert not events_of(got, "seki", "rate_of_rise")  # no rise on the recovery either
    quality = events_of(got, "seki", "data_quality")
    assert [(*b, q["at"]) for b, q in zip(brief(quality), quality, strict=True)] == [
        ("data_quality", "raised", 1, format_ts(at(80))),
        ("data_quality", "cleared", 0, format_ts(at(170)))]  # 3 good readings after 2:20
    statuses = [p for p in got.payloads("floodwatch/status/") if p["station"] == "seki"]
    assert [(a["alert_type"], a["level"]) for a in statuses[-1]["alerts"]] == [
        ("river_level", 4)]
    assert stored_flags(influx, "seki") == [(ns(80), stuck, "max_step")] + [
        (ns(minute), stuck, "dropout") for minute in range(90, 150, 10)]
