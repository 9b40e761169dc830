"""Alert events as notify reads them, made to order for the post-text tests: rendered by
the engine's own bus rendering (alerts.render) with the shipped rules' labels, so the
JSON is what the engine publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from floodwatch.alerts.labels import Labels
from floodwatch.alerts.model import AlertType, Cause, Event, EventRef, Transition
from floodwatch.alerts.render import event_message
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus
from floodwatch.core.registry import (
    Location,
    Names,
    ReferenceLevels,
    Station,
    StationKind,
    StationRegistry,
)
from floodwatch.notify.compose import Composer, Fits, fits_mastodon, fits_x
from floodwatch.notify.config import NotifyConfig
from floodwatch.notify.notice import Notice
from tests.alerts.conftest import RULES_FILE
from tests.cap_support import SHIPPED_ADVICE
from tests.conftest import SAMPLE_REGISTRY
from tests.notify.support import NOTIFY_CONFIG

# 2026-12-07 08:00 JST
MORNING = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
PUBLIC_PAGE = "https://bousai.example.jp/floodwatch/public/stations"
SUKAGAWA_CITY = "072079"


@cache
def labels() -> Labels:
    return AlertRules.load(RULES_FILE, sample_registry()).labels


@cache
def sample_registry() -> StationRegistry:
    return StationRegistry.load(SAMPLE_REGISTRY)


@cache
def shipped_config() -> NotifyConfig:
    return NotifyConfig.load(NOTIFY_CONFIG, advice=SHIPPED_ADVICE)


def composer(registry: StationRegistry, platform: str = "x",
             config: NotifyConfig | None = None) -> Composer:
    config = config or shipped_config()
    fits: Fits = fits_x if platform == "x" else fits_mastodon
    social = config.x if platform == "x" else config.mastodon
    return Composer(config.templates, social, registry, config.basins, fits, PUBLIC_PAGE)


def notice(registry: StationRegistry, station: str, alert_type: str, *, transition: str,
           level: int, previous: int, minutes: int = 0, seq: int = 1,
           detail: dict[str, float | str | None] | None = None) -> Notice:
    """A confirmed event of ``station``, ``minutes`` after 08:00 JST on 7 December."""
    found = registry.get(station)
    assert found is not None
    at = MORNING + timedelta(minutes=minutes)
    event = Event(station=station, seq=seq, alert_id=f"{station}/1",
                  alert_type=AlertType(alert_type), transition=Transition(transition),
                  level=level, previous_level=previous, at=at, raised_at=at,
                  cause=Cause(kind="reading", reading_ts=at), rule=alert_type,
                  confirmed=True,
                  first_confirmed=EventRef(event_id=f"{station}/1", at=at),
                  detail=detail or {})
    return Notice.from_json(bus.encode(event_message(event, found, labels())))


def river_notice(registry: StationRegistry, station: str, level: int, metres: float, *,
                 rising: bool = True, minutes: int = 0) -> Notice:
    return notice(registry, station, "river_level", transition="confirmed", level=level,
                  previous=level,
                  minutes=minutes, detail={"level_m": metres, "threshold_m": metres - 0.1,
                                           "rate_m_per_h": 0.3 if rising else -0.2})


def gauge(index: int, name: Names, short: Names | None = None,
          municipality: str = SUKAGAWA_CITY) -> Station:
    return Station(id=f"r-{index:03d}", kind=StationKind.RIVER, name=name, short_name=short,
                   municipality=municipality, basin="abukuma", river="abukuma",
                   location=Location(lat=37.3, lon=140.4), interval_s=600,
                   levels_m=ReferenceLevels(standby=1, caution=2, evacuation=3, danger=4))


def registry_of(stations: list[Station]) -> StationRegistry:
    sample = sample_registry()
    return StationRegistry(stations, municipalities=sample.municipalities,
                           rivers=sample.rivers)


