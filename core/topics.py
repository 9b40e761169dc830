"""The bus contract's topics: every MQTT topic family floodwatch uses, who publishes
and who reads it (core.bus re-exports them beside the message models; the broker ACL
and the README's bus table are generated from ``TOPICS``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from floodwatch.core.registry import StationKind

Stage = Literal["devices", "ingest", "forecast", "alerts", "notify", "api", "operators",
                "network"]


@dataclass(frozen=True)
class Topic:
    """One topic family: how a topic is named, how consumers subscribe, who uses it."""

    template: str  # "floodwatch/alerts/{station}"
    filters: tuple[str, ...]  # what consumers subscribe to
    payload: str  # the model (or format) of its messages, for the README
    producers: tuple[Stage, ...]
    consumers: tuple[Stage, ...]
    meaning: str
    retained: bool = False

    def name(self, **parts: str) -> str:
        return self.template.format(**parts)

    @property
    def prefix(self) -> str:
        """The fixed start every topic of this family has."""
        return self.template.split("{", 1)[0]


def _kinds(template: str) -> tuple[str, ...]:
    return tuple(template.format(kind=kind.value, station="+") for kind in StationKind)


DEVICE = Topic(
    "sensors/{kind}/{station}", _kinds("sensors/{kind}/{station}"),
    "device JSON or SenML (see Device contract)", ("devices",), ("ingest",),
    "one station's readings, from its own device")
READINGS = Topic(
    "floodwatch/readings/{kind}/{station}", ("floodwatch/readings/#",), "ReadingMessage",
    ("ingest",), ("forecast", "alerts", "api"), "each validated reading, times in UTC (`...Z`)")
# Retained: a dashboard or an alert engine that starts mid-storm has every gauge's newest
# forecast at once, not only after the gauge's next reading (up to an interval later).
FORECASTS = Topic(
    "floodwatch/forecasts/{station}", ("floodwatch/forecasts/+",), "ForecastMessage",
    ("forecast",), ("alerts", "api"), "each river gauge's newest level forecast, +10 min "
    "to +3 h with its band, its method and inputs (docs/forecast.md)", retained=True)
DEADLETTER = Topic(
    "floodwatch/deadletter", ("floodwatch/deadletter",), "DeadLetter",
    ("ingest", "forecast", "alerts"),
    ("operators",), "each message a stage could not use, with the reason")
ALERTS = Topic(
    "floodwatch/alerts/{station}", ("floodwatch/alerts/+",), "AlertEventMessage",
    ("alerts",), ("notify", "api"), "each alert event (docs/alerts.md)")
CAP = Topic(
    "floodwatch/cap/{station}", ("floodwatch/cap/+",), "CAP 1.2 XML", ("alerts",),
    ("notify",), "the same event as CAP 1.2 (docs/cap.md), `identifier` "
    "`floodwatch:{deployment_id}:{instance}:{event_id}`")
# For partner systems subscribed on the bus broker (an L-Alert relay). notify does not
# read it: its EDXL-DE options wrap the CAP it holds itself (notify.envelope).
EDXL = Topic(
    "floodwatch/edxl/{station}", ("floodwatch/edxl/+",), "EDXL-DE 1.0 XML", ("alerts",),
    ("network",), "the same CAP in an EDXL-DE 1.0 envelope, `distributionID` "
    "`{identifier}:edxl`, Public CAP only (docs/edxl.md)")
STATUS = Topic(
    "floodwatch/status/{station}", ("floodwatch/status/+",), "StatusMessage", ("alerts",),
    ("notify", "api"), "the station's current alert state", retained=True)
# The open ones are also in each silent station's status (StatusMessage.no_data), which
# is how notify, the API and the dashboard see them.
NO_DATA = Topic(
    "floodwatch/no-data", ("floodwatch/no-data",), "NoDataMessage", ("alerts",),
    ("operators",), "for officers: most stations of a basin or of all fell silent at "
    "once, and when data flows again (docs/alerts.md)")
COMMANDS = Topic(
    "floodwatch/commands/{verb}/{station}", ("floodwatch/commands/#",),
    "AcknowledgeCommand (verb `acknowledge`), FloodingCommand (verb `flooding`)", ("api",),
    ("alerts",), "officers' commands; answered by an alert event with `cause.command_id`")
COMMAND_REJECTIONS = Topic(
    "floodwatch/command-rejections", ("floodwatch/command-rejections",), "CommandRejection",
    ("alerts",), ("operators",), "a command the engine refused, with the reason")
# The disaster network's topics are notify's settings (config/notify.yaml); these are
# their defaults, and the ACL grants notify the family on the bus broker.
NETWORK = Topic(
    "bousai/floodwatch/{part}/{station}", ("bousai/floodwatch/#",),
    "`cap`: CAP 1.2 XML, `alerts`: AlertEventMessage, `status`: StatusMessage (retained); "
    "`edxl`: EDXL-DE 1.0 XML when configured",
    ("notify",), ("network",), "what the disaster network receives (docs/notify.md)")

TOPICS: tuple[Topic, ...] = (DEVICE, READINGS, FORECASTS, DEADLETTER, ALERTS, CAP, EDXL,
                             STATUS, NO_DATA, COMMANDS, COMMAND_REJECTIONS, NETWORK)


def shared(topic_filter: str, group: str) -> str:
    """An MQTT 5 shared subscription: the group's subscribers split the messages."""
    return f"$share/{group}/{topic_filter}"


def commands_for(station: str) -> str:
    """The filter of every command to one station (a partitioned alert engine)."""
    return COMMANDS.name(verb="+", station=station)
