"""Forecast warnings (alerts.forecast) while their gauge is offline: the warning is held,
forecasts meanwhile are ignored, and renewals say the expected time again."""

from __future__ import annotations

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType, Transition
from floodwatch.alerts.render import event_message
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import at, river
from tests.alerts.forecasts import forecast, quiet_others, run, told
from tests.cap_support import cap_of


def test_a_warning_is_held_while_its_gauge_is_offline(engine: Engine) -> None:
    events, _ = run(engine, [(0, 2.5, 0.6), (10, 2.6, 0.6),
                             (20, 2.6, 0.0)])  # no longer crosses: the hold starts at 20
    assert told(events) == [("raised", 4, 150.0), ("confirmed", 4, 140.0)]
    quiet_others(engine, 0, 110)
    assert AlertType.OFFLINE in engine.states["g1"].alerts
    # A retained forecast of g1's last reading arrives meanwhile: not a calm forecast.
    replayed = engine.on_forecast(forecast("g1", 20, 2.6, 0.0))
    assert replayed.ignored == "duplicate"
    # Back at 120 with a forecast that no longer crosses: the stretch it was silent
    # is not counted as calm; the hold starts again.
    back, _ = run(engine, [(120, 2.6, 0.0), (130, 2.6, 0.0), (140, 2.6, 0.0),
                           (150, 2.6, 0.0)])
    assert told(back) == [("cleared", 0, None)]
    assert back[0].at == at(150)


def test_a_forecast_while_the_gauge_is_offline_is_ignored(engine: Engine) -> None:
    engine.on_reading(river("g1", 0, 2.5))
    quiet_others(engine, 0, 50)
    assert AlertType.OFFLINE in engine.states["g1"].alerts
    late = engine.on_forecast(forecast("g1", 0, 2.5, 1.2))
    assert (late.ignored, late.events) == ("offline", [])


def test_renewals_say_the_expected_time_again(engine: Engine) -> None:
    run(engine, [(0, 2.5, 0.6), (10, 2.6, 0.6)])
    # 3 h messages, renewed half-way; g1 is offline by then: held, said again.
    renewed = [e for e in quiet_others(engine, 10, 200)
               if e.alert_type is AlertType.FORECAST]
    assert [(e.transition, e.level, e.at) for e in renewed] == [
        (Transition.RENEWED, 4, at(100)), (Transition.RENEWED, 4, at(190))]
    assert renewed[0].detail["expected_at"] == format_ts(at(150))
    assert renewed[0].detail["data_missing"] == "offline"
    assert not any(e.public for e in renewed)

def test_a_renewal_counts_the_minutes_from_its_own_time(engine: Engine,
                                                        registry: StationRegistry) -> None:
    """A renewal repeats an older forecast's detail: "in N min" is from the renewal's
    time, and once the expected time has passed it says by when, by which forecast."""
    run(engine, [(0, 2.5, 0.6), (10, 2.6, 0.6)])  # danger expected 11:30 JST
    renewed = [e for e in quiet_others(engine, 10, 200)
               if e.alert_type is AlertType.FORECAST]
    assert [e.at for e in renewed] == [at(100), at(190)]
    assert [e.detail["minutes"] for e in renewed] == [50.0, None]
    assert [e.detail["issued_at"] for e in renewed] == [format_ts(at(10))] * 2
    station = registry.get("g1")
    assert station is not None
    before, after = (event_message(e, station, engine.rules.labels).headline
                     for e in renewed)
    assert before.en == ("Gauge one: expected to reach Flood danger level at 11:30 "
                         "(in 50 min, still in force)")
    assert before.ja == "第一: 11:30頃に氾濫危険水位に到達する見込み（約50分後、継続）"
    assert after.en == ("Gauge one: expected to reach Flood danger level by 11:30 "
                        "(forecast of 09:10, still in force)")
    assert after.ja == "第一: 09:10時点の予測では11:30頃までに氾濫危険水位に到達する見込み（継続）"
    # The CAP description is the same sentence.
    cap = cap_of(renewed[0], registry, engine.rules).decode()
    assert "(in 50 min, still in force)" in cap
    assert "in 140 min" not in cap
